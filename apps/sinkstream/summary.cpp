#include "summary.hpp"

#include <algorithm>
#include <cstdio>

namespace sinkstream::app {

const char* stop_reason_text(StopReason r) {
  switch (r) {
    case StopReason::eos: return "end of sequence";
    case StopReason::token_limit: return "--tokens reached";
    case StopReason::interrupted: return "interrupted (Ctrl-C)";
    case StopReason::stop_string: return "stop string";
    case StopReason::none: break;
  }
  return "nothing to generate";
}

const char* stop_reason_word(StopReason r) {
  switch (r) {
    case StopReason::eos: return "eos";
    case StopReason::token_limit: return "tokens";
    case StopReason::interrupted: return "interrupted";
    case StopReason::stop_string: return "stop";
    case StopReason::none: break;
  }
  return "none";
}

namespace {
std::string rate(uint64_t n, double s) {
  char b[64];
  std::snprintf(b, sizeof b, "%.1f tokens/s", static_cast<double>(n) / std::max(s, 1e-9));
  return b;
}
}  // namespace

std::string summary_line(const GenerationStats& s) {
  std::string o = "prompt " + std::to_string(s.prompt_tokens);
  if (s.prompt_tokens != s.prompt_total) o += " of " + std::to_string(s.prompt_total);
  o += " tokens (" + rate(s.prompt_tokens, s.prefill_s) + ") | generated " + std::to_string(s.generated) +
       " tokens (" + rate(s.generated, s.decode_s) + ") | " + std::to_string(s.evicted) + " evicted";
  if (s.sampled) o += " | seed " + std::to_string(s.seed);
  return o + " | stopped: " + stop_reason_text(s.reason);
}

}  // namespace sinkstream::app
