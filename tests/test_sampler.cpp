// Sampling: greedy is argmax, truncations keep what they promise, a seed
// reproduces a run, and the empirical distribution follows the softmax.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <vector>

#include "sample/sampler.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::test {
namespace {
model::SamplerConfig plain(float temperature) {
  model::SamplerConfig c;
  c.temperature = temperature;
  c.top_k = 0;
  c.top_p = 1.0f;
  c.min_p = 0.0f;
  return c;
}
}  // namespace

TEST_SUITE("sampler") {
  TEST_CASE("greedy picks the largest logit, the lowest id on ties") {
    model::Sampler s(plain(0.0f));
    const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f};
    CHECK(s.sample(logits) == 1);
  }

  TEST_CASE("the same seed gives the same tokens; another seed does not") {
    std::vector<float> logits(50);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(static_cast<float>(i));
    const auto draw = [&](uint64_t seed) {
      auto c = plain(1.0f);
      c.seed = seed;
      model::Sampler s(c);
      std::vector<int32_t> out;
      for (int i = 0; i < 64; ++i) out.push_back(s.sample(logits));
      return out;
    };
    CHECK(draw(7) == draw(7));
    CHECK(draw(7) != draw(8));
  }

  TEST_CASE("temperature 1 follows the softmax") {
    const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(5.0f)};  // p = 1/8, 2/8, 5/8
    model::Sampler s(plain(1.0f));
    std::map<int32_t, int> count;
    const int n = 40000;
    for (int i = 0; i < n; ++i) ++count[s.sample(logits)];
    CHECK(count[0] / double(n) == doctest::Approx(0.125).epsilon(0.05));
    CHECK(count[1] / double(n) == doctest::Approx(0.25).epsilon(0.05));
    CHECK(count[2] / double(n) == doctest::Approx(0.625).epsilon(0.05));
  }

  TEST_CASE("top-k, top-p and min-p never return a token they cut") {
    const std::vector<float> logits = {3.0f, 2.9f, 1.0f, 0.5f, -2.0f};
    auto k = plain(1.0f);
    k.top_k = 2;
    auto p = plain(1.0f);
    p.top_p = 0.5f;  // the first two tokens already hold more than half
    auto m = plain(1.0f);
    m.min_p = 0.2f;  // keeps p >= 0.2 * p_max
    model::Sampler sk(k), sp(p), sm(m);
    for (int i = 0; i < 2000; ++i) {
      CHECK(sk.sample(logits) <= 1);
      CHECK(sp.sample(logits) <= 1);
      CHECK(sm.sample(logits) <= 1);  // exp(1 - 3) = 0.135 < 0.2: token 2 is cut too
    }
  }

  TEST_CASE("repetition penalty lowers recently seen tokens") {
    auto c = plain(0.0f);
    c.repeat_penalty = 2.0f;
    model::Sampler s(c);
    const std::vector<float> logits = {1.5f, 1.0f};
    CHECK(s.sample(logits) == 0);
    s.accept(0);
    CHECK(s.sample(logits) == 1);  // 1.5 / 2 < 1.0
  }

  TEST_CASE("bad settings and bad logits are errors") {
    auto c = plain(-1.0f);
    CHECK_THROWS_AS(model::Sampler{c}, InvalidArgument);
    c = plain(1.0f);
    c.top_p = 0.0f;
    CHECK_THROWS_AS(model::Sampler{c}, InvalidArgument);
    model::Sampler s(plain(1.0f));
    const std::vector<float> nan_logits = {0.0f, std::nanf("")};
    CHECK_THROWS_AS(s.sample(nan_logits), Error);
  }
}

}  // namespace sinkstream::test
