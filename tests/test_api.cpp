// The public C++ API (include/sinkstream): a Stream generates what the CLI
// generates, stop strings and the token callback end it, the Chat closes its
// turns, and the public Scheduler gives each stream a Stream's tokens; the
// helpers the CLI's tools use (templates, ReferenceStream, the benchmarks).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_run.hpp"
#include "fixtures.hpp"
#include "gpu_fixture.hpp"
#include "sinkstream/sinkstream.h"
#include "sinkstream/sinkstream.hpp"
#include "sinkstream/stream.hpp"
#include "testing/synthetic.hpp"

namespace sinkstream::test {

TEST_SUITE("api") {
  TEST_CASE("the version header and version() agree") {
    CHECK(std::string(version()) == SINKSTREAM_VERSION_STRING);
    CHECK(SINKSTREAM_VERSION_NUMBER == SINKSTREAM_VERSION_MAJOR * 10000 + SINKSTREAM_VERSION_MINOR * 100 +
                                           SINKSTREAM_VERSION_PATCH);
  }

  TEST_CASE("Model::load refuses a llama2.c checkpoint without its tokenizer, and takes it with one") {
    REQUIRE_FIXTURE("stories260K.bin");
    CHECK_THROWS_AS(Model::load(fixture("stories260K.bin")), InvalidArgument);
    ModelOptions o;
    o.tokenizer = fixture("tok512.bin");
    const Model m = Model::load(fixture("stories260K.bin"), o);
    CHECK(m.info().format == "llama2.c");
    CHECK(m.info().layers == 5);
    CHECK(m.vocab_size() == 512);
    CHECK(m.device_bytes() == 0);  // the weights go up with the first stream
    Stream s(m, {});
    CHECK(m.device_bytes() > 0);
  }

  TEST_CASE("Tokenizer, inspect_model and utf8 helpers work without a device") {
    REQUIRE_FIXTURE("stories260K.bin");
    const Tokenizer tok = Tokenizer::load(fixture("tok512.bin"));
    CHECK(tok.size() == 512);
    CHECK(tok.kind() == "spm");
    const auto ids = tok.encode("Once upon a time", true, true);
    REQUIRE(ids.size() > 1);
    CHECK(ids[0] == tok.bos());
    CHECK(tok.decode(ids) == "Once upon a time");
    CHECK(tok.is_end_of_generation(tok.eos()));
    CHECK_FALSE(tok.is_end_of_generation(100000));
    CHECK_THROWS_AS(inspect_model(fixture("stories260K.bin")), InvalidArgument);  // no tokenizer
    const ModelFileInfo info = inspect_model(fixture("stories260K.bin"), fixture("tok512.bin"));
    CHECK(info.layers == 5);
    CHECK(info.tied_output);
    CHECK(info.tensors.size() == 1 + 5 * 9 + 1);
    uint64_t bytes = 0;
    for (const auto& t : info.tensors) bytes += t.bytes;
    CHECK(bytes == info.weight_bytes);
    CHECK_FALSE(is_gguf_file(fixture("stories260K.bin")));
    CHECK(is_gguf_file(fixture("stories260K.gguf")));
    CHECK(utf8_valid_length("\xC3\xA9", 0) == 2);
    CHECK(utf8_valid_length("\xC3", 0) == 0);
    CHECK(utf8_sequence_length(0xE2) == 3);
  }

  TEST_CASE("Stream::generate's text, stop strings and callback match the CLI") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const std::string path = fixture("stories260K.gguf");
    const Model m = Model::load(path);
    Stream s(m, {});
    Sampler greedy(SamplerParams::greedy());
    const auto prompt = m.tokenize("Once upon a time");
    s.feed(prompt);
    std::string text;
    GenerateOptions o;
    o.max_tokens = 80;
    o.stop_strings = {"Lily"};
    const auto r = s.generate(greedy, o, [&](int32_t, std::string_view t) {
      text += t;
      return true;
    });
    CHECK(r.reason == StopReason::stop_string);
    const auto cli = run_sh("\"$B\" generate --model " + path +
                            " --prompt 'Once upon a time' --temperature 0 --tokens 80 --stop Lily 2>/dev/null");
    CHECK(text + "\n" == cli.out);
    CHECK(text.find("Lily") == std::string::npos);

    // The callback's false ends it after that token; the stream goes on from there.
    s.reset();
    CHECK(s.logits().empty());
    CHECK_THROWS_AS(s.generate(greedy, o, nullptr), InvalidArgument);
    s.feed_text("Once upon a time");
    CHECK(s.stats().tokens == prompt.size());  // BOS first on an empty stream
    size_t n = 0;
    o.stop_strings.clear();
    const auto r2 = s.generate(greedy, o, [&](int32_t t, std::string_view) { return t == kNoToken || ++n < 5; });
    CHECK(r2.reason == StopReason::callback);
    CHECK(r2.tokens.size() == 5);
  }

