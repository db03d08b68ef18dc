// Host RoPE angles: exact reduction far into a stream.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kv/ring.hpp"
#include "kv/rope.hpp"

namespace sinkstream::test {

TEST_SUITE("rope") {
  TEST_CASE("angles at stream index 1e9 are reduced exactly") {
    // Reference values: cos/sin of exact arguments from a correctly rounding libm.
    const long double one[] = {1.0L}, tenth[] = {0.1L};
    std::vector<float> cs(2);
    kv::rope_cos_sin(1000000000ull, one, cs);
    CHECK(cs[0] == doctest::Approx(0.8378871813639024).epsilon(1e-6));
    CHECK(cs[1] == doctest::Approx(0.5458434494486996).epsilon(1e-6));
    kv::rope_cos_sin(1000000000ull, tenth, cs);
    CHECK(cs[0] == doctest::Approx(std::cos(100000000.0)).epsilon(1e-6));
    // Why the host does this in extended precision: a float frequency alone
    // moves the angle at this position by more than a radian.
    CHECK(std::abs(std::cos(1e9 * static_cast<double>(0.1f)) - std::cos(1e8)) > 1e-2);
  }

  TEST_CASE("the anchored table equals the exact reduction, in order and out of order") {
    for (double theta : {10000.0, 500000.0}) {
      RopeConfig r;
      r.theta = theta;
      const auto inv = kv::rope_inv_freq(r, 64);
      kv::RopeTable table(inv);
      std::vector<uint64_t> positions;
      for (uint64_t base : {0ull, 1000000000ull - 70, (1ull << 40) + 5})
        for (uint64_t i = 0; i < 300; ++i) positions.push_back(base + i);
      // Jumps back and forth between anchors, as the sink set's positions do.
      for (uint64_t p : {5ull, 1000000123ull, 63ull, 64ull, 7ull, 4095ull, 1ull << 40, 4096ull, 0ull})
        positions.push_back(p);
      std::vector<float> want(2 * inv.size()), got(2 * inv.size());
      double worst = 0.0;
      for (uint64_t p : positions) {
        kv::rope_cos_sin(p, inv, want);
        table.cos_sin(p, got);
        for (size_t i = 0; i < want.size(); ++i) worst = std::max<double>(worst, std::abs(want[i] - got[i]));
      }
      INFO("theta " << theta << ": max |table - exact| = " << worst);
      CHECK(worst <= 2.4e-7);  // two float ulps below 1: rounding only
    }
  }

  TEST_CASE("inverse frequencies follow theta, partial dims and factors") {
    RopeConfig r;
    r.theta = 10000.0;
    auto f = kv::rope_inv_freq(r, 8);
    REQUIRE(f.size() == 4);
    CHECK(static_cast<double>(f[0]) == doctest::Approx(1.0));
    CHECK(static_cast<double>(f[1]) == doctest::Approx(std::pow(10000.0, -0.25)));
    r.rotary_dims = 4;
    r.freq_factors = {2.0f, 4.0f};
    f = kv::rope_inv_freq(r, 8);
    REQUIRE(f.size() == 2);
    CHECK(static_cast<double>(f[0]) == doctest::Approx(0.5));
    CHECK(static_cast<double>(f[1]) == doctest::Approx(0.01 / 4.0));
  }

  TEST_CASE("ring bookkeeping: sinks fill first, then the window wraps") {
    kv::RingState s{4, 7, 0};
    CHECK(s.chunk_sinks(10) == 4);
    s = s.after(10);
    CHECK(s.sinks_filled() == 4);
    CHECK(s.ring_filled() == 6);
    CHECK(s.ring_next() == 6);
    CHECK(s.evicted() == 0);
    s = s.after(5);
    CHECK(s.ring_filled() == 7);
    CHECK(s.ring_next() == 4);  // 11 window tokens: slots 0..6 then 0..3
    CHECK(s.evicted() == 4);
    CHECK(s.cache_position(0) == 10);  // a full cache: the newest token sits at S + W - 1
    CHECK(s.key_position(1000, 0) == 1015);
    kv::RingState fresh{4, 7, 0};
    CHECK(fresh.key_position(1000, 2) == 2);  // sinks are stored at their slot
    CHECK(fresh.cache_position(2) == 2);
  }
}

}  // namespace sinkstream::test
