// Streaming perplexity: each policy predicts every token from exactly what it
// keeps (checked against the CPU reference, token by token), chunked
// evaluation equals token-by-token, and the CLI's CSV / JSON / SVG outputs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"
#include "eval/perplexity.hpp"
#include "testing/synthetic.hpp"
#include "ref/model_ref.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::test {
namespace {

struct TinyModel {
  std::string path = temp_path("ppl-tiny.gguf");
  std::unique_ptr<model::ModelFile> file;
  TinyModel() {
    model::SyntheticSpec spec;
    spec.context = 40;
    model::write_synthetic_gguf(path, spec);
    file = model::load_model(path);
  }
  ~TinyModel() { std::filesystem::remove(path); }
};

std::vector<int32_t> test_ids(size_t n) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(static_cast<int32_t>((i * 131 + 7) % 300));
  return ids;
}

// NLL of every token after the first, from the reference with (sinks, window).
std::vector<double> reference_nll(const model::ModelFile& m, const std::vector<int32_t>& ids, uint32_t sinks,
                                  uint32_t window) {
  ref::ReferenceModel r(m, sinks, window);
  std::vector<double> out;
  for (size_t t = 0; t + 1 < ids.size(); ++t) out.push_back(model::token_nll(r.forward(ids[t]), ids[t + 1]));
  return out;
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) w = std::max(w, std::abs(a[i] - b[i]));
  return w;
}

model::PerplexityConfig config(model::CachePolicy p, uint32_t chunk = 8) {
  model::PerplexityConfig c;
  c.policy = p;
  c.sinks = 3;
  c.window = 9;
  c.kv_type = KvType::f32;
  c.chunk = chunk;
  c.segment = 10;
  return c;
}

}  // namespace

TEST_SUITE("perplexity") {
  TEST_CASE("each policy predicts from exactly what it keeps") {
    ValidationScope validation;
    TinyModel tiny;
    const auto ids = test_ids(60);
    const auto run = [&](model::CachePolicy p) {
      return model::evaluate_perplexity(gpu(), *tiny.file, ids, config(p));
    };
    const auto sinks = run(model::CachePolicy::sinks);
    CHECK(max_diff(sinks.nll, reference_nll(*tiny.file, ids, 3, 9)) <= 1e-3);
    CHECK(sinks.sinks == 3);
    CHECK(sinks.window == 9);
    const auto window = run(model::CachePolicy::window);
    CHECK(max_diff(window.nll, reference_nll(*tiny.file, ids, 0, 12)) <= 1e-3);
    CHECK(window.window == 12);  // the same budget, nothing pinned
    const auto dense = run(model::CachePolicy::dense);
    CHECK(max_diff(dense.nll, reference_nll(*tiny.file, ids, 0, 60)) <= 1e-3);

    // recompute: every prediction re-encodes the last 12 tokens from position 0.
    const auto recompute = run(model::CachePolicy::recompute);
    std::vector<double> want;
    for (size_t t = 1; t < ids.size(); ++t) {
      ref::ReferenceModel fresh(*tiny.file, 0, 12);
      std::vector<float> logits;
      for (size_t i = t > 12 ? t - 12 : 0; i < t; ++i) logits = fresh.forward(ids[i]);
      want.push_back(model::token_nll(logits, ids[t]));
    }
    CHECK(max_diff(recompute.nll, want) <= 1e-3);
    CHECK(recompute.tokens == 59);
    CHECK(recompute.segment_ppl.size() == 6);  // 59 predictions in segments of 10

    // ...or, from BOS: the first token, then the 11 most recent ones.
    auto from_bos = config(model::CachePolicy::recompute);
    from_bos.recompute_from_bos = true;
    const auto bos = model::evaluate_perplexity(gpu(), *tiny.file, ids, from_bos);
    want.clear();
    for (size_t t = 1; t < ids.size(); ++t) {
      ref::ReferenceModel fresh(*tiny.file, 0, 12);
      std::vector<float> logits = fresh.forward(ids[0]);
      for (size_t i = t > 12 ? t - 11 : 1; i < t; ++i) logits = fresh.forward(ids[i]);
      want.push_back(model::token_nll(logits, ids[t]));
    }
    CHECK(max_diff(bos.nll, want) <= 1e-3);
  }

  TEST_CASE("chunked evaluation equals token-by-token") {
    ValidationScope validation;
    TinyModel tiny;
    const auto ids = test_ids(70);
    const auto one = model::evaluate_perplexity(gpu(), *tiny.file, ids, config(model::CachePolicy::sinks, 1));
    const auto many = model::evaluate_perplexity(gpu(), *tiny.file, ids, config(model::CachePolicy::sinks, 13));
    CHECK(max_diff(one.nll, many.nll) <= 1e-5);
    CHECK(one.ppl() == doctest::Approx(many.ppl()).epsilon(1e-6));
  }

  TEST_CASE("dense stops with a clear message before device memory runs out") {
    TinyModel tiny;
    GpuOptions capped;
    capped.memory_limit = 2 << 20;  // room for the model and a small cache, not for a dense one
    Gpu small(capped);
    const auto ids = test_ids(100000);
    auto cfg = config(model::CachePolicy::dense);
    CHECK_THROWS_WITH_AS(model::evaluate_perplexity(small, *tiny.file, ids, cfg), doctest::Contains("memory"),
                         OutOfDeviceMemory);
    cfg.policy = model::CachePolicy::sinks;  // the same text in constant memory is fine
    CHECK_NOTHROW(model::evaluate_perplexity(small, *tiny.file, std::span(ids).first(200), cfg));
  }

  TEST_CASE("perplexity of a segment is exp of its mean NLL") {
    ValidationScope validation;
    TinyModel tiny;
    const auto r = model::evaluate_perplexity(gpu(), *tiny.file, test_ids(25), config(model::CachePolicy::window));
    double s = 0;
    for (size_t i = 0; i < 10; ++i) s += r.nll[i];
    CHECK(r.segment_ppl[0] == doctest::Approx(std::exp(s / 10)));
    double all = 0;
    for (double v : r.nll) all += v;
    CHECK(r.ppl() == doctest::Approx(std::exp(all / 24)));
    CHECK_THROWS(model::evaluate_perplexity(gpu(), *tiny.file, std::vector<int32_t>{5}, config(model::CachePolicy::sinks)));
    CHECK_THROWS(model::evaluate_perplexity(gpu(), *tiny.file, std::vector<int32_t>{5, 999}, config(model::CachePolicy::sinks)));
  }
}

}  // namespace sinkstream::test
