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
#include "engine/engine.hpp"
#include "testing/synthetic.hpp"
#include "sched/scheduler.hpp"
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

  TEST_CASE("10^5 tokens through the scheduler, 8 streams: device bytes = weights + streams x per stream + activations, flat") {
    ValidationScope validation;
    // A 2-layer synthetic model and no NaN guard keep 10^5 tokens within minutes on
    // lavapipe; the single-stream soak above runs the fixture with the guard on.
    const ScopedEnv no_guard("SINKSTREAM_CHECK_FINITE", nullptr);
    const std::string path = temp_path("soak-sched.gguf");
    model::write_synthetic_gguf(path, model::SyntheticSpec{});
    const auto file = model::load_model(path);
    const uint64_t before = gpu().allocated_bytes();
    auto m = std::make_shared<const model::GpuModel>(gpu().context(), *file);
    sched::SchedulerConfig sc;
    sc.max_streams = 8;
    sc.step_tokens = 256;
    sched::Scheduler s(m, sc);
    const sched::StreamSettings st{4, 60, KvType::f16, 0};
    std::vector<sched::StreamId> ids;
    for (int i = 0; i < 8; ++i) ids.push_back(s.create(st));
    const auto c0 = s.counters();
    // What the device holds is exactly its parts.
    CHECK(c0.device_bytes - before == c0.weight_bytes + c0.activation_bytes + 8 * s.stream_bytes(st));
    MESSAGE("device bytes " << c0.device_bytes - before << " = weights " << c0.weight_bytes << " + 8 streams x "
                            << s.stream_bytes(st) << " + activations " << c0.activation_bytes);
    uint64_t state = 99;
    const auto next_id = [&] {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<int32_t>((state >> 33) % file->hp.vocab);
    };
    // Rounds of a 1000-token prompt and 50 generated tokens on every stream, each
    // request continuing its stream: 8 x 1050 tokens a round.
    auto objects = vk::live_objects();
    const char* env = std::getenv("SINKSTREAM_SOAK_TOKENS");
    const uint64_t total = env ? std::strtoull(env, nullptr, 10) : 100000;
    uint64_t fed = 0;
    for (int round = 0; fed < total; ++round) {
      for (sched::StreamId id : ids) {
        sched::Request r;
        for (int i = 0; i < 1000; ++i) r.prompt.push_back(next_id());
        r.max_tokens = 50;
        s.submit(id, std::move(r));
      }
      s.run();
      fed = s.counters().prompt_tokens + s.counters().generated_tokens;
      if (round == 0) objects = vk::live_objects();  // after the first round's kernels exist
      CHECK(s.counters().device_bytes == c0.device_bytes);
      CHECK(vk::live_objects() == objects);
      for (sched::StreamId id : ids) CHECK(s.info(id).slots_used == 64);
    }
    uint64_t tokens = 0, evicted = 0;
    for (sched::StreamId id : ids) {
      tokens += s.info(id).tokens;
      evicted += s.info(id).evicted;
    }
    CHECK(evicted == tokens - 8 * 64);
    MESSAGE(fed << " tokens through 8 streams in " << s.counters().steps << " steps");
  }
}

}  // namespace sinkstream::test
