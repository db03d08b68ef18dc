#include "format/model_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "format/quant_types.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {
namespace {

constexpr uint32_t kMaxDim = 1 << 16, kMaxLayers = 1024, kMaxVocab = 1 << 22;

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error("cannot load '" + path + "': " + what);
}

void check_hparams(const std::string& path, const HParams& h) {
  if (h.dim == 0 || h.dim > kMaxDim) bad(path, "embedding size " + std::to_string(h.dim) + " is out of range");
  if (h.layers == 0 || h.layers > kMaxLayers) bad(path, "layer count " + std::to_string(h.layers) + " is out of range");
  if (h.vocab == 0 || h.vocab > kMaxVocab) bad(path, "vocabulary size " + std::to_string(h.vocab) + " is out of range");
  if (h.ffn == 0 || h.ffn > 8 * kMaxDim) bad(path, "FFN size " + std::to_string(h.ffn) + " is out of range");
  if (h.heads == 0 || h.kv_heads == 0 || h.heads % h.kv_heads != 0)
    bad(path, "head counts " + std::to_string(h.heads) + "/" + std::to_string(h.kv_heads) + " are inconsistent");
  if (h.head_dim == 0 || h.head_dim % 4 != 0 || h.head_dim > 256)
    bad(path, "head dimension " + std::to_string(h.head_dim) + " is not supported (multiples of 4 up to 256)");
  if (h.heads / h.kv_heads > 16) bad(path, "more than 16 query heads per KV head is not supported");
  if (!(h.rms_eps > 0.0f && h.rms_eps < 1.0f)) bad(path, "RMS norm epsilon is out of range");
}

const GgufTensor& need(const GgufFile& g, const std::string& name) {
  const GgufTensor* t = g.find_tensor(name);
  if (!t) bad(g.label(), "tensor '" + name + "' is missing");
  return *t;
}

void check_type(const GgufFile& g, const GgufTensor& t, const std::string& name) {
  if (!supported_weight_type(t.type))
    bad(g.label(), "tensor '" + name + "' has type " + ggml_type_name(t.type) +
                       "; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, "
                       "Q5_K, Q6_K, IQ4_NL, IQ4_XS, MXFP4");
}

// A GGUF tensor as a matrix of `rows` x `cols`, checking the expected shape.
Tensor matrix(const GgufFile& g, const std::string& name, uint64_t cols, uint64_t rows) {
  const GgufTensor& t = need(g, name);
  const uint64_t t_rows = t.dims.size() > 1 ? t.dims[1] : 1;
  if (t.dims.size() > 2 || t.dims[0] != cols || t_rows != rows)
    bad(g.label(), "tensor '" + name + "' has shape [" + std::to_string(t.dims[0]) + ", " + std::to_string(t_rows) +
                       "], expected [" + std::to_string(cols) + ", " + std::to_string(rows) + "]");
  check_type(g, t, name);
  return {name, t.type, rows, cols, t.data};
}

// A GGUF tensor of `experts` matrices of `rows` x `cols` (ggml dims {cols, rows,
// experts}), as one matrix of experts * rows rows, expert after expert.
Tensor experts_matrix(const GgufFile& g, const std::string& name, uint64_t cols, uint64_t rows, uint64_t experts) {
  const GgufTensor& t = need(g, name);
  if (t.dims.size() != 3 || t.dims[0] != cols || t.dims[1] != rows || t.dims[2] != experts)
    bad(g.label(), "tensor '" + name + "' must have shape [" + std::to_string(cols) + ", " + std::to_string(rows) +
                       ", " + std::to_string(experts) + "] (" + std::to_string(t.dims.size()) + " dims found)");
  check_type(g, t, name);
  return {name, t.type, rows * experts, cols, t.data};
}

Tensor f32_matrix(const GgufFile& g, const std::string& name, uint64_t cols, uint64_t rows) {
  Tensor t = matrix(g, name, cols, rows);
  if (t.type != GgmlType::f32) bad(g.label(), "tensor '" + name + "' must be F32");
  return t;
}

Tensor vector_f32(const GgufFile& g, const std::string& name, uint64_t n) { return f32_matrix(g, name, n, 1); }

}  // namespace

