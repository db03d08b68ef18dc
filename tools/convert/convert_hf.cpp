// sinkstream-convert: a Hugging Face checkpoint folder (config.json +
// *.safetensors + tokenizer.json) to a GGUF file with llama.cpp's metadata and
// tensor names, for the families sinkstream runs (llama, qwen2, qwen3, phi3,
// gemma2, gemma3's text model).
//   sinkstream-convert DIR --out MODEL.gguf [--type f16] [--placeholder-vocab]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "format/model_file.hpp"
#include "format/quant_types.hpp"
#include "hf_model.hpp"
#include "sinkstream/error.hpp"
#include "testing/quantize.hpp"
#include "testing/synthetic.hpp"

namespace sinkstream::convert {
namespace {

struct Shape {
  std::string arch;  // llama, qwen2, qwen3, phi3, gemma2 or gemma3
  uint32_t dim = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, vocab = 0, context = 0;
  float eps = 1e-6f, theta = 10000.0f;
  uint32_t rotary_dims = 0;
  bool tied = false;
};

uint32_t u32(const nlohmann::json& c, const char* key) {
  if (!c.contains(key) || !c[key].is_number_integer())
    throw InvalidArgument(std::string("config.json: '") + key + "' is missing or not an integer");
  return c[key].get<uint32_t>();
}

Shape read_shape(const nlohmann::json& c) {
  Shape s;
  s.arch = c.value("model_type", "");
  if (s.arch == "gemma3_text") s.arch = "gemma3";  // Gemma3ForCausalLM; the multimodal checkpoint nests it
  if (s.arch == "gpt_oss") s.arch = "gpt-oss";      // llama.cpp's name
  if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "qwen3" && s.arch != "phi3" && s.arch != "gemma2" &&
      s.arch != "gemma3" && s.arch != "gpt-oss")
    throw InvalidArgument("config.json: model_type '" + s.arch +
                          "' is not converted (llama, qwen2, qwen3, phi3, gemma2, gemma3_text, gpt_oss)");
  s.dim = u32(c, "hidden_size");
  s.layers = u32(c, "num_hidden_layers");
  s.heads = u32(c, "num_attention_heads");
  s.kv_heads = c.contains("num_key_value_heads") ? u32(c, "num_key_value_heads") : s.heads;
  s.head_dim = c.contains("head_dim") && !c["head_dim"].is_null() ? u32(c, "head_dim") : s.dim / s.heads;
  s.ffn = u32(c, "intermediate_size");
  s.vocab = u32(c, "vocab_size");
  s.context = c.contains("max_position_embeddings") ? u32(c, "max_position_embeddings") : 0;
  s.eps = c.value("rms_norm_eps", 1e-6f);
  // transformers 5 moved rope_theta (and rope_scaling) into rope_parameters.
  const auto& rp = c.value("rope_parameters", nlohmann::json());
  const auto& full = rp.is_object() && rp.contains("full_attention") ? rp["full_attention"] : rp;  // gemma3, per layer type
  s.theta = full.is_object() && full.contains("rope_theta") ? full["rope_theta"].get<float>() : c.value("rope_theta", 10000.0f);
  const bool gemma = s.arch == "gemma2" || s.arch == "gemma3";
  s.tied = c.value("tie_word_embeddings", gemma);  // Gemma's configs tie by default
  s.rotary_dims = static_cast<uint32_t>(std::lround(s.head_dim * c.value("partial_rotary_factor", 1.0)));
  if (c.value("attention_bias", false) && s.arch != "qwen2" && s.arch != "gpt-oss")
    throw InvalidArgument("config.json: attention_bias is not supported for " + s.arch);
  if (c.value("use_sliding_window", false))
    throw InvalidArgument("config.json: use_sliding_window is on: sliding-window layers are not converted yet");
  return s;
}

// llama3's rope_scaling as llama.cpp's converter writes it: a divisor per
// rotary frequency (rope_freqs.weight).
std::vector<float> llama3_freq_factors(const nlohmann::json& rs, const Shape& s) {
  const double factor = rs.value("factor", 8.0), lo = rs.value("low_freq_factor", 1.0),
               hi = rs.value("high_freq_factor", 4.0), old_ctx = rs.value("original_max_position_embeddings", 8192.0);
  const double lo_wavelen = old_ctx / lo, hi_wavelen = old_ctx / hi;
  std::vector<float> out;
  for (uint32_t i = 0; i < s.head_dim; i += 2) {
    const double freq = 1.0 / std::pow(static_cast<double>(s.theta), static_cast<double>(i) / s.head_dim);
    const double wavelen = 2.0 * M_PI / freq;
    if (wavelen < hi_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > lo_wavelen) {
      out.push_back(static_cast<float>(factor));
    } else {
      const double smooth = (old_ctx / wavelen - lo) / (hi - lo);
      out.push_back(static_cast<float>(1.0 / ((1.0 - smooth) / factor + smooth)));
    }
  }
  return out;
}

// phi3's LongRoPE as transformers computes it: short and long divisors of the
// frequencies, the original context that picks between them, and the factor
// cos and sin are scaled by.
void add_longrope(model::GgufWriter& w, const Shape& s, const nlohmann::json& c, const nlohmann::json& rs) {
  const double original = rs.value("original_max_position_embeddings",
                                   c.value("original_max_position_embeddings", static_cast<double>(s.context)));
  const double factor = s.context / original;
  double attn = factor <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(factor) / std::log(original));
  if (rs.contains("attention_factor") && rs["attention_factor"].is_number()) attn = rs["attention_factor"].get<double>();
  for (const char* which : {"short", "long"}) {
    const auto f = rs.at(std::string(which) + "_factor").get<std::vector<float>>();
    if (f.size() != s.rotary_dims / 2) throw InvalidArgument(std::string("config.json: ") + which + "_factor has the wrong length");
    w.add_tensor(std::string("rope_factors_") + which + ".weight", {f.size()}, model::GgmlType::f32,
                 [f] { return model::quantize(f, model::GgmlType::f32); });
  }
  w.add(s.arch + ".rope.scaling.original_context_length", static_cast<uint32_t>(original));
  w.add(s.arch + ".rope.scaling.attn_factor", static_cast<float>(attn));
}