  TEST_CASE("Chat: a reply cut short by the token limit is closed in the stream") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const Model m = Model::load(fixture("stories260K.gguf"));
    Stream s(m, {});
    ChatOptions co;
    co.sampler = SamplerParams::greedy();
    co.preamble = {{"system", "Tell stories."}};
    uint64_t fed_pieces = 0;
    co.before_feed = [&](uint64_t tokens, uint64_t) { fed_pieces += tokens > 0; };
    Chat chat(s, ChatTemplate::builtin("chatml"), co);
    chat.add_user_turn("Once upon a time");
    const auto r = chat.reply(6, nullptr);
    CHECK(r.reason == StopReason::max_tokens);
    CHECK(r.tokens == 6);
    REQUIRE(chat.messages().size() == 3);
    CHECK(chat.messages().back().content == r.text);
    // The turn's close (<|im_end|>\n) was fed after the reply.
    CHECK(fed_pieces == 2);
    CHECK(s.stats().tokens > 6 + m.tokenize(m.apply_chat_template(chat.chat_template(), chat.messages(), false)).size() / 2);
    chat.clear();
    CHECK(s.stats().tokens == 0);
    CHECK(chat.messages().size() == 1);
  }

  TEST_CASE("Chat and ss_chat_needs_bos add BOS only where the vocabulary asks for it") {
    for (const bool add_bos : {true, false}) {
      CAPTURE(add_bos);
      model::SyntheticSpec spec;
      spec.add_bos_token = add_bos;
      const std::string path = temp_path(std::string("chat-bos-") + (add_bos ? "on" : "off") + ".gguf");
      model::write_synthetic_gguf(path, spec);
      const Model m = Model::load(path);
      CHECK(m.adds_bos() == add_bos);
      Stream s(m, {});
      ChatOptions co;
      co.sampler = SamplerParams::greedy();
      uint64_t first_feed = 0;
      co.before_feed = [&](uint64_t tokens, uint64_t at) { if (at == 0) first_feed = tokens; };
      Chat chat(s, ChatTemplate::builtin("chatml"), co);  // chatml writes no BOS itself
      chat.add_user_turn("Once upon a time");
      chat.reply(1, nullptr);
      const std::vector<ChatMessage> asked = {chat.messages().front()};  // the user turn, before the reply
      const auto prompt = m.tokenize(m.apply_chat_template(chat.chat_template(), asked, true), TokenizeOptions{false, true});
      CHECK(first_feed == prompt.size() + (add_bos ? 1 : 0));
      ss_model* cm = nullptr;
      REQUIRE(ss_model_load(path.c_str(), nullptr, &cm) == SS_OK);
      CHECK(ss_chat_needs_bos(cm, "chatml") == add_bos);
      ss_model_free(cm);
      std::filesystem::remove(path);
    }
  }

  TEST_CASE("public Scheduler: each stream's greedy tokens are a Stream's, with info, cancel and destroy") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const Model m = Model::load(fixture("stories260K.gguf"));
    const StreamSettings settings{4, 28, KvType::f16, 64, false};
    const std::vector<std::string> prompts = {"Once upon a time", "The cat", "Lily and Ben went"};
    std::vector<std::vector<int32_t>> expected;
    for (const auto& p : prompts) {
      Stream s(m, settings);
      s.feed(m.tokenize(p));
      Sampler g(SamplerParams::greedy());
      GenerateOptions o;
      o.max_tokens = 40;
      o.ignore_eos = true;
      expected.push_back(s.generate(g, o, nullptr).tokens);
    }
    Scheduler sched(m, {8, 16, false});
    std::vector<std::vector<int32_t>> got(prompts.size());
    std::vector<Finish> finished(prompts.size());
    std::vector<StreamId> ids;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const StreamId id = sched.create_stream(settings);
      ids.push_back(id);
      Request r;
      r.prompt = m.tokenize(prompts[i]);
      r.max_tokens = 40;
      r.on_token = [&got, i](int32_t t) {
        got[i].push_back(t);
        return true;
      };
      r.on_finish = [&finished, i](const Finish& f) { finished[i] = f; };
      sched.submit(id, std::move(r));
    }
    // A fourth stream is cancelled before it runs.
    const StreamId extra = sched.create_stream(settings);
    Finish cancelled;
    sched.submit(extra, {m.tokenize("Tom"), 10, SamplerParams::greedy(), {}, nullptr,
                         [&](const Finish& f) { cancelled = f; }});
    sched.cancel(extra);
    std::atomic<bool> stop{false};
    std::thread driver([&] { sched.run_until(stop); });
    while (sched.counters().generated_tokens < 120) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    while (sched.info(ids[0]).busy || sched.info(ids[1]).busy || sched.info(ids[2]).busy)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    stop = true;
    driver.join();
    for (size_t i = 0; i < prompts.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i] == expected[i]);
      CHECK(finished[i].reason == StopReason::max_tokens);
      CHECK(finished[i].generated == 40);
      const StreamInfo info = sched.info(ids[i]);
      CHECK(info.capacity == 32);
      CHECK(info.settings.sinks == 4);
      CHECK(info.position == m.tokenize(prompts[i]).size() + 39);  // the last token is not fed yet
      CHECK(info.evicted == info.position - 32);
    }
    CHECK(cancelled.reason == StopReason::cancelled);
    const auto c = sched.counters();
    CHECK(c.live_streams == 4);
    CHECK(c.device_bytes >= c.weight_bytes + 4 * sched.stream_bytes(settings));
    sched.destroy(extra);
    sched.step();
    CHECK_THROWS_AS(sched.info(extra), InvalidArgument);
    CHECK_THROWS_AS(sched.submit(12345, {}), InvalidArgument);
  }

  TEST_CASE("render_chat_template: JSON variables, the template's errors as Error, a GGUF's own template") {
    TemplateVariables v;
    v.messages = R"([{"role":"user","content":"Hi"}])";
    v.extra = R"({"greeting":"hello"})";
    v.tools = R"([{"name":"f"}])";
    v.bos_token = "<s>";
    v.add_generation_prompt = true;
    const std::string t =
        "{{ bos_token }}{{ greeting }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
        "{{ tools[0].name }}{% if add_generation_prompt %}>{% endif %}";
    CHECK(render_chat_template(t, v) == "<s>hello[user:Hi]f>");
    CHECK_THROWS_WITH_AS(render_chat_template("{{ raise_exception('nope') }}", v), "nope", Error);
    CHECK_THROWS_AS(render_chat_template("{% if x %}", v), Error);
    v.messages = "{}";
    CHECK_THROWS_AS(render_chat_template(t, v), InvalidArgument);
    CHECK(parse_byte_size("512M") == 512ull << 20);
    CHECK_THROWS_AS(parse_byte_size("lots"), InvalidArgument);
    REQUIRE_FIXTURE("tokenizers/ggml-vocab-phi-3.gguf");
    const FileChatTemplate f = read_chat_template(fixture("tokenizers/ggml-vocab-phi-3.gguf"));
    CHECK(f.source.find("<|user|>") != std::string::npos);
    CHECK(f.bos_token == "<s>");
    CHECK_THROWS_AS(read_chat_template(fixture("stories260K.gguf")), InvalidArgument);  // none
    CHECK_THROWS_AS(read_chat_template(fixture("stories260K.bin")), InvalidArgument);   // not a GGUF
  }

  TEST_CASE("ReferenceStream agrees with AttentionStream past the window") {
    StreamConfig cfg;
    cfg.layers = 2;
    cfg.heads = 4;
    cfg.kv_heads = 2;
    cfg.head_dim = 16;
    cfg.sinks = 2;
    cfg.window = 5;
    cfg.kv_type = KvType::f32;
    cfg.max_chunk = 3;
    Gpu gpu;
    AttentionStream stream(gpu, cfg);
    ReferenceStream reference(cfg);
    const size_t q_n = size_t{cfg.layers} * 3 * cfg.heads * cfg.head_dim, kv_n = q_n / 2;
    std::vector<float> q(q_n), k(kv_n), v(kv_n), out(q_n);
    double worst = 0;
    for (int step = 0; step < 5; ++step) {  // 15 tokens through a 7-slot cache
      for (size_t i = 0; i < q_n; ++i) q[i] = static_cast<float>(((i * 7 + step * 13) % 17) - 8) / 4.0f;
      for (size_t i = 0; i < kv_n; ++i) k[i] = static_cast<float>(((i * 5 + step) % 11) - 5) / 5.0f;
      for (size_t i = 0; i < kv_n; ++i) v[i] = static_cast<float>(((i * 3 + step * 7) % 13) - 6) / 6.0f;
      stream.step(q, k, v, 3, out);
      const std::vector<double> expect = reference.step(q, k, v, 3);
      REQUIRE(expect.size() == out.size());
      for (size_t i = 0; i < out.size(); ++i) worst = std::max(worst, std::abs(out[i] - expect[i]));
    }
    CHECK(stream.counters().evicted == 8);
    CHECK(worst < 2e-4);
  }

  TEST_CASE("bench_attention and bench_batch: rows of the shapes asked for") {
    Gpu gpu;
    AttentionBenchOptions a;
    a.heads = 2;
    a.kv_heads = 1;
    a.head_dim = 16;
    a.sinks = 2;
    a.iters = 1;
    a.min_bytes = 1;
    const AttentionBenchResult r = bench_attention(gpu, a, KvType::f16, 16);
    CHECK(r.layers == 1);
    CHECK(r.cache == 16);
    CHECK(r.attention_us > 0);
    CHECK(r.copy_gbs > 0);
    REQUIRE_FIXTURE("stories260K.bin");
    ModelOptions mo;
    mo.load_tokenizer = false;
    const Model m = Model::load(fixture("stories260K.bin"), mo);
    BatchBenchOptions b;
    b.stream.window = 12;
    b.counts = {2};
    b.steps = 2;
    b.ingest_tokens = 0;
    int seen = 0;
    const BatchBenchResult br = bench_batch(m, b, [&](const BatchBenchRow& row) { seen += row.streams; });
    REQUIRE(br.rows.size() == 1);
    CHECK(seen == 2);
    CHECK(br.window == 12);
    CHECK(br.rows[0].aggregate_tps > 0);
    CHECK(br.rows[0].ops_us.empty());  // no profile asked for
    CHECK(br.stream_bytes > 0);
  }
}

}  // namespace sinkstream::test
