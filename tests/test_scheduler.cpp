// The host scheduler: many streams on one copy of the weights. A stream's
// greedy tokens equal the single-stream Engine's whatever runs beside it;
// prompts are ingested in chunks without stalling generating streams; streams
// come and go from other threads; admission control refuses what cannot fit.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.hpp"
#include "fixtures.hpp"
#include "gpu_fixture.hpp"
#include "ref/model_ref.hpp"
#include "sample/sampler.hpp"
#include "sched/chunk_budget.hpp"
#include "sched/scheduler.hpp"
#include "vk/context.hpp"
#include "sinkstream/error.hpp"
#include "testing/synthetic.hpp"

namespace sinkstream::test {
namespace {

constexpr uint32_t kChunk = 16;  // prompt chunk of both the Engine and the scheduler

struct Job {
  std::vector<int32_t> prompt;
  sched::StreamSettings settings;
  uint32_t tokens = 0;
  std::optional<model::SamplerConfig> sampler;  // none: greedy
};

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// A mix of streams: prompt lengths 1..60, sinks 0..4, windows 13..100 (most
// streams wrap their window), one stream at index 10^9.
// mixed: stream i takes {kv, f16, f32}[i % 3] (streams of every type batched together).
std::vector<Job> jobs(uint32_t count, uint32_t vocab, KvType kv, bool mixed = false) {
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
    j.settings.kv_type = mixed ? std::array{kv, KvType::f16, KvType::f32}[i % 3] : kv;
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

// The single-stream path with the host sampler: the prompt and every pick are
// its history, as in `generate`.
std::vector<int32_t> engine_sampled(const std::shared_ptr<const model::GpuModel>& m, const Job& j) {
  model::EngineConfig cfg = f32_engine(j.settings.sinks, j.settings.window, kChunk);
  cfg.kv_type = j.settings.kv_type;
  cfg.start_position = j.settings.start_position;
  model::Engine e(m, cfg);
  model::Sampler smp(*j.sampler);
  for (int32_t t : j.prompt) smp.accept(t);
  std::vector<int32_t> out{smp.sample(e.feed(j.prompt))};
  smp.accept(out.back());
  while (out.size() < j.tokens) {
    out.push_back(smp.sample(e.feed({&out.back(), 1})));
    smp.accept(out.back());
  }
  return out;
}

// Runs the jobs together through one scheduler; returns each one's tokens.
std::vector<std::vector<int32_t>> scheduler_tokens(const std::shared_ptr<const model::GpuModel>& m,
                                                   const std::vector<Job>& js, bool batch_decode = true,
                                                   bool gpu_sampling = true,
                                                   sched::SchedulerCounters* counters = nullptr,
                                                   bool record_ahead = true) {
  sched::SchedulerConfig sc;
  sc.batch_decode = batch_decode;
  sc.record_ahead = record_ahead;
  sc.gpu_sampling = gpu_sampling;
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
    if (js[i].sampler) r.sampler = *js[i].sampler;
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
  if (counters) *counters = s.counters();
  return out;
}

std::shared_ptr<const model::GpuModel> upload(const std::string& path) {
  const auto file = model::load_model(path);
  return std::make_shared<const model::GpuModel>(gpu().context(), *file);
}

// Each stream's tokens alone (Engine) and batched in groups of these sizes.
void check_batching(const std::shared_ptr<const model::GpuModel>& m, KvType kv,
                    std::initializer_list<size_t> groups, bool batch_decode = true,
                    bool mixed = false) {
  const auto all = jobs(static_cast<uint32_t>(std::max(groups)), m->hparams().vocab, kv, mixed);
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

  TEST_CASE("gemma3 and gemma2 models: sliding-window layers on their own ring, batched and alone") {
    ValidationScope validation;
    model::SyntheticSpec spec;
    spec.gemma3 = true;
    spec.layers = 3;
    spec.sliding_window = 6;  // layers 0 and 1; the jobs' streams run past it
    spec.sliding_pattern = 3;
    spec.rope_theta = 1e6f;
    spec.tied_output = true;
    const std::string path = temp_path("sched-gemma3.gguf");
    model::write_synthetic_gguf(path, spec);
    const auto m = upload(path);
    check_batching(m, KvType::f16, {1, 6});
    check_batching(m, KvType::f32, {6}, false);
    std::filesystem::remove(path);
    // gemma2: soft-capped scores in the batched rows too.
    model::SyntheticSpec g2;
    g2.gemma2 = true;
    g2.sliding_window = 6;
    g2.attn_softcap = 1.5f;
    g2.final_softcap = 2.0f;
    model::write_synthetic_gguf(path, g2);
    check_batching(upload(path), KvType::f16, {6});
    std::filesystem::remove(path);
  }

  TEST_CASE("gpt-oss models: each batched row routed to its own experts, as when it runs alone") {
    ValidationScope validation;
    model::SyntheticSpec spec = model::synthetic_preset("gpt-oss-tiny");
    spec.layers = 2;  // layer 0 slides over 6 tokens
    spec.sliding_window = 6;
    const std::string path = temp_path("sched-gpt-oss.gguf");
    model::write_synthetic_gguf(path, spec);
    check_batching(upload(path), KvType::f16, {6});  // each against its Engine run alone
    std::filesystem::remove(path);
  }

  TEST_CASE(
      "q8_0 KV streams: alone, batched with f16 and f32 streams, and counted exactly by "
      "admission") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto stories = upload(fixture("stories260K.bin"));
    check_batching(stories, KvType::q8_0, {4}, true, true);  // q8_0, f16, f32, q8_0
    sched::SchedulerConfig sc;
    sc.max_streams = 2;
    sched::Scheduler s(stories, sc);
    uint64_t bytes[2] = {};
    for (KvType kv : {KvType::f16, KvType::q8_0}) {
      const sched::StreamSettings st{4, 2000, kv, 0};
      const uint64_t before = gpu().allocated_bytes();
      const auto id = s.create(st);
      bytes[kv == KvType::q8_0] = gpu().allocated_bytes() - before;
      CHECK(bytes[kv == KvType::q8_0] == s.stream_bytes(st));
      s.destroy(id);
    }
    // head_dim 8: 8 quants + a float16 scale per row, against 16 bytes of halves.
    INFO("f16 stream " << bytes[0] << " bytes, q8_0 stream " << bytes[1]);
    CHECK(bytes[1] < bytes[0] * 7 / 10);
  }

  TEST_CASE("sampled streams: the GPU sampler's tokens are the host sampler's, alone or batched") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = upload(fixture("stories260K.bin"));
    auto js = jobs(8, m->hparams().vocab, KvType::f32);
    const model::SamplerConfig settings[] = {
        {0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 1},   // the CLI's defaults
        {1.0f, 0, 0.9f, 0.0f, 1.0f, 64, 2},      // top-p alone, the whole vocabulary
        {0.0f, 0, 1.0f, 0.0f, 1.3f, 64, 3},      // greedy with a repetition penalty
        {1.2f, 100, 1.0f, 0.1f, 1.15f, 32, 4},   // min-p and the penalty
    };
    for (size_t i = 0; i < js.size(); ++i)
      if (i % 5 != 4) js[i].sampler = settings[i % 4];  // and a greedy stream among them
    sched::SchedulerCounters gpu_counts, host_counts;
    const auto on_gpu = scheduler_tokens(m, js, true, true, &gpu_counts);
    const auto on_host = scheduler_tokens(m, js, true, false, &host_counts);
    CHECK(gpu_counts.sampled_on_gpu > 0);
    CHECK(gpu_counts.sampled_on_host == 0);  // every setting above fits the kernel
    CHECK(host_counts.sampled_on_gpu == 0);
    CHECK(host_counts.sampled_on_host == gpu_counts.sampled_on_gpu);
    for (size_t i = 0; i < js.size(); ++i) {
      INFO("stream " << i);
      CHECK(on_gpu[i] == on_host[i]);
      CHECK(on_gpu[i] == (js[i].sampler ? engine_sampled(m, js[i]) : engine_tokens(m, js[i])));
    }
  }