// Gemma 2 and 3: which layers slide (layer_types, or every sliding_window_pattern-th
// is global: 2 for Gemma 2, 6 for Gemma 3), the softmax scale from
// query_pre_attn_scalar; Gemma 2's soft-caps; Gemma 3's local RoPE base and its
// global layers' linear RoPE scaling; under the keys sinkstream reads.
void add_gemma(model::GgufWriter& w, const Shape& s, const nlohmann::json& c) {
  const std::string a = s.arch;
  const bool gemma2 = a == "gemma2";
  uint32_t pattern = c.value("sliding_window_pattern", gemma2 ? 2u : 6u);
  if (c.contains("layer_types") && c["layer_types"].is_array()) {
    const auto& types = c["layer_types"];
    pattern = 0;
    for (uint32_t l = 0; l < types.size() && !pattern; ++l) pattern = types[l] == "full_attention" ? l + 1 : 0;
    for (uint32_t l = 0; l < types.size(); ++l)
      if (pattern == 0 || (types[l] == "sliding_attention") != model::sliding_in_pattern(l, pattern))
        throw InvalidArgument("config.json: layer_types is not a repeating run of sliding layers ending in a full one");
  }
  w.add(a + ".attention.sliding_window", u32(c, "sliding_window"));
  w.add(a + ".attention.sliding_window_pattern", pattern);
  w.add(a + ".attention.scale", static_cast<float>(1.0 / std::sqrt(c.value("query_pre_attn_scalar", 256.0))));
  if (gemma2) {  // null: no capping
    const auto cap = [&](const char* k, float d) { return c.contains(k) ? c[k].is_null() ? 0.0f : c[k].get<float>() : d; };
    w.add(a + ".attn_logit_softcapping", cap("attn_logit_softcapping", 50.0f));
    w.add(a + ".final_logit_softcapping", cap("final_logit_softcapping", 30.0f));
    return;
  }
  const auto& rp = c.value("rope_parameters", nlohmann::json());
  const bool per_type = rp.is_object() && rp.contains("sliding_attention");
  w.add(a + ".rope.freq_base_swa", per_type ? rp["sliding_attention"].value("rope_theta", 10000.0f)
                                            : c.value("rope_local_base_freq", 10000.0f));
  const auto& rs = per_type ? rp.value("full_attention", nlohmann::json()) : c.value("rope_scaling", nlohmann::json());
  const std::string type = rs.is_object() ? rs.value("rope_type", rs.value("type", "default")) : "default";
  if (type == "linear") {
    w.add(a + ".rope.scaling.type", std::string("linear"));
    w.add(a + ".rope.scaling.factor", rs.value("factor", 1.0f));
  } else if (type != "default") {
    throw InvalidArgument("config.json: gemma3's rope scaling '" + type + "' is not converted (linear)");
  }
  for (const char* cap : {"final_logit_softcapping", "attn_logit_softcapping"})
    if (c.contains(cap) && !c[cap].is_null()) throw InvalidArgument(std::string("config.json: gemma3 with ") + cap + " is not converted");
}

