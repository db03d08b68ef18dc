#include "serve/metrics.hpp"

#include <fstream>
#include <sstream>
#include <unistd.h>

namespace sinkstream::serve {

void Histogram::observe(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < kBounds.size(); ++i)
    if (seconds <= kBounds[i]) s_.le[i]++;
  s_.count++;
  s_.sum += seconds;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return s_;
}

namespace {

void metric(std::ostringstream& o, const char* name, const char* type, const char* help, double value) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n' << name << ' ' << value << '\n';
}

}  // namespace

std::string prometheus_text(const MetricsInput& m) {
  std::ostringstream o;
  o.precision(17);
  const EngineStats& e = m.engine;
  metric(o, "sinkstream_streams_live", "gauge", "Streams holding a cache on the device.", e.live_streams);
  metric(o, "sinkstream_streams_busy", "gauge", "Streams running a request.", m.streams_busy);
  metric(o, "sinkstream_streams_max", "gauge", "The most live streams (--streams).", m.max_streams);
  metric(o, "sinkstream_prompt_tokens_total", "counter", "Prompt tokens fed to streams.", static_cast<double>(e.prompt_tokens));
  metric(o, "sinkstream_prompt_tokens_cached_total", "counter",
         "Prompt tokens a continued conversation's stream had already seen (not computed again).",
         static_cast<double>(m.cached_prompt_tokens));
  metric(o, "sinkstream_generated_tokens_total", "counter", "Tokens generated.", static_cast<double>(e.generated_tokens));
  metric(o, "sinkstream_evicted_tokens_total", "counter", "Tokens that left a window, over all streams.",
         static_cast<double>(e.evicted));
  metric(o, "sinkstream_steps_total", "counter", "GPU steps run.", static_cast<double>(e.steps));
  metric(o, "sinkstream_device_bytes", "gauge", "Device memory held (weights, caches, step buffers).",
         static_cast<double>(e.device_bytes));
  metric(o, "sinkstream_weight_bytes", "gauge", "Device memory of the weights.", static_cast<double>(e.weight_bytes));
  metric(o, "sinkstream_process_resident_bytes", "gauge", "Host memory of the server process (resident set).",
         static_cast<double>(m.process_resident_bytes));
  o << "# HELP sinkstream_step_seconds Wall time of one GPU step (all streams' work).\n"
       "# TYPE sinkstream_step_seconds histogram\n";
  for (size_t i = 0; i < Histogram::kBounds.size(); ++i)
    o << "sinkstream_step_seconds_bucket{le=\"" << Histogram::kBounds[i] << "\"} " << m.step_seconds.le[i] << '\n';
  o << "sinkstream_step_seconds_bucket{le=\"+Inf\"} " << m.step_seconds.count << '\n'
    << "sinkstream_step_seconds_sum " << m.step_seconds.sum << '\n'
    << "sinkstream_step_seconds_count " << m.step_seconds.count << '\n';
  o << "# HELP sinkstream_http_requests_total HTTP requests answered, by status.\n"
       "# TYPE sinkstream_http_requests_total counter\n";
  for (const auto& [status, n] : m.requests_by_status)
    o << "sinkstream_http_requests_total{status=\"" << status << "\"} " << n << '\n';
  return o.str();
}

uint64_t resident_bytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  if (!(f >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace sinkstream::serve
