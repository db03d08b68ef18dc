// Bookkeeping of one stream's cache: which slots are filled, where the next
// window token goes, and the positions each token of a chunk uses. Pure host
// arithmetic, identical for every layer.
#pragma once
#include <algorithm>
#include <cstdint>

namespace sinkstream::kv {

struct RingState {
  uint32_t sinks = 0;     // S
  uint32_t window = 1;    // W
  uint64_t appended = 0;  // tokens appended so far

  uint32_t sinks_filled() const { return static_cast<uint32_t>(std::min<uint64_t>(appended, sinks)); }
  uint64_t window_total() const { return appended > sinks ? appended - sinks : 0; }
  uint32_t ring_filled() const { return static_cast<uint32_t>(std::min<uint64_t>(window_total(), window)); }
  // Ring slot the next window token takes: the oldest one once the ring is full.
  uint32_t ring_next() const { return static_cast<uint32_t>(window_total() % window); }
  uint64_t evicted() const { return window_total() > window ? window_total() - window : 0; }
  uint32_t slots_used() const { return sinks_filled() + ring_filled(); }

  RingState after(uint64_t n) const { return {sinks, window, appended + n}; }
  // Tokens of an n-token chunk that land in sink slots.
  uint32_t chunk_sinks(uint32_t n) const { return std::min<uint32_t>(n, sinks - sinks_filled()); }

  // Position used to rotate token i's key (and its query for window keys):
  // its slot if it is a sink, its stream index otherwise.
  uint64_t key_position(uint64_t start, uint32_t i) const {
    const uint64_t t = appended + i;
    return t < sinks ? t : start + t;
  }
  // The query's position within the cache right after token i is appended:
  // sinks first, then the window in age order, the newest token last.
  uint64_t cache_position(uint32_t i) const { return after(i + 1).slots_used() - 1; }
};

}  // namespace sinkstream::kv