void add_metadata(model::GgufWriter& w, const Shape& s, const nlohmann::json& c) {
  model::GgufShape g{s.arch, c.value("_name_or_path", std::string("converted by sinkstream-convert")),
                     s.context, s.dim, s.layers, s.ffn, s.heads, s.kv_heads, s.head_dim, s.rotary_dims};
  g.rope_theta = s.theta;
  g.rms_eps = s.eps;
  model::add_shape_metadata(w, g);
  w.add(s.arch + ".vocab_size", s.vocab);
}

// gpt-oss's experts, sliding layers and YaRN under llama.cpp's keys. The loader
// knows gpt-oss's layer pattern (the even layers slide) and YaRN as transformers
// computes it with truncate off, as gpt-oss's config has it: others are refused.
void add_gpt_oss(model::GgufWriter& w, const Shape& s, const nlohmann::json& c, const nlohmann::json& rs) {
  const std::string a = s.arch;
  w.add(a + ".expert_count", u32(c, "num_local_experts"));
  w.add(a + ".expert_used_count", u32(c, "num_experts_per_tok"));
  w.add(a + ".expert_feed_forward_length", s.ffn);
  if (c.value("swiglu_limit", 7.0) != 7.0) throw InvalidArgument("config.json: gpt-oss with swiglu_limit != 7 is not converted");
  const auto types = c.value("layer_types", nlohmann::json::array());
  for (uint32_t l = 0; l < types.size(); ++l)
    if ((types[l] == "sliding_attention") != model::sliding_in_pattern(l, 2))
      throw InvalidArgument("config.json: layer_types differ from gpt-oss's (the even layers sliding): not converted");
  w.add(a + ".attention.sliding_window", u32(c, "sliding_window"));
  if (!rs.is_object()) return;
  if (rs.value("rope_type", rs.value("type", "")) != "yarn" || rs.value("truncate", true) ||
      rs.contains("mscale") || rs.contains("mscale_all_dim") || rs.contains("attention_factor"))
    throw InvalidArgument("config.json: gpt-oss's rope_scaling '" + rs.dump() +
                          "' is not converted (yarn with truncate false, no mscale or attention_factor)");
  w.add(a + ".rope.scaling.type", std::string("yarn"));
  w.add(a + ".rope.scaling.factor", rs.value("factor", 1.0f));
  w.add(a + ".rope.scaling.original_context_length", rs.value("original_max_position_embeddings", s.context));
  w.add(a + ".rope.scaling.yarn_beta_fast", rs.value("beta_fast", 32.0f));
  w.add(a + ".rope.scaling.yarn_beta_slow", rs.value("beta_slow", 1.0f));
}

