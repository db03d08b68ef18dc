// sinkstream-convert: a Hugging Face checkpoint written from a synthetic GGUF
// (tensor names, PyTorch shapes, Llama's rotate_half row order, config.json)
// converts back to the same tensors, bit for bit, and the same shapes. The
// numerics against transformers itself are tools/hf/compare_transformers.py's
// (device tool) and the committed references' (test_families.cpp).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "format/model_file.hpp"
#include "text/tokenizer.hpp"
#include "text/vocab.hpp"
#include "gpu_fixture.hpp"
#include "testing/synthetic.hpp"

namespace sinkstream::test {
namespace {

namespace fs = std::filesystem;

// GGUF row (h, i, j) of a Llama q/k matrix is Hugging Face's row (h, j, i).
std::vector<uint8_t> hf_row_order(const model::Tensor& t, uint32_t heads) {
  const uint64_t hd = t.rows / heads, row = t.cols * 4;
  std::vector<uint8_t> out(t.data.size());
  for (uint64_t h = 0; h < heads; ++h)
    for (uint64_t i = 0; i < hd / 2; ++i)
      for (uint64_t j = 0; j < 2; ++j)
        std::memcpy(&out[(h * hd + j * (hd / 2) + i) * row], &t.data[(h * hd + i * 2 + j) * row], row);
  return out;
}

// The rows from `first`'s to `last`'s, which are views of one tensor.
model::Tensor joined(const model::Tensor& first, const model::Tensor& last) {
  model::Tensor t = first;
  const uint8_t* end = last.data.data() + last.data.size();
  t.data = {first.data.data(), static_cast<size_t>(end - first.data.data())};
  t.rows = t.data.size() / (t.cols * 4);
  return t;
}

// Writes `m` (F32 tensors) as DIR/config.json + DIR/model.safetensors.
void write_hf(const model::ModelFile& m, const std::string& arch, const std::string& dir) {
  fs::create_directories(dir);
  const auto& h = m.hp;
  std::vector<std::pair<std::string, std::vector<uint8_t>>> ts;
  nlohmann::json header;
  const bool gemma = arch == "gemma3_text" || arch == "gemma2";
  const auto put = [&](const std::string& name, const model::Tensor& t, uint32_t permute_heads = 0) {
    REQUIRE(t.type == model::GgmlType::f32);
    std::vector<uint8_t> bytes = permute_heads ? hf_row_order(t, permute_heads)
                                               : std::vector<uint8_t>(t.data.begin(), t.data.end());
    if (gemma && name.find("norm") != std::string::npos)  // Gemma's RMSNorm weight w stands for 1 + w (exact near 1)
      for (size_t i = 0; i < bytes.size(); i += 4) {
        float f;
        std::memcpy(&f, &bytes[i], 4);
        f -= 1.0f;
        std::memcpy(&bytes[i], &f, 4);
      }
    ts.emplace_back(name, std::move(bytes));
    header[name]["shape"] = t.rows == 1 ? std::vector<uint64_t>{t.cols} : std::vector<uint64_t>{t.rows, t.cols};
  };
  const auto put_floats = [&](const std::string& name, const std::vector<float>& x, std::vector<uint64_t> shape) {
    std::vector<uint8_t> bytes(x.size() * 4);
    std::memcpy(bytes.data(), x.data(), bytes.size());
    ts.emplace_back(name, std::move(bytes));
    header[name]["shape"] = shape;
  };
  const auto floats = [](const model::Tensor& t) {
    std::vector<float> x(t.data.size() / 4);
    std::memcpy(x.data(), t.data.data(), t.data.size());
    return x;
  };
  std::set<std::string> bytes_tensors;  // U8, the others F32
  // MXFP4 experts as OpenAI releases them: per row, blocks of 16 bytes whose element
  // i is byte i / 2's low (even i) or high nibble, and a scale byte per block.
  const auto put_mxfp4 = [&](const model::Tensor& t, uint64_t rows, uint64_t stride,
                             uint64_t first, std::vector<uint8_t>& blocks, std::vector<uint8_t>& scales) {
    const uint64_t e = h.experts, nb = t.cols / 32;
    blocks.resize(e * rows * stride * nb * 16);
    scales.resize(e * rows * stride * nb);
    for (uint64_t i = 0; i < e; ++i)
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t k = 0; k < nb; ++k) {
          const uint8_t* src = &t.data[((i * rows + r) * nb + k) * 17];  // ggml: scale, then j | j + 16
          const uint64_t dst = (i * rows * stride + r * stride + first) * nb + k;
          scales[dst] = src[0];
          const auto element = [&](int j) { return (src[1 + j % 16] >> (j < 16 ? 0 : 4)) & 0xf; };
          for (int b = 0; b < 16; ++b) blocks[dst * 16 + b] = static_cast<uint8_t>(element(2 * b) | element(2 * b + 1) << 4);
        }
  };
  // gpt-oss's experts: as OpenAI releases them (MXFP4), or as transformers keeps
  // them (x @ W, gate and up columns interleaved); their biases interleaved alike.
  const auto put_experts = [&](const std::string& p, const model::LayerWeights& w) {
    const uint64_t e = h.experts, f = h.ffn, d = h.dim;
    const std::string gu = p + "mlp.experts.gate_up_proj", dn = p + "mlp.experts.down_proj";
    if (w.w_gate.type == model::GgmlType::mxfp4) {
      std::vector<uint8_t> gub, gus, db, ds;
      put_mxfp4(w.w_gate, f, 2, 0, gub, gus);
      put_mxfp4(w.w_up, f, 2, 1, gub, gus);
      put_mxfp4(w.w_down, d, 1, 0, db, ds);
      for (auto [name, bytes, shape] : {std::tuple{gu + "_blocks", gub, std::vector<uint64_t>{e, 2 * f, d / 32, 16}},
                                        std::tuple{gu + "_scales", gus, std::vector<uint64_t>{e, 2 * f, d / 32}},
                                        std::tuple{dn + "_blocks", db, std::vector<uint64_t>{e, d, f / 32, 16}},
                                        std::tuple{dn + "_scales", ds, std::vector<uint64_t>{e, d, f / 32}}}) {
        ts.emplace_back(name, bytes);
        header[name]["shape"] = shape;
        bytes_tensors.insert(name);
      }
    } else {
      const auto gate = floats(w.w_gate), up = floats(w.w_up), down = floats(w.w_down);
      std::vector<float> gup(e * d * 2 * f), dnp(e * f * d);
      for (uint64_t i = 0; i < e; ++i)
        for (uint64_t r = 0; r < f; ++r)
          for (uint64_t k = 0; k < d; ++k) {
            gup[(i * d + k) * 2 * f + 2 * r] = gate[(i * f + r) * d + k];
            gup[(i * d + k) * 2 * f + 2 * r + 1] = up[(i * f + r) * d + k];
            dnp[(i * f + r) * d + k] = down[(i * d + k) * f + r];
          }
      put_floats(gu, gup, {e, d, 2 * f});
      put_floats(dn, dnp, {e, f, d});
    }
    const auto gb = floats(*w.gate_b), ub = floats(*w.up_b);
    std::vector<float> gub(e * 2 * f);
    for (uint64_t i = 0; i < e * f; ++i) {
      gub[2 * i] = gb[i];
      gub[2 * i + 1] = ub[i];
    }
    put_floats(gu + "_bias", gub, {e, 2 * f});
    put_floats(dn + "_bias", floats(*w.down_b), {e, d});
    put(p + "mlp.router.weight", *w.router);
    put(p + "mlp.router.bias", *w.router_b);
  };
  put("model.embed_tokens.weight", m.tok_embd);
  put("model.norm.weight", m.output_norm);
  if (!m.tied_output) put("lm_head.weight", m.output);
  const bool llama = arch == "llama";
  for (uint32_t l = 0; l < h.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto& w = m.layers[l];
    put(p + "input_layernorm.weight", w.attn_norm);
    if (arch == "phi3") {  // the loader's Q, K, V and gate, up views are adjacent rows of one tensor
      put(p + "self_attn.qkv_proj.weight", joined(w.wq, w.wv));
    } else {
      put(p + "self_attn.q_proj.weight", w.wq, llama ? h.heads : 0);
      put(p + "self_attn.k_proj.weight", w.wk, llama ? h.kv_heads : 0);
      put(p + "self_attn.v_proj.weight", w.wv);
    }
    put(p + "self_attn.o_proj.weight", w.wo);
    if (arch == "gpt_oss") {
      put(p + "self_attn.q_proj.bias", *w.bq);
      put(p + "self_attn.k_proj.bias", *w.bk);
      put(p + "self_attn.v_proj.bias", *w.bv);
      put(p + "self_attn.o_proj.bias", *w.bo);
      put(p + "self_attn.sinks", *w.sinks);
      put(p + "post_attention_layernorm.weight", w.ffn_norm);
      put_experts(p, w);
      continue;
    }
    if (w.q_norm) put(p + "self_attn.q_norm.weight", *w.q_norm);
    if (w.k_norm) put(p + "self_attn.k_norm.weight", *w.k_norm);
    if (gemma) {
      put(p + "post_attention_layernorm.weight", *w.post_attn_norm);
      put(p + "pre_feedforward_layernorm.weight", w.ffn_norm);
      put(p + "post_feedforward_layernorm.weight", *w.post_ffn_norm);
    } else {
      put(p + "post_attention_layernorm.weight", w.ffn_norm);
    }
    if (arch == "phi3") {
      put(p + "mlp.gate_up_proj.weight", joined(w.w_gate, w.w_up));
    } else {
      put(p + "mlp.gate_proj.weight", w.w_gate);
      put(p + "mlp.up_proj.weight", w.w_up);
    }
    put(p + "mlp.down_proj.weight", w.w_down);
  }
  uint64_t at = 0;
  for (auto& [name, bytes] : ts) {
    header[name]["dtype"] = bytes_tensors.count(name) ? "U8" : "F32";
    header[name]["data_offsets"] = {at, at + bytes.size()};
    at += bytes.size();
  }
  const std::string hs = header.dump();
  std::ofstream st(dir + "/model.safetensors", std::ios::binary);
  const uint64_t n = hs.size();
  st.write(reinterpret_cast<const char*>(&n), 8).write(hs.data(), static_cast<std::streamsize>(n));
  for (auto& [name, bytes] : ts) st.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  nlohmann::json c = {{"model_type", arch},           {"hidden_size", h.dim},         {"num_hidden_layers", h.layers},
                      {"num_attention_heads", h.heads}, {"num_key_value_heads", h.kv_heads}, {"head_dim", h.head_dim},
                      {"intermediate_size", h.ffn},    {"vocab_size", h.vocab},        {"max_position_embeddings", h.context},
                      {"rms_norm_eps", h.rms_eps},     {"rope_theta", h.rope.theta},   {"tie_word_embeddings", m.tied_output}};
  if (!h.rope_long_factors.empty())
    c["rope_scaling"] = {{"rope_type", "longrope"},
                         {"short_factor", h.rope.freq_factors},
                         {"long_factor", h.rope_long_factors},
                         {"original_max_position_embeddings", h.rope_original_context},
                         {"attention_factor", h.rope_attn_factor}};
  if (arch == "gpt_oss") {
    std::vector<std::string> types;
    for (uint32_t l = 0; l < h.layers; ++l) types.push_back(h.is_sliding(l) ? "sliding_attention" : "full_attention");
    c["layer_types"] = types;
    c["sliding_window"] = h.sliding_window;
    c["num_local_experts"] = h.experts;
    c["num_experts_per_tok"] = h.experts_used;
    c["attention_bias"] = true;
    c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32},
                         {"beta_fast", 32.0}, {"beta_slow", 1.0}, {"truncate", false}};
  }
  if (gemma) {
    std::vector<std::string> types;
    for (uint32_t l = 0; l < h.layers; ++l) types.push_back(h.is_sliding(l) ? "sliding_attention" : "full_attention");
    c["layer_types"] = types;
    c["sliding_window"] = h.sliding_window;
    c["rope_local_base_freq"] = h.rope_sliding.theta;
    c["query_pre_attn_scalar"] = 1.0 / (double{h.attn_scale} * h.attn_scale);
    if (arch == "gemma2") {
      c["attn_logit_softcapping"] = h.attn_softcap;
      c["final_logit_softcapping"] = h.final_softcap;
    }
  }
  std::ofstream(dir + "/config.json") << c.dump(2);
}