  TEST_CASE("steps recorded while the previous one runs give the tokens of steps recorded when they run") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = upload(fixture("stories260K.bin"));
    auto js = jobs(8, m->hparams().vocab, KvType::f16, true);
    const model::SamplerConfig sampled[] = {
        {0.8f, 40, 0.95f, 0.05f, 1.0f, 64, 5},    // GPU sampler
        {1.2f, 100, 1.0f, 0.1f, 1.15f, 32, 6},   // GPU sampler with a penalty (its history is an input)
        {0.7f, 4000, 1.0f, 0.0f, 1.0f, 64, 7},   // top-k past the kernel's: sampled on the host
    };
    for (size_t i = 0; i < js.size(); ++i)
      if (i % 2 == 1) js[i].sampler = sampled[(i / 2) % 3];
    for (bool batch_decode : {true, false}) {
      INFO("batched decode attention: " << batch_decode);
      sched::SchedulerCounters ahead, when_run;
      const auto a = scheduler_tokens(m, js, batch_decode, true, &ahead, true);
      const auto b = scheduler_tokens(m, js, batch_decode, true, &when_run, false);
      CHECK(when_run.steps_recorded_ahead == 0);
      INFO("steps " << ahead.steps << ", recorded ahead " << ahead.steps_recorded_ahead);
      CHECK(ahead.steps == when_run.steps);
      if (vk::env_flag("SINKSTREAM_CHECK_FINITE"))  // the NaN guard's status is one per step: no step ahead
        CHECK(ahead.steps_recorded_ahead == 0);
      else  // every step but those after a prompt chunk or a request's end, and the first
        CHECK(ahead.steps_recorded_ahead * 2 > ahead.steps);
      CHECK(ahead.sampled_on_gpu == when_run.sampled_on_gpu);
      CHECK(ahead.sampled_on_host == when_run.sampled_on_host);
      CHECK(ahead.sampled_on_host > 0);
      for (size_t i = 0; i < js.size(); ++i) {
        INFO("stream " << i);
        CHECK(a[i] == b[i]);
        if (!js[i].sampler) CHECK(a[i] == engine_tokens(m, js[i]));
      }
    }
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