// One MXFP4 block as OpenAI's checkpoints store it (a scale byte beside 16 bytes
// whose element i is the low nibble of byte i / 2 for even i, the high one for
// odd i) in ggml's layout: the scale, then byte j holding elements j and j + 16.
// The scale byte and the 4-bit codes mean the same in both (ggml doubles its
// level table and halves its scale).
void mxfp4_block(uint8_t scale, const uint8_t* q, uint8_t* out) {
  const auto element = [&](int i) { return (q[i / 2] >> (4 * (i % 2))) & 0xf; };
  out[0] = scale;
  for (int j = 0; j < 16; ++j) out[1 + j] = static_cast<uint8_t>(element(j) | element(j + 16) << 4);
}

// Hugging Face's Llama q/k rows are ordered for rotate_half (NeoX); llama.cpp's
// `llama` architecture rotates adjacent pairs, so its converter interleaves the
// two halves of every head: out row (h, i, j) = in row (h, j, i).
std::vector<float> interleave_halves(const std::vector<float>& x, uint32_t heads, uint64_t cols) {
  const uint64_t rows = x.size() / cols, hd = rows / heads;
  std::vector<float> out(x.size());
  for (uint64_t h = 0; h < heads; ++h)
    for (uint64_t i = 0; i < hd / 2; ++i)
      for (uint64_t j = 0; j < 2; ++j)
        std::memcpy(&out[(h * hd + i * 2 + j) * cols], &x[(h * hd + j * (hd / 2) + i) * cols], cols * 4);
  return out;
}

struct Converter {
  const HfCheckpoint& ck;
  const Shape& s;
  model::GgmlType type;
  model::GgufWriter& w;