void check_same(const model::ModelFile& a, const model::ModelFile& b) {
  CHECK(a.hp.arch == b.hp.arch);
  CHECK(a.hp.dim == b.hp.dim);
  CHECK(a.hp.heads == b.hp.heads);
  CHECK(a.hp.kv_heads == b.hp.kv_heads);
  CHECK(a.hp.head_dim == b.hp.head_dim);
  CHECK(a.hp.rope.style == b.hp.rope.style);
  CHECK(a.hp.rope.theta == b.hp.rope.theta);
  CHECK(a.tied_output == b.tied_output);
  CHECK(a.hp.rope.freq_factors == b.hp.rope.freq_factors);
  CHECK(a.hp.rope_long_factors == b.hp.rope_long_factors);
  CHECK(a.hp.rope_original_context == b.hp.rope_original_context);
  CHECK(a.hp.rope_attn_factor == b.hp.rope_attn_factor);
  CHECK(a.hp.sliding == b.hp.sliding);
  CHECK(a.hp.sliding_window == b.hp.sliding_window);
  CHECK(a.hp.rope_sliding.theta == b.hp.rope_sliding.theta);
  CHECK(a.hp.attn_scale == doctest::Approx(b.hp.attn_scale).epsilon(1e-6));
  CHECK(a.hp.embed_scale == b.hp.embed_scale);
  CHECK((a.hp.attn_softcap == b.hp.attn_softcap && a.hp.final_softcap == b.hp.final_softcap));
  CHECK((a.hp.experts == b.hp.experts && a.hp.experts_used == b.hp.experts_used && a.hp.out_bias == b.hp.out_bias));
  const auto same = [](const model::Tensor& x, const model::Tensor& y) {
    return x.rows == y.rows && x.cols == y.cols && x.type == y.type &&
           std::equal(x.data.begin(), x.data.end(), y.data.begin(), y.data.end());
  };
  CHECK(same(a.tok_embd, b.tok_embd));
  CHECK(same(a.output, b.output));
  REQUIRE(a.layers.size() == b.layers.size());
  for (size_t l = 0; l < a.layers.size(); ++l) {
    const auto &x = a.layers[l], &y = b.layers[l];
    CHECK_MESSAGE((same(x.wq, y.wq) && same(x.wk, y.wk) && same(x.wv, y.wv) && same(x.wo, y.wo)), "layer " << l);
    CHECK((same(x.w_gate, y.w_gate) && same(x.w_up, y.w_up) && same(x.w_down, y.w_down)));
    CHECK((same(x.attn_norm, y.attn_norm) && same(x.ffn_norm, y.ffn_norm)));
    CHECK(x.q_norm.has_value() == y.q_norm.has_value());
    if (x.q_norm) CHECK((same(*x.q_norm, *y.q_norm) && same(*x.k_norm, *y.k_norm)));
    const auto xo = x.optional_tensors(), yo = y.optional_tensors();
    for (size_t i = 0; i < xo.size(); ++i) {
      CHECK_MESSAGE(xo[i]->has_value() == yo[i]->has_value(), "optional tensor " << i << " of layer " << l);
      if (xo[i]->has_value() && yo[i]->has_value()) CHECK_MESSAGE(same(**xo[i], **yo[i]), (*xo[i])->name);
    }
  }
}

