// End-to-end forward pass on the GPU: golden greedy ids of stories260K (both
// file formats), dense equivalence while the stream fits, and logits against
// the CPU reference on a stream that wraps the window many times.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "fixtures.hpp"
#include "golden.hpp"
#include "gpu_fixture.hpp"
#include "ref/model_ref.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/selftest.hpp"

namespace sinkstream::test {
namespace {

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<int32_t> greedy_from_bos(const std::string& file, uint32_t n, model::EngineConfig cfg) {
  const auto m = model::load_model(fixture(file));
  model::Engine engine(gpu(), *m, cfg);
  std::vector<int32_t> out;
  int32_t token = 1;  // BOS
  for (uint32_t i = 0; i < n; ++i) {
    token = argmax(engine.feed({&token, 1}));
    out.push_back(token);
  }
  return out;
}

// The largest |a[i] - b[i]|.
double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max<double>(worst, std::abs(a[i] - b[i]));
  return worst;
}

// An engine without the NaN guard, which scripts/test.sh turns on everywhere
// through the environment (the guard runs greedy batches one at a time and
// turns off recording the next one-token step ahead).
std::unique_ptr<model::Engine> unguarded_engine(const model::ModelFile& m, model::EngineConfig cfg) {
  cfg.check_finite = false;
  const ScopedEnv no_guard("SINKSTREAM_CHECK_FINITE", nullptr);
  return std::make_unique<model::Engine>(gpu(), m, cfg);
}

}  // namespace

