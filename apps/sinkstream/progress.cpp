#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace sinkstream::app {
namespace {
constexpr double kFirstLineS = 10, kLineEveryS = 30;  // off a terminal

std::string duration(double s) {
  char b[32];
  if (s < 90)
    std::snprintf(b, sizeof b, "%.0f s", s);
  else if (s < 5400)
    std::snprintf(b, sizeof b, "%.0f min", s / 60);
  else
    std::snprintf(b, sizeof b, "%.1f h", s / 3600);
  return b;
}
}  // namespace

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(STDERR_FILENO) != 0) {
  start_ = last_ = std::chrono::steady_clock::now();
}

std::string Progress::status(uint64_t done, double secs) const {
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  char b[160];
  if (total_)
    std::snprintf(b, sizeof b, "%3.0f%% %llu/%llu %.1f/s", 100.0 * static_cast<double>(done) / static_cast<double>(total_),
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), rate);
  else
    std::snprintf(b, sizeof b, "%llu %.1f/s", static_cast<unsigned long long>(done), rate);
  std::string s = b;
  if (total_ && rate > 0 && done < total_) s += ", about " + duration(static_cast<double>(total_ - done) / rate) + " left";
  return s;
}

void Progress::update(uint64_t done) {
  const auto now = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (!tty_) {
    if (secs < kFirstLineS || (drew_ && since_last < kLineEveryS) || (total_ && done >= total_)) return;
    last_ = now;
    drew_ = true;
    std::fprintf(stderr, "%s: %s\n", label_.c_str(), status(done, secs).c_str());
    return;
  }
  if ((!total_ || done < total_) && since_last < 0.1) return;
  last_ = now;
  drew_ = true;
  const double frac = total_ ? static_cast<double>(done) / static_cast<double>(total_) : 0.0;
  const int width = 30, fill = static_cast<int>(frac * width);
  std::fprintf(stderr, "\r%s [%.*s%*s] %s\033[K", label_.c_str(), fill, "##############################", width - fill,
               "", status(done, secs).c_str());
}

void Progress::finish() {
  if (tty_ && drew_) std::fprintf(stderr, "\n");
}

}  // namespace sinkstream::app
