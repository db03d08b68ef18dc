#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace sinkstream::app {

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(STDERR_FILENO) != 0) {
  start_ = last_ = std::chrono::steady_clock::now();
}

void Progress::update(uint64_t done) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  const int width = 30, fill = static_cast<int>(frac * width);
  std::fprintf(stderr, "\r%s [%.*s%*s] %3.0f%% %llu/%llu %.0f/s ", label_.c_str(), fill,
               "##############################", width - fill, "", frac * 100.0, static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total_), rate);
}

void Progress::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace sinkstream::app