TEST_SUITE("model") {
  TEST_CASE("stories260K greedy ids match llama2.c's run.c exactly (.bin and .gguf)") {
    for (const char* file : {"stories260K.bin", "stories260K.gguf"}) {
      REQUIRE_FIXTURE(file);
      ValidationScope validation;
      const auto ids = greedy_from_bos(file, 256, f32_engine(4, 508));
      CHECK_MESSAGE(ids == stories260k_golden(), file);
    }
  }

  TEST_CASE("the llama2.c checkpoint and the GGUF describe the same model") {
    REQUIRE_FIXTURE("stories260K.bin");
    REQUIRE_FIXTURE("stories260K.gguf");
    const auto a = model::load_model(fixture("stories260K.bin"));
    const auto b = model::load_model(fixture("stories260K.gguf"));
    CHECK(a->format == "llama2.c");
    CHECK(b->format == "gguf");
    CHECK(a->hp.dim == 64);
    CHECK(a->hp.layers == 5);
    CHECK(a->hp.heads == 8);
    CHECK(a->hp.kv_heads == 4);
    CHECK(a->hp.ffn == b->hp.ffn);
    CHECK(a->hp.vocab == 512);
    CHECK(a->tied_output);
    CHECK(std::equal(a->layers[3].wk.data.begin(), a->layers[3].wk.data.end(), b->layers[3].wk.data.begin()));
  }

  TEST_CASE("while the stream fits, sinks + window gives the dense result") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = model::load_model(fixture("stories260K.bin"));
    model::Engine ring(gpu(), *m, f32_engine(4, 196)), dense(gpu(), *m, f32_engine(0, 1024));
    const auto& ids = stories260k_golden();
    const std::span<const int32_t> tokens(ids.data(), 200);
    const auto a = ring.feed(tokens, true);
    const std::vector<float> la(a.begin(), a.end());
    const auto b = dense.feed(tokens, true);
    CHECK(max_abs_diff(la, b) <= 1e-4);
  }

  TEST_CASE("past the window, logits follow the paper-literal CPU reference over thousands of tokens") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = model::load_model(fixture("stories260K.bin"));
    for (uint32_t sinks : {0u, 4u}) {
      model::Engine engine(gpu(), *m, f32_engine(sinks, 29, 16));
      ref::ReferenceModel reference(*m, sinks, 29);
      std::vector<int32_t> tokens;
      for (uint32_t i = 0; i < 2500; ++i) tokens.push_back(static_cast<int32_t>((i * 7919u + 13u) % 512u));
      double worst = 0;
      for (size_t at = 0; at < tokens.size(); at += 16) {
        const std::span<const int32_t> chunk(tokens.data() + at, std::min<size_t>(16, tokens.size() - at));
        const auto got = engine.feed(chunk, true);
        for (size_t i = 0; i < chunk.size(); ++i) {
          const auto want = reference.forward(chunk[i]);
          for (size_t j = 0; j < want.size(); ++j)
            worst = std::max<double>(worst, std::abs(got[i * want.size() + j] - want[j]));
        }
      }
      INFO("sinks " << sinks << ": max |gpu - reference| logit = " << worst);
      CHECK(worst <= 2e-3);
      CHECK(engine.counters().evicted == 2500 - sinks - 29);
    }
  }

  TEST_CASE("q8_0 KV: logits follow the CPU reference that rounds K/V as the cache stores them") {
    // The reference quantises each key at the rotation the GPU stores it with (ggml's
    // rounding), so what is left is float arithmetic and the rare element that float
    // and double round to neighbouring quants (or scales). Both models' head dims (8 and 16) are
    // shorter than a block: one 8- or 16-value block per row. Chunks and one-token
    // steps alternate, and the window wraps.
    struct Case {
      std::string path;
      uint32_t tokens, window;  // the books model's reference takes ~0.25 s a token
    };
    const std::string books = std::string(SINKSTREAM_TESTS_DIR) + "/../" + default_selftest_model();
    REQUIRE(std::filesystem::exists(books));
    std::vector<Case> cases = {{books, 48, 20}};
    if (have_fixture("stories260K.bin"))
      cases.push_back({fixture("stories260K.bin"), 160, 45});
    else
      MESSAGE("SKIPPED (stories260K part): fixture " << fixture("stories260K.bin")
                                                     << " is not available");
    ValidationScope validation;
    for (const Case& c : cases) {
      const auto m = model::load_model(c.path);
      model::EngineConfig cfg = f32_engine(4, c.window, 16);
      cfg.kv_type = KvType::q8_0;
      model::Engine engine(gpu(), *m, cfg);
      ref::ReferenceModel reference(*m, 4, c.window, KvType::q8_0);
      std::vector<int32_t> tokens;
      for (uint32_t i = 0; i < c.tokens; ++i)
        tokens.push_back(static_cast<int32_t>((i * 7919u + 13u) % m->hp.vocab));
      const uint32_t steps[] = {16, 1, 7, 1, 1};
      double worst = 0;
      uint32_t picks = 0, same = 0;
      for (size_t at = 0, k = 0; at < tokens.size(); at += steps[k++ % 5]) {
        const size_t n = std::min<size_t>(steps[k % 5], tokens.size() - at);
        const auto got = engine.feed({tokens.data() + at, n}, true);
        for (size_t i = 0; i < n; ++i) {
          const auto want = reference.forward(tokens[at + i]);
          const std::span<const float> row(got.data() + i * want.size(), want.size());
          worst = std::max(worst, max_abs_diff(row, want));
          ++picks;
          same += argmax(row) == argmax(want);
        }
      }
      INFO(c.path << ": max |gpu - reference| logit = " << worst << ", greedy picks equal " << same
                  << " of " << picks);
      // Measured on lavapipe: 7.2e-4 (stories260K; 7.4e-3 over 300 tokens), 2.6e-2 (books-14m,
      // logits up to ~20; 2.8e-2 over 120 tokens). Over 300 and 120 tokens f32 KV stays within
      // 1.3e-5, and q8_0 against a reference that does not quantise is 0.65 and 0.17 away.
      // Quantising is discontinuous: a float-sized difference in a projection can move one
      // quant (or one float16 scale) a step, which the model carries on.
      CHECK(worst <= 5e-2);
      CHECK(same >=
            picks - picks / 50);  // a pick may flip only where the two best logits all but tie
    }
  }

  TEST_CASE("greedy steps picked on the GPU equal one-token feeds with a host argmax") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = model::load_model(fixture("stories260K.bin"));
    // A window of 29 and batches of up to 16 steps: batches span the first
    // eviction and many ring wraps; 70 steps leave a partial last batch.
    for (uint32_t sinks : {0u, 4u}) {
      model::EngineConfig checked = f32_engine(sinks, 29, 16), slow = checked;
      slow.gpu_greedy = false;
      const auto fast = unguarded_engine(*m, checked);  // its batches overlap on the GPU
      model::Engine& a = *fast;
      model::Engine b(gpu(), *m, slow), c(gpu(), *m, checked);
      const std::vector<int32_t> prompt = {1, 365, 473, 270};
      a.feed(prompt);
      c.feed(prompt);
      const int32_t first = argmax(b.feed(prompt));
      CHECK_MESSAGE(a.greedy_on_gpu() == gpu().context().info().subgroup_shuffle,
                    "greedy batches run on the GPU wherever the decode attention kernel does");
      CHECK_FALSE(b.greedy_on_gpu());
      const auto got = a.decode_greedy(first, 70);
      const auto want = b.decode_greedy(first, 70);
      CHECK(got == want);
      CHECK(c.decode_greedy(first, 70) == want);  // batches one at a time, checked
      CHECK(std::set<int32_t>(want.begin(), want.end()).size() > 3);  // not one token repeated
      CHECK(a.counters().tokens == prompt.size() + 70);
      CHECK(a.counters().evicted == b.counters().evicted);
      CHECK(max_abs_diff(a.last_logits(), b.last_logits()) <= 1e-4);
    }
  }

  // Without the NaN guard, a one-token feed() records the next step while the
  // GPU runs this one; the guard turns that off. Both engines must agree at
  // every step, also after a chunk, a reset and greedy batches, which each
  // make the recorded-ahead step stale.
  TEST_CASE("one-token steps recorded ahead equal steps recorded when fed") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = model::load_model(fixture("stories260K.bin"));
    const model::EngineConfig checked = f32_engine(4, 29, 16);
    const auto fast = unguarded_engine(*m, checked);
    model::Engine& a = *fast;
    model::Engine c(gpu(), *m, checked);
    double worst = 0;
    int32_t next = 1;
    const auto step = [&](std::span<const int32_t> tokens) {
      const auto la = a.feed(tokens);
      const std::vector<float> copy(la.begin(), la.end());
      const auto lc = c.feed(tokens);
      worst = std::max(worst, max_abs_diff(copy, lc));
      next = argmax(lc);
    };
    const auto singles = [&](int count) {
      for (int i = 0; i < count; ++i) step({&next, 1});
    };
    const std::vector<int32_t> prompt = {1, 365, 473, 270}, more = {300, 301, 302, 303, 304};
    step(prompt);
    singles(40);  // past the first eviction, ring wraps
    step(more);
    singles(10);
    a.reset();
    c.reset();
    next = 1;
    singles(10);
    const auto picked = a.decode_greedy(next, 10);
    CHECK(picked == c.decode_greedy(next, 10));
    next = picked.back();
    singles(10);
    INFO("max |recorded ahead - recorded when fed| logit = " << worst);
    CHECK(worst == 0.0);
    CHECK(a.counters().tokens == c.counters().tokens);
    CHECK(a.counters().evicted == c.counters().evicted);
  }

  TEST_CASE("bad token ids and bad files give clear errors") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = model::load_model(fixture("stories260K.bin"));
    model::Engine engine(gpu(), *m, f32_engine(4, 60));
    const int32_t bad[] = {5, 512};
    CHECK_THROWS_WITH_AS(engine.feed(bad), doctest::Contains("outside the vocabulary"), InvalidArgument);
    CHECK(engine.counters().tokens == 0);
    CHECK_THROWS_AS(model::load_model("/nonexistent.gguf"), Error);
    CHECK_THROWS_AS(model::load_model(fixture("tok512.bin")), Error);  // a tokenizer is not a model
  }

  TEST_CASE("truncated and corrupted llama2.c checkpoints are rejected") {
    REQUIRE_FIXTURE("stories260K.bin");
    std::ifstream in(fixture("stories260K.bin"), std::ios::binary);
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::string path = (std::filesystem::temp_directory_path() / "sinkstream-test-bad.bin").string();
    const auto write = [&](const std::vector<char>& b) {
      std::ofstream(path, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
    };
    for (size_t n : {size_t{0}, size_t{12}, size_t{28}, size_t{1000}, bytes.size() - 4}) {
      write({bytes.begin(), bytes.begin() + static_cast<long>(n)});
      CHECK_THROWS_AS(model::load_model(path), Error);
    }
    for (int field : {0, 2, 3, 6}) {  // dim, layers, heads, seq_len: absurd values
      auto b = bytes;
      const int32_t huge = 1 << 30;
      std::memcpy(b.data() + 4 * field, &huge, 4);
      write(b);
      CHECK_THROWS_AS(model::load_model(path), Error);
    }
    auto b = bytes;
    const int32_t three = 3;  // 8 heads no longer divide into 3 KV heads
    std::memcpy(b.data() + 16, &three, 4);
    write(b);
    CHECK_THROWS_WITH_AS(model::load_model(path), doctest::Contains("head counts"), Error);
    std::filesystem::remove(path);
  }
}

}  // namespace sinkstream::test