void set_cache_rope(const HParams& h, StreamConfig& c) {
  c.rope = h.rope;
  if (!h.rope_long_factors.empty() && uint64_t{c.sinks} + c.window > h.rope_original_context)
    c.rope.freq_factors = h.rope_long_factors;
  // cos and sin scaled by f scale every score by f^2 (full rotary dims only: checked at load).
  if (h.rope_attn_factor != 1.0f)
    c.scale = h.rope_attn_factor * h.rope_attn_factor / std::sqrt(static_cast<float>(c.head_dim));
  if (h.attn_scale != 0.0f) c.scale = h.attn_scale;
  c.softcap = h.attn_softcap;
}

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::llama: return "llama";
    case Arch::qwen2: return "qwen2";
    case Arch::qwen3: return "qwen3";
    case Arch::phi3: return "phi3";
    case Arch::gemma2: return "gemma2";
    case Arch::gemma3: return "gemma3";
    case Arch::gpt_oss: return "gpt-oss";
  }
  return "llama";
}

namespace {

HParams gguf_hparams(const GgufFile& g) {
  HParams h;
  const std::string arch = g.get_string("general.architecture").value_or("");
  if (arch == "llama") {
    h.arch = Arch::llama;
    h.rope.style = RopeStyle::adjacent;
  } else if (arch == "qwen2") {
    h.arch = Arch::qwen2;
    h.rope.style = RopeStyle::neox;
    h.qkv_bias = true;
  } else if (arch == "qwen3") {  // qwen2 without Q/K/V biases, with Q/K norms
    h.arch = Arch::qwen3;
    h.rope.style = RopeStyle::neox;
    h.qk_norm = true;
  } else if (arch == "phi3") {  // fused QKV and gate/up, LongRoPE
    h.arch = Arch::phi3;
    h.rope.style = RopeStyle::neox;
  } else if (arch == "gemma2" || arch == "gemma3") {  // read_gemma() has the rest
    h.arch = arch == "gemma2" ? Arch::gemma2 : Arch::gemma3;
    h.rope.style = RopeStyle::neox;
    h.qk_norm = h.arch == Arch::gemma3;
  } else if (arch == "gpt-oss") {  // read_gpt_oss() has the rest
    h.arch = Arch::gpt_oss;
    h.rope.style = RopeStyle::neox;
    h.qkv_bias = h.out_bias = true;
  } else {
    bad(g.label(), "architecture '" + arch + "' is not supported (llama, qwen2, qwen3, phi3, gemma2, gemma3, gpt-oss)");
  }
  const auto u = [&](const std::string& key) -> uint32_t {
    const auto v = g.get_uint(arch + "." + key);
    if (!v) bad(g.label(), "metadata '" + arch + "." + key + "' is missing");
    if (*v > 0xffffffffull) bad(g.label(), "metadata '" + arch + "." + key + "' is out of range");
    return static_cast<uint32_t>(*v);
  };
  h.dim = u("embedding_length");
  h.layers = u("block_count");
  // gpt-oss: each expert's size (read_gpt_oss), the dense size is unused.
  h.ffn = h.arch == Arch::gpt_oss ? u("expert_feed_forward_length") : u("feed_forward_length");
  h.heads = u("attention.head_count");
  h.kv_heads = g.has(arch + ".attention.head_count_kv") ? u("attention.head_count_kv") : h.heads;
  h.context = g.has(arch + ".context_length") ? u("context_length") : 0;
  h.head_dim = g.has(arch + ".attention.key_length") ? u("attention.key_length") : (h.heads ? h.dim / h.heads : 0);
  if (g.has(arch + ".attention.value_length") && u("attention.value_length") != h.head_dim)
    bad(g.label(), "attention.value_length differs from attention.key_length: not supported");
  h.rms_eps = static_cast<float>(g.get_float(arch + ".attention.layer_norm_rms_epsilon").value_or(1e-5));
  h.rope.theta = g.get_float(arch + ".rope.freq_base").value_or(10000.0);
  h.rope.rotary_dims = g.has(arch + ".rope.dimension_count") ? u("rope.dimension_count") : h.head_dim;
  if (h.rope.rotary_dims == h.head_dim) h.rope.rotary_dims = 0;
  const auto* tokens = g.get_strings("tokenizer.ggml.tokens");
  h.vocab = g.has(arch + ".vocab_size") ? u("vocab_size") : (tokens ? static_cast<uint32_t>(tokens->size()) : 0);
  return h;
}

// Rows [first, first + n) of a matrix: each row is contiguous in every block
// type, so a fused tensor (phi3's attn_qkv, its gate/up ffn_up) splits in place.
Tensor rows_of(const Tensor& t, uint64_t first, uint64_t n, const std::string& name) {
  const uint64_t row_bytes = ggml_type_bytes(t.type, t.cols);
  return {name, t.type, n, t.cols, t.data.subspan(first * row_bytes, n * row_bytes)};
}

// llama3's rope_freqs, or phi3's LongRoPE short and long factors.
void read_rope_factors(const GgufFile& g, HParams& h, uint32_t rot) {
  const auto factors = [&](const char* name) {
    const Tensor t = vector_f32(g, name, rot / 2);
    std::vector<float> f(rot / 2);
    std::memcpy(f.data(), t.data.data(), rot / 2 * 4);
    return f;
  };
  if (g.find_tensor("rope_freqs.weight")) h.rope.freq_factors = factors("rope_freqs.weight");
  if (g.find_tensor("rope_factors_short.weight")) h.rope.freq_factors = factors("rope_factors_short.weight");
  if (g.find_tensor("rope_factors_long.weight")) h.rope_long_factors = factors("rope_factors_long.weight");
  const std::string a = arch_name(h.arch);
  h.rope_original_context = static_cast<uint32_t>(g.get_uint(a + ".rope.scaling.original_context_length").value_or(0));
  h.rope_attn_factor = static_cast<float>(g.get_float(a + ".rope.scaling.attn_factor").value_or(1.0));
  if (!(h.rope_attn_factor > 0.0f && h.rope_attn_factor < 100.0f)) bad(g.label(), "rope.scaling.attn_factor is out of range");
  if (h.rope_attn_factor != 1.0f && h.rope.rotary_dims)
    bad(g.label(), "rope.scaling.attn_factor with partial rotary dims is not supported");
}

// Gemma 2 and 3 as llama.cpp reads them: the embedding scaled by sqrt(dim), GELU,
// post-norms (the converter stores every norm weight as 1 + w). Gemma 2: every
// other layer slides (the even ones), scores and logits soft-capped. Gemma 3: five
// sliding-window layers of every six with RoPE base 10000, the global layers with
// rope.freq_base and its linear scaling. The softmax scale is attention.scale when
// the file has it, else llama.cpp's rule (query_pre_attn_scalar = dim / heads for
// the 27B models: 46 layers of Gemma 2, 62 of Gemma 3).
void read_gemma(const GgufFile& g, HParams& h) {
  const std::string a = arch_name(h.arch);
  const bool gemma2 = h.arch == Arch::gemma2;
  h.embed_scale = std::sqrt(static_cast<float>(h.dim));
  h.gelu_ffn = h.post_norms = true;
  h.rms_eps = static_cast<float>(g.get_float(a + ".attention.layer_norm_rms_epsilon").value_or(1e-6));
  if (gemma2) {
    h.attn_softcap = static_cast<float>(g.get_float(a + ".attn_logit_softcapping").value_or(50.0));
    h.final_softcap = static_cast<float>(g.get_float(a + ".final_logit_softcapping").value_or(30.0));
    if (!(h.attn_softcap >= 0.0f && h.attn_softcap < 1e6f && h.final_softcap >= 0.0f && h.final_softcap < 1e6f))
      bad(g.label(), "attn_logit_softcapping or final_logit_softcapping is out of range");
  }
  const bool big = h.layers == (gemma2 ? 46u : 62u);
  const double scalar = big ? static_cast<double>(h.dim) / h.heads : h.head_dim;
  h.attn_scale = static_cast<float>(g.get_float(a + ".attention.scale").value_or(1.0 / std::sqrt(scalar)));
  if (!(h.attn_scale > 0.0f && h.attn_scale < 100.0f)) bad(g.label(), "attention.scale is out of range");
  h.rope_sliding = h.rope;
  h.rope_sliding.theta = g.get_float(a + ".rope.freq_base_swa").value_or(gemma2 ? h.rope.theta : 10000.0);
  if (!(h.rope_sliding.theta > 1.0 && h.rope_sliding.theta < 1e12)) bad(g.label(), "rope.freq_base_swa is out of range");
  if (g.get_string(a + ".rope.scaling.type").value_or("none") == "linear") {
    const double f = g.get_float(a + ".rope.scaling.factor").value_or(1.0);
    if (!(f >= 1.0 && f < 1e6)) bad(g.label(), "rope.scaling.factor is out of range");
    const uint32_t rot = h.rope.rotary_dims ? h.rope.rotary_dims : h.head_dim;
    if (f != 1.0) h.rope.freq_factors.assign(rot / 2, static_cast<float>(f));  // positions / f
  }
  h.sliding_window = static_cast<uint32_t>(g.get_uint(a + ".attention.sliding_window").value_or(0));
  const uint64_t pattern = g.get_uint(a + ".attention.sliding_window_pattern").value_or(gemma2 ? 2 : 6);
  if (h.sliding_window == 0) return;
  if (h.sliding_window > (1u << 24) || pattern == 0 || pattern > h.layers)
    bad(g.label(), "attention.sliding_window or its pattern is out of range");
  h.sliding.resize(h.layers);
  for (uint32_t l = 0; l < h.layers; ++l) h.sliding[l] = sliding_in_pattern(l, static_cast<uint32_t>(pattern));
}

// gpt-oss as llama.cpp writes it: experts with biased projections and the
// clamped SwiGLU (alpha 1.702, limit 7: constants in transformers and llama.cpp
// alike), learned sinks, every even layer sliding (llama.cpp's pattern 2), YaRN
// on every layer as transformers computes it (not truncated, as gpt-oss's config
// says; llama.cpp truncates the correction dims).
void read_gpt_oss(const GgufFile& g, HParams& h) {
  const std::string a = arch_name(h.arch);
  const auto count = [&](const std::string& key) -> uint32_t {
    const auto v = g.get_uint(a + "." + key);
    if (!v) bad(g.label(), "metadata '" + a + "." + key + "' is missing");
    return static_cast<uint32_t>(std::min<uint64_t>(*v, 1u << 20));
  };
  h.experts = count("expert_count");
  h.experts_used = count("expert_used_count");
  if (h.experts == 0 || h.experts > 256 || h.experts_used == 0 || h.experts_used > std::min(h.experts, 8u))
    bad(g.label(), "expert_count (1..256) or expert_used_count (1..8, at most expert_count) is out of range");
  h.swiglu_limit = 7.0f;
  h.swiglu_alpha = 1.702f;
  if (g.get_string(a + ".rope.scaling.type").value_or("none") == "yarn") {
    const double factor = g.get_float(a + ".rope.scaling.factor").value_or(1.0);
    const double original = static_cast<double>(g.get_uint(a + ".rope.scaling.original_context_length").value_or(0));
    const double fast = g.get_float(a + ".rope.scaling.yarn_beta_fast").value_or(32.0);
    const double slow = g.get_float(a + ".rope.scaling.yarn_beta_slow").value_or(1.0);
    if (!(factor >= 1.0 && factor < 1e6 && original >= 1.0 && fast > 0.0 && slow > 0.0 && fast < 1e6 && slow < 1e6))
      bad(g.label(), "rope.scaling (factor, original_context_length, yarn_beta_fast/slow) is out of range");
    if (h.rope.rotary_dims) bad(g.label(), "YaRN with partial rotary dims is not supported");
    h.rope.freq_factors = yarn_freq_factors(h.head_dim, h.rope.theta, factor, original, fast, slow, false);
    h.rope_attn_factor *= static_cast<float>(yarn_mscale(factor));
  }
  h.rope_sliding = h.rope;
  h.sliding_window = static_cast<uint32_t>(g.get_uint(a + ".attention.sliding_window").value_or(0));
  if (h.sliding_window == 0) return;
  if (h.sliding_window > (1u << 24)) bad(g.label(), "attention.sliding_window is out of range");
  h.sliding.resize(h.layers);
  for (uint32_t l = 0; l < h.layers; ++l) h.sliding[l] = sliding_in_pattern(l, 2);
}

// gpt-oss's experts: the router, then each projection's experts and biases.
void load_experts(const GgufFile& g, const HParams& h, const std::string& p, LayerWeights& w) {
  const uint64_t e = h.experts;
  w.router = matrix(g, p + "ffn_gate_inp.weight", h.dim, e);
  w.router_b = vector_f32(g, p + "ffn_gate_inp.bias", e);
  w.w_gate = experts_matrix(g, p + "ffn_gate_exps.weight", h.dim, h.ffn, e);
  w.w_up = experts_matrix(g, p + "ffn_up_exps.weight", h.dim, h.ffn, e);
  w.w_down = experts_matrix(g, p + "ffn_down_exps.weight", h.ffn, h.dim, e);
  w.gate_b = f32_matrix(g, p + "ffn_gate_exps.bias", h.ffn, e);
  w.up_b = f32_matrix(g, p + "ffn_up_exps.bias", h.ffn, e);
  w.down_b = f32_matrix(g, p + "ffn_down_exps.bias", h.dim, e);
}

LayerWeights load_layer(const GgufFile& g, const HParams& h, uint32_t l) {
  const uint64_t q_dim = uint64_t{h.heads} * h.head_dim, kv_dim = uint64_t{h.kv_heads} * h.head_dim;
  const std::string p = "blk." + std::to_string(l) + ".";
  LayerWeights w;
  w.attn_norm = vector_f32(g, p + "attn_norm.weight", h.dim);
  if (g.find_tensor(p + "attn_qkv.weight")) {  // phi3: Q, K and V rows one after the other
    const Tensor qkv = matrix(g, p + "attn_qkv.weight", h.dim, q_dim + 2 * kv_dim);
    w.wq = rows_of(qkv, 0, q_dim, p + "attn_qkv.weight (Q rows)");
    w.wk = rows_of(qkv, q_dim, kv_dim, p + "attn_qkv.weight (K rows)");
    w.wv = rows_of(qkv, q_dim + kv_dim, kv_dim, p + "attn_qkv.weight (V rows)");
  } else {
    w.wq = matrix(g, p + "attn_q.weight", h.dim, q_dim);
    w.wk = matrix(g, p + "attn_k.weight", h.dim, kv_dim);
    w.wv = matrix(g, p + "attn_v.weight", h.dim, kv_dim);
  }
  w.wo = matrix(g, p + "attn_output.weight", q_dim, h.dim);
  // gpt-oss names its pre-FFN norm as transformers does (post_attention_layernorm).
  w.ffn_norm = vector_f32(g, p + (h.arch == Arch::gpt_oss ? "post_attention_norm.weight" : "ffn_norm.weight"), h.dim);
  if (h.experts) {
    load_experts(g, h, p, w);
  } else if (h.arch == Arch::phi3 && !g.find_tensor(p + "ffn_gate.weight")) {  // gate rows, then up rows
    const Tensor up = matrix(g, p + "ffn_up.weight", h.dim, 2ull * h.ffn);
    w.w_gate = rows_of(up, 0, h.ffn, p + "ffn_up.weight (gate rows)");
    w.w_up = rows_of(up, h.ffn, h.ffn, p + "ffn_up.weight (up rows)");
  } else {
    w.w_gate = matrix(g, p + "ffn_gate.weight", h.dim, h.ffn);
    w.w_up = matrix(g, p + "ffn_up.weight", h.dim, h.ffn);
  }
  if (!h.experts) w.w_down = matrix(g, p + "ffn_down.weight", h.ffn, h.dim);
  if (h.qkv_bias) {
    w.bq = vector_f32(g, p + "attn_q.bias", q_dim);
    w.bk = vector_f32(g, p + "attn_k.bias", kv_dim);
    w.bv = vector_f32(g, p + "attn_v.bias", kv_dim);
  }
  if (h.qk_norm) {
    w.q_norm = vector_f32(g, p + "attn_q_norm.weight", h.head_dim);
    w.k_norm = vector_f32(g, p + "attn_k_norm.weight", h.head_dim);
  }
  if (h.out_bias) w.bo = vector_f32(g, p + "attn_output.bias", h.dim);
  if (h.post_norms) {
    w.post_attn_norm = vector_f32(g, p + "post_attention_norm.weight", h.dim);
    w.post_ffn_norm = vector_f32(g, p + "post_ffw_norm.weight", h.dim);
  }
  // llama.cpp's name, or the one sinkstream's own learned-sink models used before it.
  for (const char* name : {"attn_sinks.weight", "attn_sinks"})
    if (!w.sinks && g.find_tensor(p + name)) w.sinks = vector_f32(g, p + name, h.heads);
  return w;
}

std::unique_ptr<ModelFile> load_gguf(const std::string& path) {
  auto m = std::make_unique<ModelFile>();
  m->path = path;
  m->format = "gguf";
  m->gguf.emplace(GgufFile::open(path));
  const GgufFile& g = *m->gguf;
  HParams& h = m->hp = gguf_hparams(g);
  check_hparams(path, h);
  if (!(h.rope.theta > 1.0 && h.rope.theta < 1e12)) bad(path, "rope.freq_base is out of range");
  const uint32_t rot = h.rope.rotary_dims ? h.rope.rotary_dims : h.head_dim;
  if (rot % 2 || rot > h.head_dim) bad(path, "rope dimension count is inconsistent with the head dimension");
  read_rope_factors(g, h, rot);
  if (h.arch == Arch::gemma2 || h.arch == Arch::gemma3) read_gemma(g, h);
  if (h.arch == Arch::gpt_oss) read_gpt_oss(g, h);
  m->tok_embd = matrix(g, "token_embd.weight", h.dim, h.vocab);
  m->output_norm = vector_f32(g, "output_norm.weight", h.dim);
  m->tied_output = g.find_tensor("output.weight") == nullptr;
  m->output = m->tied_output ? m->tok_embd : matrix(g, "output.weight", h.dim, h.vocab);
  for (uint32_t l = 0; l < h.layers; ++l) m->layers.push_back(load_layer(g, h, l));
  h.attn_sinks = m->layers[0].sinks.has_value();
  for (const auto& w : m->layers)
    if (w.sinks.has_value() != h.attn_sinks) bad(path, "attn_sinks must be present in every layer or in none");
  return m;
}

// llama2.c legacy checkpoint: 7 int32 header, then F32 weights in a fixed order.
std::unique_ptr<ModelFile> load_llama2c(const std::string& path) {
  auto m = std::make_unique<ModelFile>();
  m->path = path;
  m->format = "llama2.c";
  m->raw.emplace(path);
  const auto bytes = m->raw->bytes();
  int32_t hdr[7];
  if (bytes.size() < sizeof(hdr)) bad(path, "file too short for a llama2.c header (and not a GGUF file)");
  // A llama2.c header is seven small int32s, so it is full of zero bytes; text
  // (a prompt or a README given as --model) has none and is named as such.
  if (std::all_of(bytes.begin(), bytes.begin() + sizeof(hdr), [](uint8_t c) { return c >= 0x20 || c == '\n' || c == '\t' || c == '\r'; }))
    bad(path, "not a GGUF file and not a llama2.c checkpoint: it starts with text, not a model header");
  std::memcpy(hdr, bytes.data(), sizeof(hdr));
  for (int i = 0; i < 7; ++i)
    if (i != 5 && hdr[i] <= 0) bad(path, "not a GGUF file, and not a llama2.c checkpoint (header field " +
                                              std::to_string(i) + " = " + std::to_string(hdr[i]) + ")");
  HParams& h = m->hp;
  h.dim = static_cast<uint32_t>(hdr[0]);
  h.ffn = static_cast<uint32_t>(hdr[1]);
  h.layers = static_cast<uint32_t>(hdr[2]);
  h.heads = static_cast<uint32_t>(hdr[3]);
  h.kv_heads = static_cast<uint32_t>(hdr[4]);
  m->tied_output = hdr[5] > 0;  // a negative vocab size marks an unshared classifier
  if (hdr[5] == 0 || hdr[5] == INT32_MIN) bad(path, "vocabulary size is 0");
  h.vocab = static_cast<uint32_t>(hdr[5] > 0 ? hdr[5] : -hdr[5]);
  h.context = static_cast<uint32_t>(hdr[6]);
  h.head_dim = h.heads ? h.dim / h.heads : 0;
  if (h.head_dim * h.heads != h.dim) bad(path, "dim is not a multiple of the head count");
  check_hparams(path, h);
  if (h.context > (1u << 24)) bad(path, "sequence length is out of range");

  const uint64_t D = h.dim, L = h.layers, F = h.ffn, V = h.vocab, KV = uint64_t{h.kv_heads} * h.head_dim;
  uint64_t at = sizeof(hdr);
  const auto take = [&](const std::string& name, uint64_t rows, uint64_t cols) {
    const uint64_t n = rows * cols * 4;
    if (at > bytes.size() || n > bytes.size() - at) bad(path, "truncated at tensor '" + name + "'");
    Tensor t{name, GgmlType::f32, rows, cols, bytes.subspan(at, n)};
    at += n;
    return t;
  };
  // Per-kind blocks hold all layers; slice them into per-layer tensors.
  const auto per_layer = [&](const std::string& name, uint64_t rows, uint64_t cols) {
    const Tensor all = take(name, L * rows, cols);
    std::vector<Tensor> out;
    for (uint64_t l = 0; l < L; ++l)
      out.push_back({name + "." + std::to_string(l), GgmlType::f32, rows, cols,
                     all.data.subspan(l * rows * cols * 4, rows * cols * 4)});
    return out;
  };
  m->tok_embd = take("token_embedding", V, D);
  const auto rms_att = per_layer("rms_att", 1, D), wq = per_layer("wq", D, D), wk = per_layer("wk", KV, D),
             wv = per_layer("wv", KV, D), wo = per_layer("wo", D, D), rms_ffn = per_layer("rms_ffn", 1, D),
             w1 = per_layer("w1", F, D), w2 = per_layer("w2", D, F), w3 = per_layer("w3", F, D);
  m->output_norm = take("rms_final", 1, D);
  take("freq_cis_real", h.context, h.head_dim / 2);  // unused: RoPE is computed, theta 10000
  take("freq_cis_imag", h.context, h.head_dim / 2);
  m->output = m->tied_output ? m->tok_embd : take("wcls", V, D);
  for (uint64_t l = 0; l < L; ++l)
    m->layers.push_back({rms_att[l], wq[l], wk[l], wv[l], wo[l], rms_ffn[l], w1[l], w3[l], w2[l], {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}});
  return m;
}

}  // namespace

