// The host scheduler: many streams on one copy of the weights. A stream's
// greedy tokens equal the single-stream Engine's whatever runs beside it;
// prompts are ingested in chunks without stalling generating streams; streams
// come and go from other threads; admission control refuses what cannot fit.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fixtures.hpp"
#include "gpu_fixture.hpp"
#include "model/engine.hpp"
#include "model/synthetic.hpp"
#include "ref/model_ref.hpp"
#include "sched/scheduler.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::test {
namespace {

constexpr uint32_t kChunk = 16;  // prompt chunk of both the Engine and the scheduler

struct Job {
  std::vector<int32_t> prompt;
  sched::StreamSettings settings;
  uint32_t tokens = 0;
};

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// A mix of streams: prompt lengths 1..60, sinks 0..4, windows 13..100 (most
// streams wrap their window), one stream at index 10^9.
std::vector<Job> jobs(uint32_t count, uint32_t vocab, KvType kv) {
  std::mt19937 rng(7);
  const uint32_t sinks[] = {4, 0, 1, 4, 2}, windows[] = {29, 13, 64, 100, 37};
  std::vector<Job> out;
  for (uint32_t i = 0; i < count; ++i) {
    Job j;
    const uint32_t len = 1 + (i * 37) % 60;
    j.prompt.push_back(1);
    for (uint32_t t = 1; t < len; ++t) j.prompt.push_back(static_cast<int32_t>(3 + rng() % (vocab - 3)));
    j.settings.sinks = sinks[i % 5];
    j.settings.window = windows[(i / 5) % 5];
    j.settings.kv_type = kv;
    j.settings.start_position = i == 2 ? 1000000000ull : 0;
    j.tokens = 12 + (i * 13) % 20;
    out.push_back(j);
  }
  return out;
}

// The single-stream path: prompt in chunks of kChunk, then one token at a time.
std::vector<int32_t> engine_tokens(const std::shared_ptr<const model::GpuModel>& m, const Job& j) {
  model::EngineConfig cfg = f32_engine(j.settings.sinks, j.settings.window, kChunk);
  cfg.kv_type = j.settings.kv_type;
  cfg.start_position = j.settings.start_position;
  model::Engine e(m, cfg);
  std::vector<int32_t> out{argmax(e.feed(j.prompt))};
  while (out.size() < j.tokens) out.push_back(argmax(e.feed({&out.back(), 1})));
  return out;
}

// Runs the jobs together through one scheduler; returns each one's tokens.
std::vector<std::vector<int32_t>> scheduler_tokens(const std::shared_ptr<const model::GpuModel>& m,
                                                   const std::vector<Job>& js, bool batch_decode = true) {
  sched::SchedulerConfig sc;
  sc.batch_decode = batch_decode;
  sc.max_streams = static_cast<uint32_t>(js.size());
  sc.step_tokens = kChunk;
  sched::Scheduler s(m, sc);
  std::vector<std::vector<int32_t>> out(js.size());
  std::vector<int> finished(js.size(), 0);
  for (size_t i = 0; i < js.size(); ++i) {
    const sched::StreamId id = s.create(js[i].settings);
    sched::Request r;
    r.prompt = js[i].prompt;
    r.max_tokens = js[i].tokens;
    r.on_token = [&out, i](int32_t t) {
      out[i].push_back(t);
      return true;
    };
    r.on_finish = [&finished, i](const sched::Finish& f) {
      CHECK(f.reason == sched::FinishReason::length);
      ++finished[i];
    };
    s.submit(id, std::move(r));
  }
  s.run();
  for (int f : finished) CHECK(f == 1);
  return out;
}

std::shared_ptr<const model::GpuModel> upload(const std::string& path) {
  const auto file = model::load_model(path);
  return std::make_shared<const model::GpuModel>(gpu().context(), *file);
}

// Each stream's tokens alone (Engine) and batched in groups of these sizes.
void check_batching(const std::shared_ptr<const model::GpuModel>& m, KvType kv,
                    std::initializer_list<size_t> groups, bool batch_decode = true) {
  const auto all = jobs(static_cast<uint32_t>(std::max(groups)), m->hparams().vocab, kv);
  std::vector<std::vector<int32_t>> alone;
  for (const Job& j : all) alone.push_back(engine_tokens(m, j));
  for (size_t group : groups) {
    const std::vector<Job> js(all.begin(), all.begin() + static_cast<long>(group));
    const auto got = scheduler_tokens(m, js, batch_decode);
    for (size_t i = 0; i < group; ++i) {
      INFO("stream " << i << " of " << group << " (sinks " << js[i].settings.sinks << ", window "
                     << js[i].settings.window << ", prompt " << js[i].prompt.size() << " tokens)");
      CHECK(got[i] == alone[i]);
    }
  }
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("a stream's greedy tokens are the single-stream ones, alone or beside 3, 7 or 31 others (f32 KV)") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    check_batching(upload(fixture("stories260K.bin")), KvType::f32, {1, 4, 8, 32});
  }

  TEST_CASE("the same with f16 KV, and with learned sink logits") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto stories = upload(fixture("stories260K.bin"));
    check_batching(stories, KvType::f16, {1, 8});
    // Each stream's own decode dispatches (devices without buffer addresses).
    check_batching(stories, KvType::f32, {8}, false);
    model::SyntheticSpec spec;
    spec.learned_sinks = true;
    const std::string path = temp_path("sched-learned-sinks.gguf");
    model::write_synthetic_gguf(path, spec);
    check_batching(upload(path), KvType::f32, {1, 8});
  }

  TEST_CASE("batched streams follow the paper-literal CPU reference") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto file = model::load_model(fixture("stories260K.bin"));
    const auto m = std::make_shared<const model::GpuModel>(gpu().context(), *file);
    auto js = jobs(6, 512, KvType::f32);
    for (Job& j : js) j.settings.start_position = 0;  // the reference starts at 0
    const auto got = scheduler_tokens(m, js);
    for (size_t i = 0; i < js.size(); ++i) {
      ref::ReferenceModel reference(*file, js[i].settings.sinks, js[i].settings.window);
      std::vector<float> logits;
      for (int32_t t : js[i].prompt) logits = reference.forward(t);
      std::vector<int32_t> want{argmax(logits)};
      while (want.size() < js[i].tokens) want.push_back(argmax(reference.forward(want.back())));
      INFO("stream " << i);
      CHECK(got[i] == want);
    }
  }
}

}  // namespace sinkstream::test
