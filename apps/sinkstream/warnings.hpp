// Warnings about input the cache cannot hold or the model was not trained for,
// on stderr, each kind at most once per run: a user must learn that text was
// dropped, but a chat must not repeat it every turn.
#pragma once
#include <cstdint>
#include <string>

#include "sinkstream/config.hpp"

namespace sinkstream::app {

// Prints "warning: <message>" unless a warning of this kind was printed already.
void warn_once(const std::string& kind, const std::string& message);

// sinks + window larger than the model's training context (0: unknown, no warning).
void warn_cache_beyond_context(const StreamConfig& cache, uint32_t context);

// `what` ("the prompt", "the message") of `tokens` tokens, fed into a cache that
// already holds `held` tokens: says what the model keeps when part of it is evicted.
void warn_dropped_input(const std::string& what, uint64_t tokens, uint64_t held, const StreamConfig& cache,
                        uint32_t context);

// --pin-system made the sinks `pinned` tokens long; warns when that leaves the
// conversation less than half of the training context.
void warn_pinned_system(uint32_t pinned, uint32_t default_sinks, const StreamConfig& cache, uint32_t context);

}  // namespace sinkstream::app
