#include "testing/synthetic.hpp"

#include <cmath>
#include <random>

#include "testing/gguf_writer.hpp"
#include "format/quant_types.hpp"
#include "testing/quantize.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {


// llama.cpp's use_more_bits: the layers a K-quant "_M" mix gives more bits.
bool use_more_bits(uint32_t layer, uint32_t layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 ||
         (static_cast<int64_t>(layer) - layers / 8) % 3 == 2;
}

// The keys llama.cpp's loader reads for each family beyond the common shape.
void add_family_metadata(GgufWriter& w, const SyntheticSpec& s, const std::string& arch) {
  if (s.gemma3 && s.sliding_window) {
    w.add(arch + ".attention.sliding_window", s.sliding_window);
    w.add(arch + ".attention.sliding_window_pattern", s.sliding_pattern);
  }
  if (s.gemma2) {  // llama.cpp's keys; the pattern is gemma2's own (every other layer)
    w.add(arch + ".attention.sliding_window", s.sliding_window);
    w.add(arch + ".attn_logit_softcapping", s.attn_softcap);
    w.add(arch + ".final_logit_softcapping", s.final_softcap);
  }
  if (s.gpt_oss) {  // llama.cpp's keys; the sliding pattern is gpt-oss's own (the even layers)
    w.add(arch + ".expert_count", s.experts);
    w.add(arch + ".expert_used_count", s.experts_used);
    w.add(arch + ".expert_feed_forward_length", s.ffn);
    if (s.sliding_window) w.add(arch + ".attention.sliding_window", s.sliding_window);
    if (s.yarn_factor > 1.0f) {
      w.add(arch + ".rope.scaling.type", std::string("yarn"));
      w.add(arch + ".rope.scaling.factor", s.yarn_factor);
      w.add(arch + ".rope.scaling.original_context_length", s.yarn_context);
    }
  }
  if (s.phi3) {
    w.add(arch + ".rope.scaling.original_context_length", s.context / 2);
    w.add(arch + ".rope.scaling.attn_factor", 1.1f);
  }
}

// gpt-oss's FFN: the router and each projection's experts, biases included.
template <class Matrix>
void add_experts(const SyntheticSpec& s, uint32_t l, const Matrix& matrix) {
  const std::string p = "blk." + std::to_string(l) + ".";
  const GgmlType t = s.expert_type.value_or(tensor_type(s, "ffn_gate_exps.weight", l));
  const float in_scale = std::sqrt(3.0f / static_cast<float>(s.dim)), ffn_scale = std::sqrt(3.0f / static_cast<float>(s.ffn));
  // Router scores spread well beyond their biases, so the choice differs from token to token.
  // F32 whatever the type, as llama.cpp's quantiser keeps the router.
  matrix(p + "ffn_gate_inp.weight", s.dim, s.experts, 4.0f * in_scale, GgmlType::f32, 1);
  matrix(p + "ffn_gate_inp.bias", s.experts, 1, 0.5f, GgmlType::f32, 1);
  matrix(p + "ffn_gate_exps.weight", s.dim, s.ffn, in_scale, t, s.experts);
  matrix(p + "ffn_up_exps.weight", s.dim, s.ffn, in_scale, t, s.experts);
  matrix(p + "ffn_down_exps.weight", s.ffn, s.dim, ffn_scale, t, s.experts);
  matrix(p + "ffn_gate_exps.bias", s.ffn, s.experts, 0.5f, GgmlType::f32, 1);
  matrix(p + "ffn_up_exps.bias", s.ffn, s.experts, 0.5f, GgmlType::f32, 1);
  matrix(p + "ffn_down_exps.bias", s.dim, s.experts, 0.5f, GgmlType::f32, 1);
}

}  // namespace

GgmlType tensor_type(const SyntheticSpec& s, const std::string& tensor, uint32_t layer) {
  if (s.mix.empty()) return s.type;
  if (s.mix != "q4_k_m") throw InvalidArgument("unknown weight mix '" + s.mix + "'");
  const bool output = tensor == "output.weight" || (s.tied_output && tensor == "token_embd.weight");
  const bool more = (tensor == "attn_v.weight" || tensor == "ffn_down.weight") && use_more_bits(layer, s.layers);
  return output || more ? GgmlType::q6_k : GgmlType::q4_k;
}

