// Prometheus text exposition of the server's state: counters from the engine,
// the step latency histogram, HTTP requests by status.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "serve/backend.hpp"

namespace sinkstream::serve {

// Cumulative histogram of durations in seconds (thread-safe).
class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                     0.1,   0.2,   0.5,   1.0,  2.0,  5.0};
  void observe(double seconds);
  struct Snapshot {
    std::array<uint64_t, kBounds.size()> le{};  // observations <= bound (cumulative)
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  Snapshot s_;
};

struct MetricsInput {
  EngineStats engine;
  Histogram::Snapshot step_seconds;
  std::map<int, uint64_t> requests_by_status;  // HTTP status -> count
  uint64_t cached_prompt_tokens = 0;           // prompt ids continuity spared
  uint32_t streams_busy = 0;
  uint32_t max_streams = 0;
  uint64_t process_resident_bytes = 0;
};

std::string prometheus_text(const MetricsInput& m);

// This process's resident set (Linux /proc/self/statm), 0 where unknown.
uint64_t resident_bytes();

}  // namespace sinkstream::serve
