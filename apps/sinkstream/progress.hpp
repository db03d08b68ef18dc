// A progress bar on stderr for long work; silent when stderr is not a terminal,
// so logs and scripts (which may read stdout and stderr together) stay clean.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace sinkstream::app {

class Progress {
 public:
  Progress(std::string label, uint64_t total);
  void update(uint64_t done);
  void finish();

 private:
  std::string label_;
  uint64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace sinkstream::app