void set_synthetic_type(SyntheticSpec& spec, const std::string& name) {
  static const std::pair<const char*, GgmlType> kTypes[] = {
      {"f32", GgmlType::f32},   {"f16", GgmlType::f16},   {"bf16", GgmlType::bf16},     {"q8_0", GgmlType::q8_0},
      {"q4_0", GgmlType::q4_0}, {"q4_1", GgmlType::q4_1}, {"q5_0", GgmlType::q5_0},     {"q5_1", GgmlType::q5_1},
      {"q2_k", GgmlType::q2_k}, {"q3_k", GgmlType::q3_k}, {"q4_k", GgmlType::q4_k},     {"q5_k", GgmlType::q5_k},
      {"q6_k", GgmlType::q6_k}, {"iq4_nl", GgmlType::iq4_nl}, {"iq4_xs", GgmlType::iq4_xs},
      {"mxfp4", GgmlType::mxfp4}};
  spec.mix.clear();
  if (name == "q4_k_m") {
    spec.type = GgmlType::q4_k;
    spec.mix = name;
    return;
  }
  for (const auto& [n, t] : kTypes)
    if (name == n) {
      spec.type = t;
      return;
    }
  std::string all;
  for (const auto& [n, t] : kTypes) all += std::string(n) + ", ";
  throw InvalidArgument("unknown weight type '" + name + "' (" + all + "or the mix q4_k_m)");
}

SyntheticSpec synthetic_preset(const std::string& name) {
  if (name == "tiny") return {};
  if (name == "llama-3.2-1b") {
    SyntheticSpec s;
    s.dim = 2048;
    s.layers = 16;
    s.heads = 32;
    s.kv_heads = 8;
    s.ffn = 8192;
    s.vocab = 32000;
    s.context = 4096;
    s.rope_theta = 500000.0f;
    return s;
  }
  if (name == "qwen3-1.7b") {  // Qwen3-1.7B's config.json (tied output)
    SyntheticSpec s;
    s.qwen3 = true;
    s.dim = 2048;
    s.layers = 28;
    s.heads = 16;
    s.kv_heads = 8;
    s.head_dim = 128;
    s.ffn = 6144;
    s.vocab = 151936;
    s.context = 40960;
    s.rope_theta = 1000000.0f;
    s.tied_output = true;
    return s;
  }
  if (name == "gemma2-tiny" || name == "gemma3-tiny") {  // tiny's shape, four layers, a window of 8
    SyntheticSpec s;
    (name == "gemma2-tiny" ? s.gemma2 : s.gemma3) = true;
    s.layers = 4;
    s.sliding_window = 8;
    s.sliding_pattern = 2;
    s.tied_output = true;
    return s;
  }
  if (name == "gemma3-1b") {  // Gemma-3-1B's config.json (tied output)
    SyntheticSpec s;
    s.gemma3 = true;
    s.dim = 1152;
    s.layers = 26;
    s.heads = 4;
    s.kv_heads = 1;
    s.head_dim = 256;
    s.ffn = 6912;
    s.vocab = 262144;
    s.context = 32768;
    s.sliding_window = 512;
    s.rope_theta = 1000000.0f;
    s.tied_output = true;
    return s;
  }
  if (name == "gpt-oss-tiny") {  // tiny's shape, four layers, eight experts
    SyntheticSpec s;
    s.gpt_oss = s.learned_sinks = true;
    s.layers = 4;
    s.ffn = 64;
    s.experts = 8;
    s.experts_used = 2;
    s.sliding_window = 8;
    s.yarn_factor = 4.0f;
    s.yarn_context = 32;
    return s;
  }
  if (name == "gpt-oss-mini") {  // experts big enough to dominate a step, small enough for a CPU
    SyntheticSpec s = synthetic_preset("gpt-oss-tiny");
    s.dim = s.ffn = 512;
    s.heads = 8;
    s.kv_heads = 2;
    s.experts = 32;
    s.experts_used = 4;
    s.vocab = 1024;
    s.sliding_window = 128;
    s.yarn_context = 4096;
    return s;
  }
  if (name == "gpt-oss-20b") {  // gpt-oss-20b's config.json, its experts in MXFP4 as released
    SyntheticSpec s;
    s.gpt_oss = s.learned_sinks = true;
    s.dim = 2880;
    s.layers = 24;
    s.heads = 64;
    s.kv_heads = 8;
    s.head_dim = 64;
    s.ffn = 2880;
    s.experts = 32;
    s.experts_used = 4;
    s.expert_type = GgmlType::mxfp4;
    s.vocab = 201088;
    s.context = 131072;
    s.sliding_window = 128;
    s.rope_theta = 150000.0f;
    s.yarn_factor = 32.0f;
    s.yarn_context = 4096;
    return s;
  }
  throw InvalidArgument("unknown synthetic model preset '" + name +
                        "' (tiny, gemma2-tiny, gemma3-tiny, gpt-oss-tiny, gpt-oss-mini, llama-3.2-1b, qwen3-1.7b, gemma3-1b, gpt-oss-20b)");
}

