// A stream of attention steps over a KV cache with pinned attention sinks and a
// circular window (StreamingLLM). Memory is fixed at creation: `sinks + window`
// slots per layer and KV head, whatever the stream's length. Text older than the
// window is gone; the sinks keep attention stable, they do not extend memory.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sinkstream/config.hpp"
#include "sinkstream/gpu.hpp"

namespace sinkstream {

struct StreamCounters {
  uint64_t tokens_seen = 0;   // tokens appended since the stream started
  uint64_t evicted = 0;       // tokens that have left the window
  uint32_t slots_used = 0;    // filled sink + window slots (per layer and KV head)
  uint32_t capacity = 0;      // sinks + window
  uint64_t device_bytes = 0;  // device memory held by this stream
};

class SINKSTREAM_API AttentionStream {
 public:
  // `start_position` is the stream index of the first token (tests start at 1e9
  // to prove positions stay exact deep into a stream).
  AttentionStream(Gpu& gpu, const StreamConfig& cfg, uint64_t start_position = 0);
  ~AttentionStream();
  AttentionStream(AttentionStream&&) noexcept;

  // One step for all layers in one command buffer: appends n tokens' K/V and
  // attends each token's query to what the stream holds, exactly as if the
  // tokens came one at a time. Shapes (unrotated q and k):
  //   q, out: (layer, token, head, head_dim)   k, v: (layer, token, kv_head, head_dim)
  // Throws InvalidArgument on wrong sizes, n outside 1..max_chunk or non-finite input.
  void step(std::span<const float> q, std::span<const float> k, std::span<const float> v, uint32_t n_tokens,
            std::span<float> out);

  // Learned per-head sink logits (cfg.learned_sinks): (layer, head).
  void set_sink_logits(std::span<const float> logits);

  StreamCounters counters() const;
  const StreamConfig& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The CPU reference of an AttentionStream, in double precision and slow: it
// follows the paper literally (keeps the first `sinks` tokens and the last
// `window` others unrotated, and rotates them by their position in the cache at
// every step), to check a device against, as `sinkstream demo` does. Not
// thread-safe (one thread at a time per ReferenceStream).
class SINKSTREAM_API ReferenceStream {
 public:
  explicit ReferenceStream(const StreamConfig& cfg);
  ~ReferenceStream();
  ReferenceStream(ReferenceStream&&) noexcept;

  // As AttentionStream::step, one token at a time; returns (layer, token, head, head_dim).
  std::vector<double> step(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                           uint32_t n_tokens);
  // (layer, head); used when cfg.learned_sinks.
  void set_sink_logits(std::span<const float> logits);
  // The largest |GPU - reference| the per-kernel checks accept on attention
  // outputs of magnitude <= 1 for a cache of type t (q8_0: the reference rounds
  // K/V as the cache stores them).
  static double tolerance(KvType t);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkstream
