// Every weight type through the GPU forward pass (embedding lookup and matrix
// kernels) against the CPU reference, on random-weight models written by
// model::write_synthetic_gguf; and the quantizers themselves.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gpu_fixture.hpp"
#include "engine/engine.hpp"
#include "engine/forward_layer.hpp"
#include "testing/quantize.hpp"
#include "testing/synthetic.hpp"
#include "ref/model_ref.hpp"

namespace sinkstream::test {
namespace {

// The shape of one stream through the engine.
struct StreamShape {
  uint32_t window = 20, chunk = 7, tokens = 60;
};

// Largest |GPU logit - reference logit| over a stream that wraps the window:
// in chunks (prefill kernels), or one token per step (the decode path, fused
// where the device allows, which it then asserts).
// Which fast paths of the chunk products a stream took.
struct PathsTaken {
  uint64_t split_products = 0;  // products split along K
  bool fused_glu = false;       // gate/up and SwiGLU in one product
  uint64_t grouped_expert_layers = 0;  // expert FFNs run on tiles of one expert's pairs
  std::vector<float> logits;    // every token's, in order
};

double max_logit_error(const model::SyntheticSpec& spec, const std::string& name,
                       bool one_by_one = false, StreamShape shape = {},
                       PathsTaken* paths = nullptr) {
  const std::string path = temp_path(name + ".gguf");
  model::write_synthetic_gguf(path, spec);
  const auto m = model::load_model(path);
  model::Engine engine(gpu(), *m, f32_engine(2, shape.window, shape.chunk));
  CHECK_MESSAGE(engine.coop_prefill() == gpu().context().info().coopmat_prefill,
                "chunks take the cooperative-matrix kernel wherever the device has it");
  ref::ReferenceModel reference(*m, 2, shape.window);
  std::vector<int32_t> tokens;
  for (uint32_t i = 0; i < shape.tokens; ++i)
    tokens.push_back(static_cast<int32_t>((i * 37 + 5) % spec.vocab));
  std::vector<float> got;
  if (one_by_one) {
    CHECK_MESSAGE(engine.fused_decode() ==
                      (gpu().context().info().subgroup_arithmetic && !m->hp.post_norms && !m->hp.experts),
                  "the fused decode path is taken wherever the device has subgroup arithmetic (not for gemma, gpt-oss)");
    for (int32_t t : tokens) {
      const auto l = engine.feed({&t, 1});
      got.insert(got.end(), l.begin(), l.end());
    }
  } else {
    for (size_t at = 0; at < tokens.size(); at += shape.chunk) {
      const auto l = engine.feed(
          std::span(tokens).subspan(at, std::min<size_t>(shape.chunk, tokens.size() - at)), true);
      got.insert(got.end(), l.begin(), l.end());
    }
  }
  if (paths) *paths = {engine.counters().k_split_products, engine.fused_glu(), engine.counters().grouped_expert_layers, got};
  double worst = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto want = reference.forward(tokens[i]);
    for (size_t j = 0; j < want.size(); ++j)
      worst = std::max<double>(worst, std::abs(got[i * want.size() + j] - want[j]));
  }
  std::filesystem::remove(path);
  return worst;
}

// Every weight type the GPU kernels take, with its name in messages and file names.
constexpr std::pair<model::GgmlType, const char*> kWeightTypes[] = {{model::GgmlType::f32, "f32"},
                                                                     {model::GgmlType::f16, "f16"},
                                                                     {model::GgmlType::bf16, "bf16"},
                                                                     {model::GgmlType::q8_0, "q8_0"},
                                                                     {model::GgmlType::q4_0, "q4_0"}};

// Every weight type through chunks or one-token steps, within 1e-3 of the reference.
// `adjust` changes the model spec of each type beyond the defaults.
void check_each_type(const std::string& prefix, bool one_by_one, StreamShape shape = {},
                     void (*adjust)(model::SyntheticSpec&) = nullptr) {
  for (auto [type, name] : kWeightTypes) {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.type = type;
    // An odd number of 32-blocks per row: in the files' layout Q8_0/Q4_0 rows start
    // at 2-byte offsets, and the GPU's re-packed rows need padding.
    spec.ffn = 160;
    if (adjust) adjust(spec);
    const double err = max_logit_error(spec, prefix + name, one_by_one, shape);
    INFO(std::string(name) << ": max |gpu - reference| logit = " << err);
    CHECK(err <= 1e-3);
  }
}

}  // namespace