  // The type of weight rows of `cols` values: `type`, or F32 where they do not
  // fit its blocks.
  model::GgmlType row_type(uint64_t cols) const {
    return cols % model::block_weights(type) ? model::GgmlType::f32 : type;
  }
  // A weight matrix in row_type() (F32 where `keep_f32` says so).
  void matrix(const std::string& hf, const std::string& gguf, uint32_t permute_heads = 0, bool keep_f32 = false) {
    const HfTensor& t = ck.tensor(hf);
    if (t.shape.size() != 2) throw InvalidArgument("tensor '" + hf + "' is not a matrix");
    const uint64_t rows = t.shape[0], cols = t.shape[1];
    const model::GgmlType ty = keep_f32 ? model::GgmlType::f32 : row_type(cols);
    w.add_tensor(gguf, {cols, rows}, ty, [this, hf, cols, ty, permute_heads] {
      auto x = ck.floats(hf);
      if (permute_heads) x = interleave_halves(x, permute_heads, cols);
      return model::quantize(x, ty);
    });
  }
  // plus_one: Gemma's RMSNorm multiplies by 1 + w; llama.cpp's converter stores 1 + w.
  void vector(const std::string& hf, const std::string& gguf, bool plus_one = false) {
    const HfTensor& t = ck.tensor(hf);
    w.add_tensor(gguf, {t.data.size() / (t.dtype == "F32" ? 4 : 2)}, model::GgmlType::f32, [this, hf, plus_one] {
      auto x = ck.floats(hf);
      if (plus_one)
        for (float& v : x) v += 1.0f;
      return model::quantize(x, model::GgmlType::f32);
    });
  }
  // gpt-oss's FFN: the router, each projection's experts (transformers' floats or
  // OpenAI's MXFP4 blocks), then their biases, gate and up interleaved in one
  // (expert, 2 ffn) tensor as the gate and up rows are.
  void experts(const std::string& h, const std::string& g) {
    const std::string gu = h + "mlp.experts.gate_up_proj", dn = h + "mlp.experts.down_proj";
    // The router stays F32, as llama.cpp's quantiser keeps it: its scores pick the
    // experts, and rounding them flips choices.
    matrix(h + "mlp.router.weight", g + "ffn_gate_inp.weight", 0, true);
    vector(h + "mlp.router.bias", g + "ffn_gate_inp.bias");
    const bool mxfp4 = ck.has(gu + "_blocks");
    for (const auto& [name, hf, stride, first] : {std::tuple{"ffn_gate_exps.weight", gu, 2, 0},
                                                  std::tuple{"ffn_up_exps.weight", gu, 2, 1},
                                                  std::tuple{"ffn_down_exps.weight", dn, 1, 0}}) {
      if (mxfp4)
        mxfp4_experts(g + name, hf, stride, first);
      else
        float_experts(g + name, hf, stride, first);
    }
    const HfTensor &gb = ck.tensor(gu + "_bias"), &db = ck.tensor(dn + "_bias");
    if (gb.shape.size() != 2 || db.shape.size() != 2 || gb.shape[1] % 2 || gb.shape[0] != db.shape[0])
      throw InvalidArgument("'" + gu + "_bias' and '" + dn + "_bias' are not (experts, 2 ffn) and (experts, dim)");
    const uint64_t e = gb.shape[0];
    const auto biases = [&](const std::string& name, const std::string& hf, uint64_t n, uint64_t stride, uint64_t first) {
      w.add_tensor(name, {n, e}, model::GgmlType::f32, [this, hf, n, stride, first, e] {
        const auto x = ck.floats(hf);  // (expert, n * stride)
        std::vector<float> out(e * n);
        for (uint64_t i = 0; i < e * n; ++i) out[i] = x[(i / n) * n * stride + (i % n) * stride + first];
        return model::quantize(out, model::GgmlType::f32);
      });
    };
    biases(g + "ffn_gate_exps.bias", gu + "_bias", gb.shape[1] / 2, 2, 0);
    biases(g + "ffn_up_exps.bias", gu + "_bias", gb.shape[1] / 2, 2, 1);
    biases(g + "ffn_down_exps.bias", dn + "_bias", db.shape[1], 1, 0);
  }
  // One projection's experts from transformers' floats, which keep each expert's
  // product as x @ W ((expert, cols, rows * stride): gate_up_proj's gate and up
  // columns interleaved, stride 2); GGUF wants rows of outputs, in `type`.
  void float_experts(const std::string& name, const std::string& hf, uint64_t stride, uint64_t first) {
    const HfTensor& t = ck.tensor(hf);
    if (t.shape.size() != 3 || t.shape[2] % stride) throw InvalidArgument("tensor '" + hf + "' is not (experts, in, out)");
    const uint64_t e = t.shape[0], cols = t.shape[1], rows = t.shape[2] / stride;
    const model::GgmlType ty = row_type(cols);
    w.add_tensor(name, {cols, rows, e}, ty, [this, hf, rows, cols, stride, first, e, ty] {
      const auto x = ck.floats(hf);
      std::vector<float> out(e * rows * cols);  // (expert, row, col)
      for (uint64_t i = 0; i < e; ++i)
        for (uint64_t r = 0; r < rows; ++r)
          for (uint64_t k = 0; k < cols; ++k)
            out[(i * rows + r) * cols + k] = x[(i * cols + k) * rows * stride + r * stride + first];
      return model::quantize(out, ty);
    });
  }
  // One projection's experts as OpenAI releases them, already MXFP4 (blocks
  // (expert, rows * stride, blocks, 16) and scales (expert, rows * stride,
  // blocks), U8; gate and up rows interleaved). Re-laid, never re-quantised: the
  // GGUF holds the checkpoint's own values, as llama.cpp's converter does.
  void mxfp4_experts(const std::string& name, const std::string& hf, uint64_t stride, uint64_t first) {
    const auto shape = [&](const std::string& n, size_t dims) -> const HfTensor& {
      const HfTensor& t = ck.tensor(n);
      if (t.dtype != "U8" || t.shape.size() != dims || (dims == 4 && t.shape[3] != 16))
        throw InvalidArgument("tensor '" + n + "' is not gpt-oss's MXFP4 layout (U8, (experts, rows, blocks[, 16]))");
      return t;
    };
    const HfTensor& b = shape(hf + "_blocks", 4);
    const HfTensor& sc = shape(hf + "_scales", 3);
    const uint64_t e = b.shape[0], rows = b.shape[1] / stride, blocks = b.shape[2];
    if (sc.shape != std::vector<uint64_t>{e, b.shape[1], blocks})
      throw InvalidArgument("tensor '" + hf + "_scales' does not match '" + hf + "_blocks'");
    w.add_tensor(name, {blocks * 32, rows, e}, model::GgmlType::mxfp4, [&b, &sc, e, rows, blocks, stride, first] {
      std::vector<uint8_t> out(e * rows * blocks * 17);  // (expert, row, block) of 17 bytes
      for (uint64_t i = 0; i < e; ++i)
        for (uint64_t r = 0; r < rows; ++r)
          for (uint64_t k = 0; k < blocks; ++k) {
            const uint64_t src = (i * rows * stride + r * stride + first) * blocks + k;
            mxfp4_block(sc.data[src], &b.data[src * 16], &out[((i * rows + r) * blocks + k) * 17]);
          }
      return out;
    });
  }
  void layer(uint32_t l) {
    const std::string h = "model.layers." + std::to_string(l) + ".", g = "blk." + std::to_string(l) + ".";
    const bool llama = s.arch == "llama", gemma = s.arch == "gemma2" || s.arch == "gemma3";
    vector(h + "input_layernorm.weight", g + "attn_norm.weight", gemma);
    if (s.arch == "phi3") {
      matrix(h + "self_attn.qkv_proj.weight", g + "attn_qkv.weight");
    } else {
      matrix(h + "self_attn.q_proj.weight", g + "attn_q.weight", llama ? s.heads : 0);
      matrix(h + "self_attn.k_proj.weight", g + "attn_k.weight", llama ? s.kv_heads : 0);
      matrix(h + "self_attn.v_proj.weight", g + "attn_v.weight");
    }
    matrix(h + "self_attn.o_proj.weight", g + "attn_output.weight");
    for (const char* b : {"q", "k", "v"})
      if (ck.has(h + "self_attn." + b + "_proj.bias"))
        vector(h + "self_attn." + b + "_proj.bias", g + "attn_" + b + ".bias");
    if (s.arch == "gpt-oss") {  // output bias, sink logits, the experts
      vector(h + "self_attn.o_proj.bias", g + "attn_output.bias");
      vector(h + "self_attn.sinks", g + "attn_sinks.weight");
      vector(h + "post_attention_layernorm.weight", g + "post_attention_norm.weight");
      return experts(h, g);
    }
    if (s.arch == "qwen3" || s.arch == "gemma3") {
      vector(h + "self_attn.q_norm.weight", g + "attn_q_norm.weight", gemma);
      vector(h + "self_attn.k_norm.weight", g + "attn_k_norm.weight", gemma);
    }
    if (gemma) {  // norms before and after the attention and the FFN
      vector(h + "post_attention_layernorm.weight", g + "post_attention_norm.weight", true);
      vector(h + "pre_feedforward_layernorm.weight", g + "ffn_norm.weight", true);
      vector(h + "post_feedforward_layernorm.weight", g + "post_ffw_norm.weight", true);
    } else {
      vector(h + "post_attention_layernorm.weight", g + "ffn_norm.weight");
    }
    if (s.arch == "phi3") {  // gate rows then up rows, as llama.cpp's phi3 reads ffn_up
      matrix(h + "mlp.gate_up_proj.weight", g + "ffn_up.weight");
    } else {
      matrix(h + "mlp.gate_proj.weight", g + "ffn_gate.weight");
      matrix(h + "mlp.up_proj.weight", g + "ffn_up.weight");
    }
    matrix(h + "mlp.down_proj.weight", g + "ffn_down.weight");
  }
};