  TEST_CASE("a long prompt is ingested in chunks beside generating streams, which get a token every step") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = upload(fixture("stories260K.bin"));
    sched::SchedulerConfig sc;
    sc.max_streams = 4;
    sc.step_tokens = 16;
    sched::Scheduler s(m, sc);
    // Two streams generate while a third ingests 200 tokens (13 chunks of <= 16).
    std::vector<uint64_t> steps_at_token;  // the step count when stream A got each token
    const auto a = s.create({4, 60, KvType::f32, 0}), b = s.create({4, 60, KvType::f32, 0});
    const auto c = s.create({4, 60, KvType::f32, 0});
    sched::Request ra;
    ra.prompt = {1, 400};
    ra.max_tokens = 30;
    ra.on_token = [&](int32_t) {
      steps_at_token.push_back(s.counters().steps);
      return true;
    };
    s.submit(a, ra);
    sched::Request rb;
    rb.prompt = {1, 300, 301};
    rb.max_tokens = 30;
    s.submit(b, rb);
    s.step();  // both prompts in one step
    sched::Request rc;
    for (int i = 0; i < 200; ++i) rc.prompt.push_back(1 + (i * 31) % 500);
    s.submit(c, rc);
    s.run();
    REQUIRE(steps_at_token.size() == 30);
    for (size_t i = 1; i < steps_at_token.size(); ++i) CHECK(steps_at_token[i] == steps_at_token[i - 1] + 1);
    CHECK(s.info(c).tokens == 200);
    CHECK(s.counters().prompt_tokens == 2 + 3 + 200);
  }

  TEST_CASE("chunk_budget: a chunk fits the latency aim, within its bounds") {
    using sched::chunk_budget;
    CHECK(chunk_budget(1.6, 0.11, 2.0, 64) == 14);   // one H100 decode step of 1.6 ms, 0.11 ms a token
    CHECK(chunk_budget(12.0, 0.11, 2.0, 64) == 64);  // 32 streams: the whole chunk fits
    CHECK(chunk_budget(1.6, 0.11, 3.0, 64) == 29);
    CHECK(chunk_budget(1.6, 1.0, 2.0, 64) == 4);     // never fewer than step_tokens / 16
    CHECK(chunk_budget(1.6, 1.0, 2.0, 8) == 1);
    CHECK(chunk_budget(1.6, 0.11, 0.0, 64) == 64);   // no aim
    CHECK(chunk_budget(0.0, 0.0, 2.0, 64) == 0);     // a step without a chunk times the decode rows
    CHECK(chunk_budget(1.6, 0.0, 2.0, 64) == 4);     // then the fewest tokens time a chunk
    CHECK(chunk_budget(0.0, 0.0, 1.0, 64) == 4);     // no time to spare
  }

