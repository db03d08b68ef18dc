// CPU reference of the Llama forward pass (and its families' variations): plain loops, float weights
// dequantised from the file's type, attention through ReferenceStream (the
// paper's semantics in double). Slow and obvious on purpose; the GPU engine is
// tested against it op by op and end to end.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "format/model_file.hpp"
#include "ref/attention_ref.hpp"

namespace sinkstream::ref {

// Row `row` of a weight tensor as floats (any supported type).
std::vector<float> dequantize_row(const model::Tensor& t, uint64_t row);

// out[n] = sum_k W[n][k] * x[k]
std::vector<float> matvec(const model::Tensor& w, std::span<const float> x);
// The same over rows [first, first + count) of w (one expert of a stacked tensor).
std::vector<float> matvec_rows(const model::Tensor& w, uint64_t first, uint64_t count, std::span<const float> x);
// A mixture-of-experts FFN (gpt-oss) of one token's normed x: top-k routing,
// softmax over the chosen scores, clamped SwiGLU experts with biases.
std::vector<float> moe_ffn(const model::HParams& h, const model::LayerWeights& w, std::span<const float> x);
std::vector<float> rmsnorm(std::span<const float> x, const model::Tensor& weight, float eps);
// RMSNorm of each head_dim-long piece of x in place, with the same weight (qwen3's Q/K norms).
void head_norm(std::vector<float>& x, const model::Tensor& weight, uint32_t head_dim, float eps);

class ReferenceModel {
 public:
  // The cache's sinks and window; kv: q8_0 rounds K/V as a q8_0 cache stores them
  // (other types are exact, in double). The other fields come from the model.
  ReferenceModel(const model::ModelFile& m, uint32_t sinks, uint32_t window,
                 KvType kv = KvType::f16);
  // One token through every layer; returns its logits.
  std::vector<float> forward(int32_t token);
  // The full-attention layers' cache (every layer's, unless the model has sliding layers).
  const ReferenceStream& attention() const { return attn_; }

 private:
  const model::ModelFile& m_;
  ReferenceStream attn_;
  std::optional<ReferenceStream> ring_;  // the sliding-window layers' plain ring (gemma3)
  std::vector<uint32_t> local_;          // (layer) its index in attn_ or ring_
};

}  // namespace sinkstream::ref