void convert(const std::string& dir, const std::string& out, const std::string& type_name, bool placeholder) {
  const HfCheckpoint ck(dir);
  const Shape s = read_shape(ck.config());
  model::SyntheticSpec parsed;
  model::set_synthetic_type(parsed, type_name);
  if (!parsed.mix.empty()) throw InvalidArgument("--type takes one weight type, not the mix '" + type_name + "'");
  model::GgufWriter w;
  add_metadata(w, s, ck.config());
  add_tokenizer(w, ck, s.arch == "llama" ? "llama-bpe" : s.arch == "gpt-oss" ? "gpt-4o" : "qwen2", s.vocab, placeholder);
  Converter c{ck, s, parsed.type, w};
  c.matrix("model.embed_tokens.weight", "token_embd.weight");
  auto rs = ck.config().value("rope_scaling", nlohmann::json());
  if (rs.is_null()) rs = ck.config().value("rope_parameters", nlohmann::json());
  if (s.arch == "gemma2" || s.arch == "gemma3") {
    add_gemma(w, s, ck.config());
    rs = nullptr;
  }
  if (rs.is_object() && rs.value("rope_type", rs.value("type", "default")) == "default") rs = nullptr;
  if (s.arch == "gpt-oss") {
    add_gpt_oss(w, s, ck.config(), rs);
    rs = nullptr;
  }
  const std::string rope_type = rs.is_object() ? rs.value("rope_type", rs.value("type", "")) : "";
  if (rope_type == "llama3") {
    const auto f = llama3_freq_factors(rs, s);
    w.add_tensor("rope_freqs.weight", {f.size()}, model::GgmlType::f32, [f] { return model::quantize(f, model::GgmlType::f32); });
  } else if (rope_type == "longrope" || rope_type == "su") {
    add_longrope(w, s, ck.config(), rs);
  } else if (rs.is_object()) {
    throw InvalidArgument("config.json: rope_scaling '" + rs.dump() + "' is not converted (llama3, longrope)");
  }
  for (uint32_t l = 0; l < s.layers; ++l) c.layer(l);
  c.vector("model.norm.weight", "output_norm.weight", s.arch == "gemma2" || s.arch == "gemma3");
  if (!s.tied) c.matrix("lm_head.weight", "output.weight");
  w.write(out);
  std::printf("wrote %s (%s, %u layers, %s)\n", out.c_str(), s.arch.c_str(), s.layers, type_name.c_str());
}

}  // namespace
}  // namespace sinkstream::convert

