// Soak: a long stream through the fixture model in constant memory. Device
// bytes, the set of live Vulkan objects and the cache occupancy must not move
// after the first window fills, and every logit stays finite. (The H100 run of
// 10^6 tokens is `sinkstream bench stream`, which checks the same counters.)
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "gpu_fixture.hpp"
#include "model/engine.hpp"
#include "vk/handles.hpp"

namespace sinkstream::test {

TEST_SUITE("soak") {
  TEST_CASE(
      "10^5 tokens of the fixture model: memory, Vulkan objects and cache occupancy stay "
      "constant") {
    REQUIRE_FIXTURE("stories260K.gguf");
    ValidationScope validation;
    const char* env = std::getenv("SINKSTREAM_SOAK_TOKENS");
    const uint64_t total = env ? std::strtoull(env, nullptr, 10) : 100000;
    const auto file = model::load_model(fixture("stories260K.gguf"));
    model::EngineConfig config;  // f16 KV: the default path
    config.sinks = 4;
    config.window = 60;
    config.max_chunk = 64;
    model::Engine engine(gpu(), *file, config);
    const uint32_t vocab = file->hp.vocab;

    std::vector<int32_t> chunk(64);
    uint64_t state = 12345;
    const auto next_id = [&] {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<int32_t>((state >> 33) % vocab);
    };
    for (auto& id : chunk) id = next_id();
    engine.feed(chunk);  // the window is full from here on
    const uint64_t bytes = gpu().allocated_bytes();
    const auto objects = vk::live_objects();
    const auto t0 = std::chrono::steady_clock::now();
    uint64_t checkpoints = 0, next_checkpoint = 10000;
    while (engine.counters().tokens < total) {
      for (auto& id : chunk) id = next_id();
      engine.feed(chunk);
      if (engine.counters().tokens >= next_checkpoint) {  // every 10^4 tokens: decode steps too
        next_checkpoint += 10000;
        int32_t token = chunk.back();
        for (int i = 0; i < 16; ++i) {
          const auto logits = engine.feed({&token, 1});
          REQUIRE(
              std::all_of(logits.begin(), logits.end(), [](float v) { return std::isfinite(v); }));
          token =
              static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
        }
        const auto c = engine.counters();
        CHECK(c.slots_used == 64);
        CHECK(c.evicted == c.tokens - 64);
        CHECK(gpu().allocated_bytes() == bytes);
        CHECK(vk::live_objects() == objects);
        ++checkpoints;
      }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto streamed = static_cast<double>(engine.counters().tokens);
    MESSAGE(streamed << " tokens in " << s << " s (" << streamed / s << " tokens/s), " << checkpoints
                     << " checkpoints");
    CHECK(checkpoints == total / 10000);
    CHECK(gpu().allocated_bytes() == bytes);
    CHECK(vk::live_objects() == objects);
  }
}

}  // namespace sinkstream::test
