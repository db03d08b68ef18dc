// CPU reference of the StreamingLLM cache, in double precision and written for
// reading, not speed. It follows the paper literally: keep the first S tokens
// and the last W others *unrotated*, and at every step rotate every kept key by
// its position within the cache (sinks 0..S-1, then the window in age order)
// and the query by the newest position. The GPU path never re-rotates a stored
// key; tests prove both give the same attention. A q8_0 cache's keys and values
// carry the error of the GPU's one quantisation (see quantise_as_stored).
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "sinkstream/config.hpp"

namespace sinkstream::ref {

// Rotates x (head_dim values) in place by `position` with the given RoPE.
void rope_rotate(std::span<double> x, double position, const RopeConfig& rope);

// A q8_0 cache's round trip of one head's row, as the append kernel does it: in
// float, blocks of 32 (the last one shorter when the row is not a multiple of 32)
// quantised with ggml's reference rounding (d = amax / 127, q = roundf(x / d), d
// stored as float16), then dequantised.
void q8_0_round_trip(std::span<double> row);

class ReferenceStream {
 public:
  // start: the stream index of the first token (the GPU cache's start_position);
  // only q8_0 caches depend on it, through the angle a window key is stored at.
  explicit ReferenceStream(const StreamConfig& cfg, uint64_t start = 0);

  // (layer, head); used when cfg.learned_sinks.
  void set_sink_logits(std::span<const float> logits);

  // Appends n tokens one at a time and returns each token's attention output.
  // Layouts as AttentionStream::step: q (layer, token, head, head_dim),
  // k/v (layer, token, kv_head, head_dim); returns (layer, token, head, head_dim).
  std::vector<double> step(std::span<const float> q, std::span<const float> k, std::span<const float> v, uint32_t n);

  // One token in one layer: appends its K/V to that layer and returns the
  // attention output (head, head_dim). step() is this for every token and layer.
  std::vector<double> append_and_attend(uint32_t layer, std::span<const float> q, std::span<const float> k,
                                        std::span<const float> v);

  uint64_t tokens_seen() const { return seen_; }

  // Softmax weights of the last attended token in `layer`: (head, kept token),
  // kept tokens in cache order (sinks, then the window oldest first).
  const std::vector<double>& last_attention(uint32_t layer) const { return layers_.at(layer).last_probs; }

 private:
  struct Token {
    std::vector<double> k, v;  // (kv_head, head_dim), unrotated
  };
  struct Layer {
    std::vector<Token> sinks;  // the first S tokens, forever
    std::deque<Token> window;  // the last W other tokens, oldest first
    std::vector<double> last_probs;  // (head, kept token) of the last query
  };

  void append(Layer& layer, Token token) const;
  void quantise_as_stored(Token& token, bool sink, size_t sink_slot) const;
  void attend(Layer& layer, uint32_t layer_index, const float* q, double* out) const;

  StreamConfig cfg_;
  double scale_;
  std::vector<Layer> layers_;
  std::vector<float> sink_logits_;
  uint64_t start_ = 0;
  uint64_t seen_ = 0;
};

}  // namespace sinkstream::ref