TEST_SUITE("convert") {
  TEST_CASE("a Hugging Face checkpoint converts back to the GGUF it was written from") {
    // gpt_oss twice: experts as transformers saves them (float), and as OpenAI releases them (MXFP4 bytes).
    for (const std::string variant : {"llama", "qwen3", "phi3", "gemma3_text", "gemma2", "gpt_oss", "gpt_oss-mxfp4"}) {
      CAPTURE(variant);
      const std::string arch = variant.substr(0, variant.find('-'));
      model::SyntheticSpec spec = model::synthetic_preset(arch == "gpt_oss" ? "gpt-oss-tiny" : "tiny");
      if (variant == "gpt_oss-mxfp4") spec.expert_type = model::GgmlType::mxfp4;
      spec.qwen3 = arch == "qwen3";
      spec.phi3 = arch == "phi3";
      spec.gemma3 = arch == "gemma3_text";
      spec.gemma2 = arch == "gemma2";
      spec.head_dim = spec.qwen3 || spec.gemma3 ? 32 : 0;
      spec.tied_output = spec.qwen3 || spec.gemma3 || spec.gemma2;
      spec.layers = spec.gemma3 || spec.gemma2 ? 4 : spec.layers;
      spec.sliding_window = 8;  // gemma3: layers 0, 2 slide, 1, 3 are global
      spec.sliding_pattern = 2;
      const std::string src = temp_path("convert-src-" + variant + ".gguf"), dir = temp_path("convert-hf-" + variant),
                        out = temp_path("convert-out-" + variant + ".gguf");
      model::write_synthetic_gguf(src, spec);
      const auto m = model::load_model(src);
      write_hf(*m, arch, dir);
      const auto r = run_sh("\"" SINKSTREAM_CONVERT "\" " + dir + " --out " + out + " --type f32 --placeholder-vocab");
      REQUIRE_MESSAGE(r.code == 0, r.out);
      check_same(*m, *model::load_model(out));
      // Without a tokenizer and without --placeholder-vocab: a clear refusal.
      const auto refused = run_sh("\"" SINKSTREAM_CONVERT "\" " + dir + " --out " + out);
      CHECK(refused.code == 1);
      CHECK_MESSAGE(refused.out.find("no tokenizer.json") != std::string::npos, refused.out);
      fs::remove_all(dir);
      fs::remove(src);
      fs::remove(out);
    }
  }

  TEST_CASE("a byte-level BPE tokenizer.json, its special tokens and chat template come along") {
    model::SyntheticSpec spec;
    spec.qwen3 = true;
    spec.head_dim = 32;
    const std::string src = temp_path("convert-tok-src.gguf"), dir = temp_path("convert-tok"),
                      out = temp_path("convert-tok.gguf");
    model::write_synthetic_gguf(src, spec);
    write_hf(*model::load_model(src), "qwen3", dir);
    const nlohmann::json tok = {
        {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"c", 3}}}, {"merges", {"a b"}}}},
        {"added_tokens", {{{"id", 4}, {"content", "<|im_end|>"}, {"special", true}},
                          {{"id", 5}, {"content", "<tool>"}, {"special", false}}}}};
    std::ofstream(dir + "/tokenizer.json") << tok.dump();
    std::ofstream(dir + "/tokenizer_config.json")
        << nlohmann::json{{"eos_token", {{"content", "<|im_end|>"}}}, {"add_bos_token", false},
                          {"chat_template", "{{ messages[0].content }}"}}.dump();
    const auto r = run_sh("\"" SINKSTREAM_CONVERT "\" " + dir + " --out " + out + " --type f32");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    const model::Vocab v = model::vocab_from_gguf(model::GgufFile::open(out));
    CHECK(v.kind == model::VocabKind::bpe);
    CHECK(v.pre == "qwen2");
    REQUIRE(v.size() == spec.vocab);  // ids past the tokenizer's are unused padding
    CHECK(v.type(4) == model::TokenType::control);
    CHECK(v.type(5) == model::TokenType::user_defined);
    CHECK(v.type(6) == model::TokenType::unused);
    CHECK(v.eos_id == 4);
    CHECK_FALSE(v.add_bos);
    CHECK(v.chat_template == "{{ messages[0].content }}");
    const model::Tokenizer t(v);
    CHECK(t.encode("abab", false, false) == std::vector<int32_t>{2, 2});  // merged by "a b"
    CHECK(t.encode("ca<|im_end|>", false, true) == std::vector<int32_t>{3, 0, 4});
    fs::remove_all(dir);
    fs::remove(src);
    fs::remove(out);
  }

  TEST_CASE("what the converter cannot convert is named") {
    const std::string dir = temp_path("convert-bad");
    fs::create_directories(dir);
    std::ofstream(dir + "/config.json") << R"({"model_type": "mamba"})";
    std::ofstream(dir + "/model.safetensors") << "x";
    auto r = run_sh("\"" SINKSTREAM_CONVERT "\" " + dir + " --out " + dir + "/x.gguf");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("safetensors") != std::string::npos, r.out);
    std::ofstream(dir + "/model.safetensors", std::ios::binary) << std::string("\x02\0\0\0\0\0\0\0{}", 10);
    r = run_sh("\"" SINKSTREAM_CONVERT "\" " + dir + " --out " + dir + "/x.gguf");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("model_type 'mamba' is not converted") != std::string::npos, r.out);
    fs::remove_all(dir);
  }
}

}  // namespace
}  // namespace sinkstream::test