void write_synthetic_gguf(const std::string& path, const SyntheticSpec& s) {
  if (s.vocab < 259) throw InvalidArgument("a synthetic vocabulary needs at least 259 tokens");
  const uint32_t hd = s.head_dim ? s.head_dim : s.dim / s.heads;
  GgufWriter w;
  const std::string arch = s.gpt_oss ? "gpt-oss" : s.gemma2 ? "gemma2" : s.gemma3 ? "gemma3" : s.phi3 ? "phi3" : s.qwen3 ? "qwen3" : s.qwen2 ? "qwen2" : "llama";
  GgufShape shape{arch, "sinkstream synthetic", s.context, s.dim, s.layers, s.ffn, s.heads, s.kv_heads, hd, hd};
  shape.rope_theta = s.rope_theta;
  add_shape_metadata(w, shape);
  add_placeholder_vocab(w, s.vocab);
  if (!s.chat_template.empty()) w.add("tokenizer.chat_template", s.chat_template);
  if (!s.add_bos_token) w.add("tokenizer.ggml.add_bos_token", false);
  add_family_metadata(w, s, arch);

  uint64_t stream = 0;
  // Each tensor gets its own generator so the file does not depend on write order.
  // A matrix, or (experts > 1) `experts` matrices in one 3-D tensor.
  const auto matrix = [&](const std::string& name, uint64_t cols, uint64_t rows, float scale, GgmlType type,
                          uint64_t experts = 1) {
    const uint32_t bw = block_weights(type);
    if (cols % bw)
      throw InvalidArgument("'" + name + "' has rows of " + std::to_string(cols) + " values; " + ggml_type_name(type) +
                            " needs a multiple of " + std::to_string(bw));
    const uint64_t seed = s.seed * 1000003ull + ++stream;
    std::vector<uint64_t> dims{cols, rows};
    if (experts > 1) dims.push_back(experts);
    w.add_tensor(name, dims, type, [=] {
      std::mt19937_64 rng(seed);
      std::uniform_real_distribution<float> u(-scale, scale);
      std::vector<float> x(cols * rows * experts);
      for (float& v : x) v = u(rng);
      return quantize(x, type);
    });
  };
  const auto norm = [&](const std::string& name, uint64_t n) {
    const uint64_t seed = s.seed * 1000003ull + ++stream;
    w.add_tensor(name, {n}, GgmlType::f32, [=] {
      std::mt19937_64 rng(seed);
      std::uniform_real_distribution<float> u(0.8f, 1.2f);
      std::vector<float> x(n);
      for (float& v : x) v = u(rng);
      return quantize(x, GgmlType::f32);
    });
  };
  const float in_scale = std::sqrt(3.0f / static_cast<float>(s.dim)), ffn_scale = std::sqrt(3.0f / static_cast<float>(s.ffn));
  const auto type = [&](const std::string& tensor, uint32_t layer) { return tensor_type(s, tensor, layer); };
  matrix("token_embd.weight", s.dim, s.vocab, 1.0f, type("token_embd.weight", 0));
  for (uint32_t l = 0; l < s.layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    norm(p + "attn_norm.weight", s.dim);
    if (s.phi3) {
      matrix(p + "attn_qkv.weight", s.dim, uint64_t{s.heads + 2 * s.kv_heads} * hd, in_scale, type("attn_qkv.weight", l));
    } else {
      matrix(p + "attn_q.weight", s.dim, uint64_t{s.heads} * hd, in_scale, type("attn_q.weight", l));
      matrix(p + "attn_k.weight", s.dim, uint64_t{s.kv_heads} * hd, in_scale, type("attn_k.weight", l));
      matrix(p + "attn_v.weight", s.dim, uint64_t{s.kv_heads} * hd, in_scale, type("attn_v.weight", l));
    }
    if (s.qwen2 || s.gpt_oss) {
      matrix(p + "attn_q.bias", uint64_t{s.heads} * hd, 1, 0.5f, GgmlType::f32);
      matrix(p + "attn_k.bias", uint64_t{s.kv_heads} * hd, 1, 0.5f, GgmlType::f32);
      matrix(p + "attn_v.bias", uint64_t{s.kv_heads} * hd, 1, 0.5f, GgmlType::f32);
    }
    if (s.qwen3 || s.gemma3) {
      norm(p + "attn_q_norm.weight", hd);
      norm(p + "attn_k_norm.weight", hd);
    }
    if (s.gemma3 || s.gemma2) {
      norm(p + "post_attention_norm.weight", s.dim);
      norm(p + "post_ffw_norm.weight", s.dim);
    }
    matrix(p + "attn_output.weight", uint64_t{s.heads} * hd, s.dim, in_scale, type("attn_output.weight", l));
    if (s.gpt_oss) {
      matrix(p + "attn_output.bias", s.dim, 1, 0.5f, GgmlType::f32);
      norm(p + "attn_sinks.weight", s.heads);
      norm(p + "post_attention_norm.weight", s.dim);  // the pre-FFN norm, under transformers' name
      add_experts(s, l, matrix);
      continue;
    }
    norm(p + "ffn_norm.weight", s.dim);
    if (s.phi3) {
      matrix(p + "ffn_up.weight", s.dim, 2ull * s.ffn, in_scale, type("ffn_up.weight", l));
    } else {
      matrix(p + "ffn_gate.weight", s.dim, s.ffn, in_scale, type("ffn_gate.weight", l));
      matrix(p + "ffn_up.weight", s.dim, s.ffn, in_scale, type("ffn_up.weight", l));
    }
    matrix(p + "ffn_down.weight", s.ffn, s.dim, ffn_scale, type("ffn_down.weight", l));
    if (s.learned_sinks) norm(p + "attn_sinks", s.heads);
  }
  if (s.phi3) {  // divisors of the rotary frequencies, as phi3's short and long factors
    norm("rope_factors_short.weight", hd / 2);
    norm("rope_factors_long.weight", hd / 2);
  }
  norm("output_norm.weight", s.dim);
  if (!s.tied_output) matrix("output.weight", s.dim, s.vocab, in_scale, type("output.weight", 0));
  w.write(path);
}