TEST_SUITE("weights") {
  TEST_CASE("each weight type: GPU forward pass matches the CPU reference") {
    check_each_type("", false);
  }

  TEST_CASE(
      "each weight type through the one-token (fused decode) path matches the CPU reference") {
    check_each_type("decode-", true);
    for (auto [type, name] :
         {std::pair{model::GgmlType::f16, "f16"}, {model::GgmlType::q4_0, "q4_0"}}) {
      ValidationScope validation;
      // A large vocabulary: thousands of workgroups in the logits product.
      model::SyntheticSpec spec;
      spec.type = type;
      spec.vocab = 8192;
      const double err = max_logit_error(spec, std::string("decode-vocab-") + name, true);
      INFO(std::string(name) << " vocab 8192: max |gpu - reference| logit = " << err);
      CHECK(err <= 1e-3);
    }
    // A long ffn_down row (K = 4160): the workgroup grows past 128 threads as far
    // as the device allows, and the last one holds a partial share of units.
    check_each_type("decode-longk-", true, {}, [](model::SyntheticSpec& spec) { spec.ffn = 4160; });
    ValidationScope validation;
    // Biases, NeoX RoPE, tied output and learned sinks in the fused path.
    model::SyntheticSpec spec;
    spec.qwen2 = true;
    spec.tied_output = true;
    spec.learned_sinks = true;
    spec.type = model::GgmlType::q8_0;
    CHECK(max_logit_error(spec, "decode-qwen2", true) <= 1e-3);
  }

  TEST_CASE("chunks wider than a cooperative-matrix tile, every weight type") {
    // 150 tokens in chunks of 100 (two 64-token tiles, the second partial), a
    // vocabulary of 8192 (64 row tiles) and an FFN of 160 (a partial 128-row
    // tile); the portable kernel takes the same shapes where there are no
    // cooperative matrices.
    if (!gpu().context().info().coopmat_prefill)
      MESSAGE("no cooperative matrices here: this checks the portable chunk kernel");
    check_each_type("tiles-", false, {120, 100, 150}, [](model::SyntheticSpec& spec) {
      spec.vocab = 8192;
      spec.qwen2 = spec.type == model::GgmlType::q8_0;  // Q/K/V biases through the tile epilogue
    });
  }

  TEST_CASE("chunk products split along K, every weight type") {
    // K of 512 (Q/K/V, gate/up, attn_output) and 1024 (ffn_down) over few row
    // tiles: on a GPU with cooperative matrices and a known count of compute
    // units they split in 2 and 4, and matmul_reduce adds the shares, the Q/K/V
    // biases and the residual. Elsewhere this checks the portable kernel.
    const bool splits =
        gpu().context().info().coopmat_prefill && gpu().context().info().compute_units > 0;
    if (!splits) MESSAGE("no cooperative matrices or no compute-unit count: no K splits here");
    for (auto [type, name] : {std::pair{model::GgmlType::f32, "f32"},
                              {model::GgmlType::f16, "f16"},
                              {model::GgmlType::q8_0, "q8_0"},
                              {model::GgmlType::q4_0, "q4_0"}}) {
      ValidationScope validation;
      model::SyntheticSpec spec;
      spec.type = type;
      spec.dim = 512;
      spec.heads = 8;
      spec.kv_heads = 2;
      spec.ffn = 1024;
      spec.qwen2 = type == model::GgmlType::q8_0;
      PathsTaken paths;
      const double err =
          max_logit_error(spec, std::string("ksplit-") + name, false, {40, 64, 80}, &paths);
      INFO(name << ": max |gpu - reference| logit = " << err
                << ", products split: " << paths.split_products);
      CHECK(err <= 1e-3);
      if (splits) CHECK(paths.split_products > 0);
    }
  }

  TEST_CASE("gate/up and SwiGLU in one chunk product, every weight type") {
    // An FFN of 8192 takes the wide tiles, where the cooperative-matrix path
    // computes silu(gate) * up in the product's epilogue; ffn_down (K = 8192 over
    // a 64-row matrix) splits along K. Elsewhere this checks the portable kernels.
    const bool coop = gpu().context().info().coopmat_prefill;
    if (!coop) MESSAGE("no cooperative matrices here: gate, up and SwiGLU run apart");
    for (auto [type, name] : kWeightTypes) {
      ValidationScope validation;
      model::SyntheticSpec spec;
      spec.type = type;
      spec.ffn = 8192;
      PathsTaken paths;
      const double err =
          max_logit_error(spec, std::string("glu-") + name, false, {40, 64, 80}, &paths);
      INFO(name << ": max |gpu - reference| logit = " << err);
      CHECK(err <= 1e-3);
      CHECK(paths.fused_glu == coop);
    }
  }

  TEST_CASE("K splits: enough workgroups for the GPU, whole k steps, a floor on each share") {
    CHECK(model::coop_k_splits(128, 8192, 264) == 4);  // ffn_down of a 1B model, 512 tokens
    CHECK(model::coop_k_splits(32, 2048, 264) == 8);   // capped at kMaxKSplits
    CHECK(model::coop_k_splits(512, 2048, 264) == 1);  // already fills the GPU
    CHECK(model::coop_k_splits(4, 512, 264) == 2);     // shares of at least 256 columns
    CHECK(model::coop_k_splits(4, 160, 264) == 1);     // 160 is not two whole 32-column steps
    CHECK(model::coop_k_splits(4, 8192, 0) == 1);      // no target: never
    const auto narrow = model::coop_tile(model::GgmlType::f16, 2048, 49152, false);
    CHECK((narrow.tokens == 64 && narrow.rows == 64 && !narrow.k_splits));
    const auto split = model::coop_tile(model::GgmlType::q8_0, 2048, 49152, true);
    CHECK((split.tokens == 128 && split.rows == 128 && split.k_splits));
    const auto wide = model::coop_tile(model::GgmlType::f16, 8192, 49152, true);
    CHECK((wide.tokens == 64 && wide.rows == 128 && !wide.k_splits));
    CHECK(model::coop_shared_bytes(model::GgmlType::f16, wide) == 24576);
    CHECK(model::coop_shared_bytes(model::GgmlType::q8_0, split) == 49152);
    // Where no tile fits, no cooperative-matrix product (the portable one runs).
    CHECK(model::coop_tile(model::GgmlType::f16, 8192, 20000, true).shader.empty());
    CHECK(model::coop_glu_tile(model::GgmlType::f16, 8192, 20000).shader.empty());
    const auto small = model::coop_tile(model::GgmlType::q8_0, 8192, 40000, true);
    CHECK((small.tokens == 64 && small.rows == 128));  // 30,720 + 4,096 bytes
  }

  TEST_CASE("ggml's block types (K-quants, Q4_1/Q5_0/Q5_1, IQ4, MXFP4): chunks and one-token steps") {
    // Rows of 256 (dim, attn_output) and 768 (ffn_down: three super-blocks) for
    // the K-quants and IQ4_XS; the 32-weight types take the same shapes.
    for (auto type : {model::GgmlType::q4_k, model::GgmlType::q6_k, model::GgmlType::q5_k, model::GgmlType::q3_k,
                      model::GgmlType::q2_k, model::GgmlType::q4_1, model::GgmlType::q5_0, model::GgmlType::q5_1,
                      model::GgmlType::iq4_nl, model::GgmlType::iq4_xs, model::GgmlType::mxfp4}) {
      for (bool one_by_one : {false, true}) {
        ValidationScope validation;
        model::SyntheticSpec spec;
        spec.type = type;
        spec.dim = 256;
        spec.ffn = 768;
        const std::string name = std::string(one_by_one ? "blocks-decode-" : "blocks-") + ggml_type_name(type);
        const double err = max_logit_error(spec, name, one_by_one, {20, 7, 40});
        INFO(name << ": max |gpu - reference| logit = " << err);
        CHECK(err <= 1e-3);
      }
    }
    // A long ffn_down row (K = 4352, 17 super-blocks) in the fused decode path:
    // a workgroup past 128 threads, the last one holding a partial share.
    for (auto type : {model::GgmlType::q4_k, model::GgmlType::q6_k}) {
      ValidationScope validation;
      model::SyntheticSpec spec;
      spec.type = type;
      spec.dim = 256;
      spec.ffn = 4352;
      const std::string name = std::string("blocks-longk-") + ggml_type_name(type);
      const double err = max_logit_error(spec, name, true, {20, 7, 20});
      INFO(name << ": max |gpu - reference| logit = " << err);
      CHECK(err <= 1e-3);
    }
  }

  TEST_CASE("Q4_K, Q6_K and IQ4_NL through wide tiles, K splits and the fused gate/up chunk product") {
    // The shapes of the three tests above, widened to whole 256-weight
    // super-blocks. On a GPU with cooperative matrices they take those kernels
    // (the block types decode through weights.glsl there too); elsewhere the
    // portable one.
    const auto& info = gpu().context().info();
    for (auto type : {model::GgmlType::q4_k, model::GgmlType::q6_k, model::GgmlType::iq4_nl}) {
      const std::string name = ggml_type_name(type);
      {
        ValidationScope validation;
        model::SyntheticSpec spec;
        spec.type = type;
        spec.dim = 256;
        spec.ffn = 768;
        spec.vocab = 8192;
        const double err = max_logit_error(spec, "tiles-" + name, false, {120, 100, 150});
        INFO(name << " tiles: max |gpu - reference| logit = " << err);
        CHECK(err <= 1e-3);
      }
      {
        ValidationScope validation;
        model::SyntheticSpec spec;
        spec.type = type;
        spec.dim = 512;
        spec.heads = 8;
        spec.ffn = 1024;
        PathsTaken paths;
        const double err = max_logit_error(spec, "ksplit-" + name, false, {40, 64, 80}, &paths);
        INFO(name << " K splits: max |gpu - reference| logit = " << err);
        CHECK(err <= 1e-3);
        if (info.coopmat_prefill && info.compute_units > 0) CHECK(paths.split_products > 0);
      }
      {
        ValidationScope validation;
        model::SyntheticSpec spec;
        spec.type = type;
        spec.dim = 256;
        spec.ffn = 8192;
        PathsTaken paths;
        const double err = max_logit_error(spec, "glu-" + name, false, {40, 64, 80}, &paths);
        INFO(name << " fused gate/up: max |gpu - reference| logit = " << err);
        CHECK(err <= 1e-3);
        CHECK(paths.fused_glu == info.coopmat_prefill);
      }
    }
  }

  TEST_CASE("a Q4_K_M mix (Q4_K and Q6_K tensors) loads and runs with no special case") {
    model::SyntheticSpec spec;
    spec.dim = 256;
    spec.ffn = 512;
    spec.layers = 8;  // use_more_bits picks layers 0, 3, 6 and 7 for attn_v / ffn_down
    model::set_synthetic_type(spec, "q4_k_m");
    const std::string path = temp_path("mix-q4_k_m.gguf");
    model::write_synthetic_gguf(path, spec);
    {
      const auto m = model::load_model(path);
      CHECK(m->output.type == model::GgmlType::q6_k);
      CHECK(m->tok_embd.type == model::GgmlType::q4_k);
      for (uint32_t l = 0; l < spec.layers; ++l) {
        const bool more = l == 0 || l == 3 || l == 6 || l == 7;
        INFO("layer " << l);
        CHECK(m->layers[l].wv.type == (more ? model::GgmlType::q6_k : model::GgmlType::q4_k));
        CHECK(m->layers[l].w_down.type == (more ? model::GgmlType::q6_k : model::GgmlType::q4_k));
        CHECK(m->layers[l].wq.type == model::GgmlType::q4_k);
        CHECK(m->layers[l].w_gate.type == model::GgmlType::q4_k);
      }
    }
    std::filesystem::remove(path);
    for (bool one_by_one : {false, true}) {
      ValidationScope validation;
      const double err = max_logit_error(spec, "mix-q4_k_m", one_by_one, {20, 7, 30});
      INFO((one_by_one ? "decode" : "chunks") << ": max |gpu - reference| logit = " << err);
      CHECK(err <= 1e-3);
    }
  }

  TEST_CASE("tied output and learned sink logits") {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.tied_output = true;
    spec.learned_sinks = true;
    spec.type = model::GgmlType::q8_0;
    CHECK(max_logit_error(spec, "sinks") <= 1e-3);
  }

  TEST_CASE("qwen2: Q/K/V biases and NeoX RoPE") {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.qwen2 = true;
    spec.type = model::GgmlType::f16;
    CHECK(max_logit_error(spec, "qwen2") <= 1e-3);
  }

  TEST_CASE("qwen3: per-head Q/K RMSNorm, heads * head_dim != dim, in chunks and one by one") {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.qwen3 = true;
    spec.head_dim = 32;  // 4 heads of 32 on a dim of 64, as Qwen3 (16 x 128 on 1024)
    spec.type = model::GgmlType::q8_0;
    CHECK(max_logit_error(spec, "qwen3") <= 1e-3);
    CHECK(max_logit_error(spec, "decode-qwen3", true) <= 1e-3);
    const std::string path = temp_path("qwen3-arch.gguf");
    model::write_synthetic_gguf(path, spec);
    const auto m = model::load_model(path);
    CHECK(m->hp.arch == model::Arch::qwen3);
    CHECK(m->hp.head_dim == 32);
    CHECK((m->layers[0].q_norm.has_value() && m->layers[1].k_norm.has_value()));
  }

  TEST_CASE("gemma3: GeGLU, post-norms, embedding scale, Q/K norms, sliding-window layers past both rings") {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.gemma3 = true;
    spec.layers = 3;  // layers 0 and 1 slide over 8 tokens (RoPE base 10000), layer 2 is global (10^6)
    spec.sliding_window = 8;
    spec.sliding_pattern = 3;
    spec.rope_theta = 1e6f;
    spec.tied_output = true;
    spec.head_dim = 32;
    spec.type = model::GgmlType::q8_0;
    CHECK(max_logit_error(spec, "gemma3", false, {20, 7, 40}) <= 1e-3);  // 2 sinks + 20: both rings wrap
    CHECK(max_logit_error(spec, "decode-gemma3", true, {12, 1, 30}) <= 1e-3);
    const std::string path = temp_path("gemma3-arch.gguf");
    model::write_synthetic_gguf(path, spec);
    const auto m = model::load_model(path);
    REQUIRE(m->hp.arch == model::Arch::gemma3);
    CHECK(m->hp.embed_scale == doctest::Approx(8.0));  // sqrt(64)
    CHECK(m->hp.sliding == std::vector<uint8_t>{1, 1, 0});
    CHECK(m->hp.sliding_window == 8);
    CHECK(m->hp.rope_sliding.theta == 10000.0);
    CHECK(m->hp.rope.theta == doctest::Approx(1e6));
    CHECK(m->hp.attn_scale == doctest::Approx(1.0 / std::sqrt(32.0)));
    CHECK((m->layers[2].post_attn_norm.has_value() && m->layers[2].post_ffn_norm.has_value()));
    // The stream's cache: 2 sinks + 20 for the global layer, a plain ring of 8 for the other two.
    StreamConfig c = model::make_cache_config(m->hp, {2, 20});
    const kv::LayerSplit split = model::make_layer_split(m->hp);
    CHECK(kv::StreamCache::full_config(c, split).layers == 1);
    const auto ring = kv::StreamCache::ring_config(c, split);
    REQUIRE(ring.has_value());
    CHECK((ring->layers == 2 && ring->sinks == 0 && ring->window == 8 && ring->rope.theta == 10000.0));
    // Both caches are counted. At Gemma-3-1B's shapes (22 of 26 layers on 512-slot
    // rings) a 4 + 4092 stream needs under 30% of what one cache of every layer would
    // (29.4 against 105.2 MiB); this tiny model's rings are too small to show it.
    CHECK(kv::StreamCache::required_bytes(c, split) ==
          kv::KvCache::required_bytes(kv::StreamCache::full_config(c, split)) + kv::KvCache::required_bytes(*ring));
    model::HParams g1b = m->hp;
    g1b.layers = 26;
    g1b.heads = 4;
    g1b.kv_heads = 1;
    g1b.head_dim = 256;
    g1b.sliding.assign(26, 0);
    for (uint32_t l = 0; l < 26; ++l) g1b.sliding[l] = l % 6 < 5;
    g1b.sliding_window = 512;
    const StreamConfig c1b = model::make_cache_config(g1b, {4, 4092});
    CHECK(kv::StreamCache::required_bytes(c1b, model::make_layer_split(g1b)) <
          0.3 * static_cast<double>(kv::KvCache::required_bytes(c1b)));
    std::filesystem::remove(path);
  }

  TEST_CASE("gemma2: attention and final logit soft-capping, every other layer sliding") {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.gemma2 = true;
    spec.layers = 3;  // layers 0 and 2 slide over 6 tokens
    spec.sliding_window = 6;
    spec.attn_softcap = 1.5f;  // low enough to cap these models' scores
    spec.final_softcap = 2.0f;
    spec.tied_output = true;
    spec.type = model::GgmlType::q8_0;
    CHECK(max_logit_error(spec, "gemma2", false, {20, 7, 40}) <= 1e-3);
    CHECK(max_logit_error(spec, "decode-gemma2", true, {12, 1, 30}) <= 1e-3);
    const std::string path = temp_path("gemma2-arch.gguf");
    model::write_synthetic_gguf(path, spec);
    const auto m = model::load_model(path);
    REQUIRE(m->hp.arch == model::Arch::gemma2);
    CHECK(m->hp.sliding == std::vector<uint8_t>{1, 0, 1});
    CHECK(m->hp.rope_sliding.theta == m->hp.rope.theta);
    CHECK((m->hp.attn_softcap == 1.5f && m->hp.final_softcap == 2.0f));
    CHECK(!m->layers[0].q_norm.has_value());
    StreamConfig c = model::make_cache_config(m->hp, {2, 20});
    CHECK(c.softcap == 1.5f);
    std::filesystem::remove(path);
  }

  TEST_CASE("integer dot products: the one-token path with int8 activations stays near the reference") {
    for (auto [type, name] : {std::pair{model::GgmlType::q8_0, std::string("q8_0")}, std::pair{model::GgmlType::q4_0, std::string("q4_0")}}) {
      CAPTURE(name);
      ValidationScope validation;
      model::SyntheticSpec spec;
      spec.type = type;
      spec.ffn = 160;
      double exact = 0, idot = 0;
      {
        ScopedEnv off("SINKSTREAM_INTEGER_DOT", "0");
        exact = max_logit_error(spec, "idot-off-" + name, true);
      }
      {
        ScopedEnv on("SINKSTREAM_INTEGER_DOT", "1");
        idot = max_logit_error(spec, "idot-on-" + name, true);
      }
      CHECK(exact <= 1e-3);
      if (!gpu().context().info().integer_dot || !model::matvec_available(gpu().context().info())) {
        MESSAGE("no integer dot products or no fused decode path on this device: the int8 path is not taken");
        continue;
      }
      INFO("max |logit - reference|: float path " << exact << ", int8 activations " << idot);
      CHECK(idot > exact);  // the int8 path ran: its activations are rounded
      // Rounding every activation to one of 255 steps per 16 values, through 2 layers
      // and the output product, moves these logits by about 0.06 (0.056 and 0.059
      // on lavapipe), as 8-bit weights move them against F32 ones; a wrong quant,
      // scale or offset moves them by whole units (the kernel check shows which).
      CHECK(idot <= 0.15);
    }
  }

  TEST_CASE("gpt-oss: experts routed on the GPU, clamped SwiGLU, biases, learned sinks, YaRN, even layers sliding") {
    ValidationScope validation;
    model::SyntheticSpec spec = model::synthetic_preset("gpt-oss-tiny");
    spec.layers = 3;  // layers 0 and 2 slide over 8 tokens; 8 experts, 2 per token
    spec.type = model::GgmlType::q8_0;
    spec.expert_type = model::GgmlType::mxfp4;  // as gpt-oss is released
    CHECK(max_logit_error(spec, "gpt-oss", false, {20, 7, 40}) <= 1e-3);  // 2 sinks + 20: both rings wrap
    CHECK(max_logit_error(spec, "decode-gpt-oss", true, {12, 1, 30}) <= 1e-3);
    // Chunks of 16 tokens: 32 (token, expert) pairs on 8 experts, grouped by expert
    // into tiles, give the logits of every pair alone, bit for bit (a pair's sum is
    // formed in the same order either way).
    PathsTaken grouped, alone;
    CHECK(max_logit_error(spec, "gpt-oss-grouped", false, {20, 16, 40}, &grouped) <= 1e-3);
    {
      ScopedEnv off("SINKSTREAM_MOE_GROUPED", "0");
      CHECK(max_logit_error(spec, "gpt-oss-alone", false, {20, 16, 40}, &alone) <= 1e-3);
    }
    CHECK(grouped.grouped_expert_layers == 3 * 3);  // 3 layers x chunks of 16, 16 and 8 tokens (>= 2 pairs an expert)
    CHECK(alone.grouped_expert_layers == 0);
    CHECK(grouped.logits == alone.logits);
    const std::string path = temp_path("gpt-oss-arch.gguf");
    model::write_synthetic_gguf(path, spec);
    const auto m = model::load_model(path);
    REQUIRE(m->hp.arch == model::Arch::gpt_oss);
    CHECK((m->hp.experts == 8 && m->hp.experts_used == 2 && m->hp.ffn == 64));
    CHECK((m->hp.swiglu_limit == 7.0f && m->hp.swiglu_alpha == 1.702f));
    CHECK(m->hp.sliding == std::vector<uint8_t>{1, 0, 1});
    CHECK((m->hp.attn_sinks && m->hp.qkv_bias && m->hp.out_bias));
    CHECK(m->layers[1].w_gate.rows == 8 * 64);  // every expert's rows, expert by expert
    CHECK(m->layers[1].w_down.type == model::GgmlType::mxfp4);
    CHECK((m->layers[2].router.has_value() && m->layers[2].down_b.has_value() && m->layers[2].bo.has_value()));
    // YaRN x4 over 32 tokens on 16-wide heads: every frequency blends between 1 and 1/4.
    REQUIRE(m->hp.rope.freq_factors.size() == 8);
    CHECK(m->hp.rope_attn_factor == doctest::Approx(1.0 + 0.1 * std::log(4.0)));
    CHECK(m->hp.rope_sliding.freq_factors == m->hp.rope.freq_factors);
    std::filesystem::remove(path);
  }

  TEST_CASE("YaRN frequencies as transformers computes them (gpt-oss-20b: 64 dims, base 150000, x32 over 4096)") {
    // Correction dims 64 ln(4096 / (2 pi r)) / (2 ln 150000): 8.0928 for r = 32, 17.398 for r = 1.
    // Pairs up to 8 keep their frequency (factor 1), from 18 on it is divided by 32,
    // in between a linear ramp: pair 9's extrapolated share is 1 - 0.9072 / 9.3052.
    const auto f = model::yarn_freq_factors(64, 150000.0, 32.0, 4096.0, 32.0, 1.0, false);
    REQUIRE(f.size() == 32);
    CHECK((f[0] == 1.0f && f[8] == 1.0f && f[17] == doctest::Approx(13.757521) && f[18] == 32.0f && f[31] == 32.0f));
    CHECK(f[9] == doctest::Approx(1.1043));
    CHECK(f[13] == doctest::Approx(2.044491));
    // llama.cpp rounds the dims outward (8 and 18): pair 9 is then 1 - 1/10 extrapolated.
    const auto t = model::yarn_freq_factors(64, 150000.0, 32.0, 4096.0, 32.0, 1.0, true);
    CHECK(t[9] == doctest::Approx(1.0 / (0.1 / 32 + 0.9)));
    CHECK(t[17] == doctest::Approx(7.804878));
    CHECK(model::yarn_mscale(32.0) == doctest::Approx(1.3465736));
  }

  TEST_CASE("phi3: fused QKV and gate/up, LongRoPE short and long factors, attention factor") {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.phi3 = true;
    spec.type = model::GgmlType::q8_0;
    CHECK(max_logit_error(spec, "phi3") <= 1e-3);                                 // 2 + 20 slots: short
    CHECK(max_logit_error(spec, "phi3-long", false, {100, 7, 60}) <= 1e-3);      // 2 + 100 > 64: long
    CHECK(max_logit_error(spec, "decode-phi3", true) <= 1e-3);
    const std::string path = temp_path("phi3-arch.gguf");
    model::write_synthetic_gguf(path, spec);
    const auto m = model::load_model(path);
    REQUIRE(m->hp.arch == model::Arch::phi3);
    CHECK(m->layers[1].wk.rows == spec.kv_heads * (spec.dim / spec.heads));
    CHECK(m->layers[1].w_up.data.data() == m->layers[1].w_gate.data.data() + m->layers[1].w_gate.data.size());
    StreamConfig c;
    c.head_dim = m->hp.head_dim;
    c.sinks = 4;
    c.window = 60;  // 64 slots: the original context, short factors
    model::set_cache_rope(m->hp, c);
    CHECK(c.rope.freq_factors == m->hp.rope.freq_factors);
    CHECK(c.scale == doctest::Approx(1.1 * 1.1 / std::sqrt(16.0)));
    c.window = 61;
    model::set_cache_rope(m->hp, c);
    CHECK(c.rope.freq_factors == m->hp.rope_long_factors);
    CHECK(c.rope.freq_factors != m->hp.rope.freq_factors);
  }

  TEST_CASE("half and bfloat16 rounding follow IEEE round-to-nearest-even") {
    CHECK(model::float_to_half(1.0f) == 0x3c00);
    CHECK(model::float_to_half(-2.0f) == 0xc000);
    CHECK(model::float_to_half(65504.0f) == 0x7bff);
    CHECK(model::float_to_half(65520.0f) == 0x7c00);               // rounds up to infinity
    CHECK(model::float_to_half(1.0f + 1.0f / 2048) == 0x3c00);     // tie: stays even
    CHECK(model::float_to_half(1.0f + 3.0f / 2048) == 0x3c02);     // tie: rounds to even
    CHECK(model::float_to_half(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
    CHECK(model::float_to_bf16(1.0f) == 0x3f80);
    CHECK(model::float_to_bf16(1.0f + 1.0f / 256) == 0x3f80);  // tie to even
    CHECK(model::float_to_bf16(1.0f + 3.0f / 256) == 0x3f82);
  }

  TEST_CASE("Q8_0 and Q4_0 blocks decode to within half a quantization step") {
    std::vector<float> x(64);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i)) * 3.0f;
    for (auto type : {model::GgmlType::q8_0, model::GgmlType::q4_0}) {
      const auto bytes = model::quantize(x, type);
      REQUIRE(bytes.size() == model::ggml_type_bytes(type, 64));
      model::Tensor t{"t", type, 1, 64, bytes};
      const auto back = ref::dequantize_row(t, 0);
      const double step = type == model::GgmlType::q8_0 ? 3.0 / 127 : 3.0 / 8 * 2;
      for (size_t i = 0; i < x.size(); ++i) CHECK(std::abs(back[i] - x[i]) <= step / 2 + 1e-3);
    }
  }
}

}  // namespace sinkstream::test
