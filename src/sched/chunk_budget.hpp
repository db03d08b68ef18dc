// How many prompt tokens a scheduler step takes beside decode rows when it
// aims at a latency: a step with a chunk should take about `factor` times a
// step of the decode rows alone, so a long prompt slows running streams by a
// bounded factor (its own time to first token grows instead).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sinkstream::sched {

// Fewest tokens a chunk takes while cut, so that a prompt still moves on.
inline uint32_t min_chunk_tokens(uint32_t step_tokens) { return std::max<uint32_t>(1, step_tokens / 16); }

// decode_ms: a step of the decode rows alone; token_ms: what each chunk token
// adds to it (both measured, 0: not yet). factor 0: no aim, every chunk takes
// step_tokens; at most 1: no time to spare, the fewest tokens. Unmeasured, a
// step without a chunk times the decode rows, then the fewest tokens time a
// chunk; from there the chunk grows to the aim (a token's share of a chunk's
// fixed cost shrinks as the chunk grows) and stays there.
inline uint32_t chunk_budget(double decode_ms, double token_ms, double factor, uint32_t step_tokens) {
  if (factor <= 0) return step_tokens;
  const uint32_t least = min_chunk_tokens(step_tokens);
  if (factor <= 1) return least;
  if (decode_ms <= 0) return 0;
  if (token_ms <= 0) return least;
  const double fit = std::floor((factor - 1) * decode_ms / token_ms);
  return static_cast<uint32_t>(std::clamp<double>(fit, least, step_tokens));
}

}  // namespace sinkstream::sched