void add_placeholder_vocab(GgufWriter& w, uint32_t n) {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
  }
  for (uint32_t i = static_cast<uint32_t>(tokens.size()); i < n; ++i) {
    tokens.push_back("\xe2\x96\x81t" + std::to_string(i));
    types.push_back(1);
  }
  tokens.resize(n);
  types.resize(n);
  std::vector<float> scores(n);
  for (uint32_t i = 0; i < n; ++i) scores[i] = -static_cast<float>(i);
  w.add("tokenizer.ggml.model", std::string("llama"));
  w.add("tokenizer.ggml.tokens", tokens);
  w.add("tokenizer.ggml.scores", scores);
  w.add("tokenizer.ggml.token_type", types);
  w.add("tokenizer.ggml.unknown_token_id", 0u);
  w.add("tokenizer.ggml.bos_token_id", 1u);
  w.add("tokenizer.ggml.eos_token_id", 2u);
}

void add_shape_metadata(GgufWriter& w, const GgufShape& s) {
  const std::string& a = s.arch;
  w.add("general.architecture", a);
  w.add("general.name", s.name);
  if (s.context) w.add(a + ".context_length", s.context);
  w.add(a + ".embedding_length", s.dim);
  w.add(a + ".block_count", s.layers);
  w.add(a + ".feed_forward_length", s.ffn);
  w.add(a + ".attention.head_count", s.heads);
  w.add(a + ".attention.head_count_kv", s.kv_heads);
  w.add(a + ".attention.key_length", s.head_dim);
  w.add(a + ".attention.value_length", s.head_dim);
  w.add(a + ".attention.layer_norm_rms_epsilon", s.rms_eps);
  w.add(a + ".rope.freq_base", s.rope_theta);
  w.add(a + ".rope.dimension_count", s.rotary_dims);
}

}  // namespace sinkstream::model
