// The closing line of a generation on stderr, as llama-cli prints its timings:
// prompt and generated tokens with their speeds, evictions, the seed and why
// generation stopped. Kept apart from the decode loop so the loop can move.
#pragma once
#include <cstdint>
#include <string>

namespace sinkstream::app {

enum class StopReason { none, eos, token_limit, interrupted, stop_string };

// The words scripts and people read: "end of sequence", "--tokens reached", ...
const char* stop_reason_text(StopReason r);
// The same as one JSON-friendly word: "eos", "tokens", "interrupted", "stop", "none".
const char* stop_reason_word(StopReason r);

struct GenerationStats {
  uint64_t prompt_tokens = 0;  // ingested (fewer than prompt_total after a Ctrl-C)
  uint64_t prompt_total = 0;
  double prefill_s = 0;
  uint64_t generated = 0;
  double decode_s = 0;
  uint64_t evicted = 0;
  bool sampled = false;  // the seed matters only when sampling
  uint64_t seed = 0;
  StopReason reason = StopReason::none;
};

// One line, no trailing newline, e.g. "prompt 12 tokens (340.2 tokens/s) | generated
// 256 tokens (81.3 tokens/s) | 0 evicted | seed 7 | stopped: --tokens reached".
std::string summary_line(const GenerationStats& s);

}  // namespace sinkstream::app