  TEST_CASE("a prompt cut to the latency aim is ingested whole, its tokens those of its chunks alone") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = upload(fixture("stories260K.bin"));
    sched::SchedulerConfig sc;
    sc.max_streams = 3;
    sc.step_tokens = 16;
    sc.ingest_latency = 1.0;  // no time to spare: chunks of min_chunk_tokens(16) = 1 beside decode rows
    sched::Scheduler s(m, sc);
    Job c{{}, {4, 29, KvType::f32, 0}, 8, std::nullopt};  // its window wraps
    const auto a = s.create({4, 60, KvType::f32, 0}), b = s.create(c.settings);
    sched::Request ra;
    ra.prompt = {1, 400};
    ra.max_tokens = 60;
    s.submit(a, ra);
    s.step();  // a's prompt: a decodes from now on
    for (int i = 0; i < 40; ++i) c.prompt.push_back(1 + (i * 31) % 500);
    std::vector<int32_t> got;
    sched::Request rc;
    rc.prompt = c.prompt;
    rc.max_tokens = c.tokens;
    rc.on_token = [&](int32_t t) {
      got.push_back(t);
      return true;
    };
    s.submit(b, rc);
    const uint64_t chunks_before = s.counters().prompt_chunks;
    s.run();
    CHECK(s.counters().prompt_chunks - chunks_before == 40);  // one token a step, a decoding beside
    CHECK(s.counters().prompt_tokens == 2 + 40);
    // The Engine fed the same way: one token at a time.
    model::EngineConfig cfg = f32_engine(c.settings.sinks, c.settings.window, 1);
    model::Engine e(m, cfg);
    std::span<const float> l;
    for (int32_t t : c.prompt) l = e.feed({&t, 1});
    std::vector<int32_t> want{argmax(l)};
    while (want.size() < c.tokens) want.push_back(argmax(e.feed({&want.back(), 1})));
    CHECK(got == want);
  }

  TEST_CASE("cancel, destroy and reuse; stop tokens and the callback's verdict end a request") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = upload(fixture("stories260K.bin"));
    sched::SchedulerConfig sc;
    sc.max_streams = 2;
    sched::Scheduler s(m, sc);
    const auto id = s.create({4, 40, KvType::f16, 0});
    std::vector<sched::Finish> ends;
    std::vector<int32_t> got;
    sched::Request r;
    r.prompt = {1, 403, 407};
    r.max_tokens = 1000;
    r.on_token = [&](int32_t t) {
      got.push_back(t);
      return got.size() < 5;  // stop after the fifth token
    };
    r.on_finish = [&](const sched::Finish& f) { ends.push_back(f); };
    s.submit(id, r);
    CHECK_THROWS_AS(s.submit(id, r), InvalidArgument);  // busy
    s.run();
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].reason == sched::FinishReason::callback);
    CHECK(got.size() == 5);
    // A stop token: the next generated token of the same text ends the request unseen.
    const int32_t stop = got.front();
    got.clear();
    sched::Request again = r;
    again.on_token = [&](int32_t t) {
      got.push_back(t);
      return true;
    };
    const auto other = s.create({4, 40, KvType::f16, 0});
    CHECK_THROWS_AS(s.create({4, 40, KvType::f16, 0}), StreamLimitReached);  // max_streams = 2
    s.destroy(other);
    s.destroy(id);
    CHECK_THROWS_AS(s.info(id), InvalidArgument);
    const auto id2 = s.create({4, 40, KvType::f16, 0});
    again.stop_tokens = {stop};
    s.submit(id2, again);
    s.run();
    REQUIRE(ends.size() == 2);
    CHECK(ends[1].reason == sched::FinishReason::stop_token);
    CHECK(ends[1].stop_token == stop);
    CHECK(got.empty());
    // Cancelled between steps.
    sched::Request long_run = again;
    long_run.stop_tokens.clear();
    s.submit(id2, long_run);
    s.step();
    s.step();
    s.cancel(id2);
    s.run();
    REQUIRE(ends.size() == 3);
    CHECK(ends[2].reason == sched::FinishReason::cancelled);
    CHECK(s.counters().live_streams == 1);
  }

  TEST_CASE("streams come and go from other threads while a driver thread steps") {
    REQUIRE_FIXTURE("stories260K.bin");
    ValidationScope validation;
    const auto m = upload(fixture("stories260K.bin"));
    const uint64_t baseline = gpu().allocated_bytes();
    sched::SchedulerConfig sc;
    sc.max_streams = 6;
    sc.step_tokens = 8;
    {
      sched::Scheduler s(m, sc);
      const uint64_t idle = gpu().allocated_bytes();
      std::atomic<bool> stop{false};
      std::thread driver([&] {
        while (!stop) {
          if (!s.step()) s.wait_for_work(std::chrono::milliseconds(2));
        }
      });
      std::atomic<int> finished{0}, submitted{0};
      const auto client = [&](int seed) {
        std::mt19937 rng(static_cast<uint32_t>(seed));
        for (int round = 0; round < 4; ++round) {
          const auto id = s.create({static_cast<uint32_t>(rng() % 4), 20 + static_cast<uint32_t>(rng() % 40), KvType::f16, 0});
          sched::Request r;
          r.prompt = {1, static_cast<int32_t>(3 + rng() % 500)};
          r.max_tokens = static_cast<uint32_t>(4 + rng() % 12);
          r.on_finish = [&](const sched::Finish&) { ++finished; };
          s.submit(id, r);
          ++submitted;
          std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
          if (rng() % 2) s.cancel(id);
          while (s.info(id).busy) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          s.destroy(id);
        }
      };
      std::vector<std::thread> clients;
      for (int c = 0; c < 3; ++c) clients.emplace_back(client, c);
      for (auto& t : clients) t.join();
      while (s.counters().live_streams > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      stop = true;
      driver.join();
      CHECK(finished == submitted);  // every request ended exactly once
      CHECK(gpu().allocated_bytes() == idle);  // every stream's cache freed
    }
    CHECK(gpu().allocated_bytes() == baseline);
  }

  TEST_CASE("admission control refuses a stream that cannot fit, saying what would") {
    REQUIRE_FIXTURE("stories260K.bin");
    const auto file = model::load_model(fixture("stories260K.bin"));
    sched::SchedulerConfig sc;
    sc.max_streams = 8;
    const sched::StreamSettings big{4, 2000, KvType::f32, 0};
    uint64_t fixed = 0, per = 0;  // the weights and the scheduler; one stream
    {
      const uint64_t before = gpu().allocated_bytes();
      sched::Scheduler probe(std::make_shared<const model::GpuModel>(gpu().context(), *file), sc);
      fixed = gpu().allocated_bytes() - before;
      per = probe.stream_bytes(big);
    }
    // A device with room for two and a half such streams.
    GpuOptions o;
    o.memory_limit = fixed + 2 * per + per / 2;
    o.pipeline_cache = "off";
    Gpu limited(o);
    auto lm = std::make_shared<const model::GpuModel>(limited.context(), *file);
    sched::Scheduler s(lm, sc);
    const uint64_t room = o.memory_limit - limited.allocated_bytes();
    CHECK(s.streams_that_fit(big) == room / per);
    std::vector<sched::StreamId> ids;
    for (uint32_t i = 0; i < room / per; ++i) ids.push_back(s.create(big));
    try {
      s.create(big);
      FAIL("the stream past the limit was accepted");
    } catch (const OutOfDeviceMemory& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("no more stream of this size fits") != std::string::npos);
      CHECK(msg.find("a window of at most") != std::string::npos);
      CHECK(msg.find("f16 KV halves the cache") != std::string::npos);
    }
    s.destroy(ids.back());  // idle: freed at once, and its room is usable again
    CHECK_NOTHROW(s.create(big));
  }
}

}  // namespace sinkstream::test