std::vector<float> yarn_freq_factors(uint32_t rotary_dims, double theta, double factor, double original_context,
                                     double beta_fast, double beta_slow, bool truncate) {
  const double pi = 3.14159265358979323846;
  const auto correction_dim = [&](double rotations) {
    return rotary_dims * std::log(original_context / (rotations * 2 * pi)) / (2 * std::log(theta));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, rotary_dims - 1.0);
  if (low == high) high += 0.001;  // transformers' guard against a zero-width ramp
  std::vector<float> f(rotary_dims / 2);
  for (uint32_t i = 0; i < f.size(); ++i) {
    const double extrapolated = 1.0 - std::clamp((i - low) / (high - low), 0.0, 1.0);
    f[i] = static_cast<float>(1.0 / ((1.0 - extrapolated) / factor + extrapolated));
  }
  return f;
}

uint32_t HParams::sliding_layers() const {
  return static_cast<uint32_t>(std::count(sliding.begin(), sliding.end(), uint8_t{1}));
}

// The types the CPU decodes and the GPU kernels read (weights.glsl).
bool supported_weight_type(GgmlType t) { return can_dequantize(t); }

uint64_t ModelFile::weight_bytes() const {
  uint64_t n = tok_embd.data.size() + output_norm.data.size() + (tied_output ? 0 : output.data.size());
  for (const auto& w : layers) {
    for (const Tensor* t : w.tensors()) n += t->data.size();
    for (const auto* t : w.optional_tensors())
      if (*t) n += (*t)->data.size();
  }
  return n;
}

uint64_t ModelFile::active_weight_bytes() const {
  if (!hp.experts) return weight_bytes();
  uint64_t experts = 0;
  for (const auto& w : layers) experts += w.w_gate.data.size() + w.w_up.data.size() + w.w_down.data.size();
  return weight_bytes() - experts + experts / hp.experts * hp.experts_used;
}

std::unique_ptr<ModelFile> load_model(const std::string& path) {
  char magic[4] = {};
  {
    MappedFile probe(path);
    const auto b = probe.bytes();
    if (b.size() >= 4) std::memcpy(magic, b.data(), 4);
  }
  return std::memcmp(magic, "GGUF", 4) == 0 ? load_gguf(path) : load_llama2c(path);
}

}  // namespace sinkstream::model
