// A model's hyper-parameters and weight tensors, read from a GGUF file or a
// llama2.c checkpoint into one description. Weights stay in the memory map in
// their file type (F32, F16, BF16, Q8_0, Q4_0); nothing is converted here.
#pragma once
#include <array>
#include <cmath>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "format/gguf.hpp"
#include "sinkstream/config.hpp"

namespace sinkstream::model {

enum class Arch { llama, qwen2, qwen3, phi3, gemma2, gemma3, gpt_oss };
const char* arch_name(Arch a);  // general.architecture's spelling

struct HParams {
  Arch arch = Arch::llama;
  uint32_t vocab = 0;
  uint32_t dim = 0;
  uint32_t layers = 0;
  uint32_t heads = 0;
  uint32_t kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t ffn = 0;         // hidden size of the SwiGLU FFN (of each expert, with experts)
  float rms_eps = 1e-5f;
  uint32_t context = 0;     // training context length from the file
  RopeConfig rope;          // style, theta, rotary dims, llama3 frequency factors
  bool qkv_bias = false;    // qwen2
  bool qk_norm = false;     // qwen3: each Q and K head RMS-normalised before RoPE
  bool attn_sinks = false;  // learned per-head sink logits (gpt-oss style)
  // phi3's LongRoPE: rope.freq_factors holds the short factors, these the long
  // ones, taken by caches longer than the original context (llama.cpp's rule);
  // HF scales cos and sin by attn_factor, so the scores grow by its square.
  std::vector<float> rope_long_factors;
  uint32_t rope_original_context = 0;
  float rope_attn_factor = 1.0f;
  // Gemma: the embedding row times sqrt(dim); the FFN's gate through GELU (tanh
  // form) instead of SiLU; RMSNorms of the attention and FFN outputs before
  // their residual adds (post_attention_norm, post_ffw_norm).
  float embed_scale = 1.0f;
  bool gelu_ffn = false;
  bool post_norms = false;
  float attn_scale = 0.0f;  // softmax scale; 0: 1/sqrt(head_dim)
  // gemma2: scores and the final logits x become cap * tanh(x / cap); 0: none.
  float attn_softcap = 0.0f, final_softcap = 0.0f;
  // Layers trained with a sliding window (gemma3: five of every six): a layer l
  // with sliding[l] set attends a plain ring of `sliding_window` slots with
  // rope_sliding, whatever the stream's sinks and window (its trained
  // behaviour); the others attend the stream's sinks + window cache.
  std::vector<uint8_t> sliding;  // (layer); empty: no sliding layer
  uint32_t sliding_window = 0;
  RopeConfig rope_sliding;
  // Mixture of experts (gpt-oss): each token's FFN is the weighted sum of the
  // `experts_used` experts of `experts` its router scores highest, the weights
  // a softmax over the chosen scores. Every projection has a bias (bo too).
  uint32_t experts = 0, experts_used = 0;
  bool out_bias = false;
  // gpt-oss's clamped SwiGLU: min(gate, limit) * sigmoid(alpha * min(gate, limit))
  // * (clamp(up, -limit, limit) + 1); 0: plain SwiGLU.
  float swiglu_limit = 0.0f, swiglu_alpha = 0.0f;
  bool is_sliding(uint32_t layer) const { return layer < sliding.size() && sliding[layer]; }
  uint32_t sliding_layers() const;
};

// Gemma's layer pattern: in every run of `pattern` layers the last is global,
// the others slide (llama.cpp's swa pattern; 2 for Gemma 2, 6 for Gemma 3).
inline bool sliding_in_pattern(uint32_t layer, uint32_t pattern) { return layer % pattern < pattern - 1; }

// YaRN as Hugging Face computes it: each rotary pair's frequency blends the
// extrapolated one (1) with the interpolated one (1 / factor) by a linear ramp
// between the correction dims of beta_fast and beta_slow rotations over the
// original context; truncate rounds those dims outward (llama.cpp always does,
// gpt-oss's config says not to). Returns the divisors of each pair's frequency
// (RopeConfig::freq_factors); the cos/sin scale is yarn_mscale(factor).
std::vector<float> yarn_freq_factors(uint32_t rotary_dims, double theta, double factor, double original_context,
                                     double beta_fast, double beta_slow, bool truncate);
inline double yarn_mscale(double factor) { return factor <= 1.0 ? 1.0 : 0.1 * std::log(factor) + 1.0; }

// The RoPE, softmax scale and soft-cap of a cache of c.sinks + c.window slots.
void set_cache_rope(const HParams& h, StreamConfig& c);

// A 2-D (or 1-D) weight in file layout: `rows` rows of `cols` elements, each
// row contiguous (ggml dims = {cols, rows}).
struct Tensor {
  std::string name;
  GgmlType type = GgmlType::f32;
  uint64_t rows = 1, cols = 0;
  std::span<const uint8_t> data;
};

struct LayerWeights {
  Tensor attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
  std::optional<Tensor> bq, bk, bv;  // qwen2 biases (F32)
  std::optional<Tensor> sinks;       // (heads) F32 sink logits
  std::optional<Tensor> q_norm, k_norm;  // (head_dim) F32, qwen3's per-head RMSNorm weights
  std::optional<Tensor> post_attn_norm, post_ffn_norm;  // (dim) F32, gemma's post-norms
  std::optional<Tensor> bo;  // (dim) F32, gpt-oss's attention output bias
  // Mixture of experts: w_gate, w_up and w_down hold every expert's rows, expert
  // by expert ((expert, ffn, dim) and (expert, dim, ffn)).
  std::optional<Tensor> router, router_b;  // (experts, dim), (experts) F32
  std::optional<Tensor> gate_b, up_b, down_b;  // (expert, ffn), (expert, ffn), (expert, dim) F32

  // The ones every model has, and the optional ones (present or not): for walks over all weights.
  std::array<const Tensor*, 9> tensors() const {
    return {&attn_norm, &wq, &wk, &wv, &wo, &ffn_norm, &w_gate, &w_up, &w_down};
  }
  std::array<const std::optional<Tensor>*, 14> optional_tensors() const {
    return {&bq, &bk, &bv, &sinks, &q_norm, &k_norm, &post_attn_norm, &post_ffn_norm,
            &bo, &router, &router_b, &gate_b, &up_b, &down_b};
  }
};

struct ModelFile {
  std::string path;
  std::string format;  // "gguf" or "llama2.c"
  HParams hp;
  Tensor tok_embd, output_norm, output;  // output aliases tok_embd when tied
  bool tied_output = false;
  std::vector<LayerWeights> layers;
  std::optional<GgufFile> gguf;          // the GGUF (metadata, tokenizer) when format == "gguf"
  std::optional<MappedFile> raw;         // the llama2.c checkpoint mapping

  uint64_t weight_bytes() const;
  // What one token reads of them: all but the experts its router does not choose.
  uint64_t active_weight_bytes() const;
};

// Opens a GGUF (by magic) or a llama2.c checkpoint. Throws Error naming the
// file and the problem: unknown architecture or tensor type, missing tensors,
// shape mismatches, truncation, absurd sizes.
std::unique_ptr<ModelFile> load_model(const std::string& path);

// Weight types the GPU kernels read.
bool supported_weight_type(GgmlType t);

}  // namespace sinkstream::model
