// Progress of long work on stderr: a bar with an estimate of the time left on a
// terminal; off a terminal (logs, CI), a plain line once the work has run for
// 10 s and then every 30 s, so a run of minutes is not silent while short runs,
// and scripts that read stdout and stderr together, see nothing.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace sinkstream::app {

class Progress {
 public:
  Progress(std::string label, uint64_t total);  // total 0: unknown (no bar, no estimate)
  void update(uint64_t done);
  void finish();

 private:
  std::string status(uint64_t done, double secs) const;

  std::string label_;
  uint64_t total_;
  bool tty_;
  bool drew_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace sinkstream::app
