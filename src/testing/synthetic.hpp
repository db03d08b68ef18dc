// Random-weight Llama GGUF files of any shape and weight type: test models for
// every kernel, and realistic shapes (Llama-3.2-1B) for benchmarks without
// downloading anything. Deterministic given the seed.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "format/gguf.hpp"
#include "testing/gguf_writer.hpp"

namespace sinkstream::model {

struct SyntheticSpec {
  uint32_t dim = 64, layers = 2, heads = 4, kv_heads = 2, ffn = 96, vocab = 300, context = 128;
  GgmlType type = GgmlType::f32;  // every matrix, embedding and output included; norms stay F32
  // "q4_k_m": llama.cpp's Q4_K_M mix instead of one type (see tensor_type()); "" for `type`.
  std::string mix;
  bool tied_output = false;
  bool learned_sinks = false;     // adds blk.N.attn_sinks
  bool qwen2 = false;             // architecture qwen2: Q/K/V biases and NeoX (split-half) RoPE
  bool qwen3 = false;             // architecture qwen3: per-head Q/K RMSNorm and NeoX RoPE, no biases
  // architecture phi3: fused attn_qkv and gate/up ffn_up, NeoX RoPE, LongRoPE
  // short/long factors (long past `context`/2 cache slots) and an attention factor
  bool phi3 = false;
  // architecture gemma3: Q/K norms, post-norms, GeGLU, the embedding scaled by
  // sqrt(dim); layers l with l % sliding_pattern < sliding_pattern - 1 are
  // sliding-window layers of sliding_window tokens (RoPE base 10000, the others
  // rope_theta) when sliding_window > 0
  bool gemma3 = false;
  uint32_t sliding_window = 0, sliding_pattern = 6;
  // architecture gemma2: gemma3 without Q/K norms, every other layer sliding (the
  // even ones), one RoPE base, scores and final logits soft-capped at these
  bool gemma2 = false;
  float attn_softcap = 50.0f, final_softcap = 30.0f;
  // architecture gpt-oss: `experts` experts of FFN size `ffn`, `experts_used` per
  // token, every projection biased, learned sinks, every even layer sliding over
  // sliding_window tokens, YaRN (yarn_factor over yarn_context) when yarn_factor > 1
  bool gpt_oss = false;
  uint32_t experts = 0, experts_used = 0;
  std::optional<GgmlType> expert_type;  // the experts' weights; none: `type`
  float yarn_factor = 0.0f;
  uint32_t yarn_context = 0;
  uint32_t head_dim = 0;          // 0: dim / heads (qwen3's real shapes have heads * head_dim != dim)
  float rope_theta = 10000.0f;
  std::string chat_template;      // tokenizer.chat_template when not empty
  bool add_bos_token = true;      // false: tokenizer.ggml.add_bos_token = false (as Qwen's, gpt-oss's)
  uint64_t seed = 1;
};

// A named preset: "tiny" (the default above), "gemma2-tiny" and "gemma3-tiny" (its
// shape with 4 layers, every other one sliding over 8 tokens), "gpt-oss-tiny" (its
// shape, 4 layers, 8 experts of 64 with 2 used, sliding window 8, YaRN x4 over 32)
// "gpt-oss-mini" (dim and experts' FFN 512, 4 layers, 4 of 32 experts: big enough
// experts to show what a token reads) and "gpt-oss-20b" (gpt-oss-20b's config.json,
// MXFP4 experts), "llama-3.2-1b" (dim 2048, 16
// layers, 32 heads, 8 KV heads, FFN 8192, vocab 32000, context 4096) or
// "qwen3-1.7b" (dim 2048, 28 layers, 16 heads of 128, 8 KV heads, FFN 6144,
// vocab 151936, tied output) or "gemma3-1b" (dim 1152, 26 layers, 4 heads of
// 256, 1 KV head, FFN 6912, vocab 262144, sliding window 512, tied output).
SyntheticSpec synthetic_preset(const std::string& name);

// The type of a weight matrix (`tensor` without its "blk.N." prefix, `layer` its
// N). With mix "q4_k_m", llama.cpp's Q4_K_M rule (llama_tensor_get_type): output
// (or the tied embedding) Q6_K; attn_v and ffn_down Q6_K in the layers
// use_more_bits() picks (the first and last eighth, every third in between);
// every other matrix Q4_K.
GgmlType tensor_type(const SyntheticSpec& spec, const std::string& tensor, uint32_t layer);

// Parses a --type name of sinkstream-synth ("f32", "q4_k", "iq4_xs", ... or the
// mix "q4_k_m") into spec.type / spec.mix; throws InvalidArgument for others.
void set_synthetic_type(SyntheticSpec& spec, const std::string& name);

void write_synthetic_gguf(const std::string& path, const SyntheticSpec& spec);

// A model's shape as llama.cpp's GGUF metadata keys under `arch`.
struct GgufShape {
  std::string arch, name;
  uint32_t context = 0, dim = 0, layers = 0, ffn = 0, heads = 0, kv_heads = 0, head_dim = 0, rotary_dims = 0;
  float rope_theta = 10000.0f, rms_eps = 1e-5f;
};
void add_shape_metadata(GgufWriter& w, const GgufShape& s);

// A SentencePiece-style vocabulary of n tokens: <unk> <s> </s>, the 256 byte
// tokens, then numbered pieces (random-weight models need no real one).
void add_placeholder_vocab(GgufWriter& w, uint32_t n);

}  // namespace sinkstream::model