int main(int argc, char** argv) {
  std::string dir, out, type = "f16";
  bool placeholder = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw sinkstream::InvalidArgument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--out") out = value();
      else if (a == "--type") type = value();
      else if (a == "--placeholder-vocab") placeholder = true;
      else if (a == "--help" || a == "-h") dir.clear(), out.clear(), i = argc;
      else if (!a.empty() && a[0] != '-' && dir.empty()) dir = a;
      else throw sinkstream::InvalidArgument("unknown argument '" + a + "'");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 2;
    }
  }
  if (dir.empty() || out.empty()) {
    std::fprintf(stderr,
                 "usage: sinkstream-convert DIR --out MODEL.gguf [--type TYPE] [--placeholder-vocab]\n"
                 "  DIR: a Hugging Face checkpoint (config.json, *.safetensors, tokenizer.json,\n"
                 "       tokenizer_config.json) of model_type llama, qwen2, qwen3, phi3, gemma2 or\n"
                 "       gemma3_text (byte-level BPE tokenizers; gemma's needs --placeholder-vocab)\n"
                 "  TYPE: the weight matrices' type, as sinkstream-synth takes it (f16; f32, bf16,\n"
                 "        q8_0, q4_0, ...); norms and biases stay F32\n"
                 "  --placeholder-vocab: numbered tokens when there is no tokenizer.json (test models)\n");
    return 2;
  }
  try {
    sinkstream::convert::convert(dir, out, type, placeholder);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
