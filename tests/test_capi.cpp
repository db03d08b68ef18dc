// The C API (sinkstream.h): errors and their codes, NULLs and bad arguments,
// the capacity protocol of ss_tokenize / ss_token_to_piece, and greedy
// equality with `sinkstream generate --temperature 0` on the fixture model.
#include <doctest/doctest.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "fixtures.hpp"
#include "sinkstream/sinkstream.h"

namespace sinkstream::test {
namespace {

// A loaded fixture model, freed at scope exit.
struct CModel {
  ss_model* m = nullptr;
  explicit CModel(const std::string& path) {
    const ss_model_params p = ss_model_default_params();
    REQUIRE_MESSAGE(ss_model_load(path.c_str(), &p, &m) == SS_OK, ss_last_error());
  }
  ~CModel() { ss_model_free(m); }
};

std::vector<int32_t> parse_ids(const std::string& s) {
  std::istringstream in(s);
  std::vector<int32_t> out;
  for (int32_t v; in >> v;) out.push_back(v);
  return out;
}

// What the CLI generates greedily from the prompt with these cache options.
std::vector<int32_t> cli_ids(const std::string& model, const std::string& prompt, int tokens,
                             const std::string& cache_args) {
  const auto r = run_sh("\"$B\" generate --model " + model + " --prompt '" + prompt + "' --temperature 0 --tokens " +
                        std::to_string(tokens) + " --ids --ignore-eos " + cache_args + " 2>/dev/null");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  return parse_ids(r.out);
}

// The same through the C API: the prompt fed one token at a time (or at once),
// then each greedy pick fed back.
std::vector<int32_t> c_ids(ss_model* m, const std::string& prompt, int tokens, const ss_stream_params& sp,
                           bool one_at_a_time) {
  std::vector<int32_t> in(256);
  const int32_t n = ss_tokenize(m, prompt.c_str(), -1, true, in.data(), static_cast<int32_t>(in.size()));
  REQUIRE(n > 0);
  in.resize(static_cast<size_t>(n));
  ss_stream* s = nullptr;
  REQUIRE_MESSAGE(ss_stream_create(m, &sp, &s) == SS_OK, ss_last_error());
  if (one_at_a_time) {
    for (int32_t t : in) REQUIRE(ss_stream_feed(s, &t, 1) == SS_OK);
  } else {
    REQUIRE(ss_stream_feed(s, in.data(), n) == SS_OK);
  }
  ss_sampler_params greedy = ss_sampler_default_params();
  greedy.temperature = 0;
  std::vector<int32_t> out;
  for (int i = 0; i < tokens; ++i) {
    int32_t t = -1;
    REQUIRE(ss_stream_sample(s, &greedy, &t) == SS_OK);
    out.push_back(t);
    REQUIRE(ss_stream_feed(s, &t, 1) == SS_OK);
  }
  ss_stream_free(s);
  return out;
}

}  // namespace

TEST_SUITE("capi") {
  TEST_CASE("defaults, version, and errors with their messages") {
    const ss_stream_params sp = ss_stream_default_params();
    CHECK(sp.sinks == 4);
    CHECK(sp.window == 0);
    CHECK(sp.kv_type == SS_KV_F16);
    const ss_sampler_params d = ss_sampler_default_params();
    CHECK(d.temperature == doctest::Approx(0.8f));
    CHECK(d.top_k == 40);
    CHECK(std::string(ss_version()).find('.') != std::string::npos);
    const ss_model_params mp = ss_model_default_params();
    CHECK(mp.device == nullptr);

    ss_model* m = reinterpret_cast<ss_model*>(1);
    CHECK(ss_model_load("/nonexistent/model.gguf", &mp, &m) == SS_ERR_IO);
    CHECK(m == nullptr);
    CHECK(std::string(ss_last_error()).find("/nonexistent/model.gguf") != std::string::npos);
    CHECK(ss_model_load(nullptr, &mp, &m) == SS_ERR_INVALID_ARGUMENT);
    CHECK(ss_model_load("x", &mp, nullptr) == SS_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ss_last_error()).find("NULL") != std::string::npos);
    // A file that is no model: a format error naming it.
    const std::string bad = std::string(SINKSTREAM_TESTS_DIR) + "/doctest_main.cpp";
    CHECK(ss_model_load(bad.c_str(), nullptr, &m) == SS_ERR_FORMAT);
    CHECK(m == nullptr);
    CHECK(std::string(ss_last_error()).find("doctest_main.cpp") != std::string::npos);
  }

  TEST_CASE("NULL handles are refused, never dereferenced") {
    CHECK(ss_model_vocab_size(nullptr) < 0);
    CHECK(ss_token_bos(nullptr) == -1);
    CHECK(ss_tokenize(nullptr, "a", 1, true, nullptr, 0) < 0);
    CHECK(ss_token_to_piece(nullptr, 0, nullptr, 0) < 0);
    ss_stream* s = reinterpret_cast<ss_stream*>(1);
    CHECK(ss_stream_create(nullptr, nullptr, &s) == SS_ERR_INVALID_ARGUMENT);
    CHECK(s == nullptr);
    int32_t t = 0;
    CHECK(ss_stream_feed(nullptr, &t, 1) == SS_ERR_INVALID_ARGUMENT);
    CHECK(ss_stream_logits(nullptr) == nullptr);
    CHECK(ss_stream_sample(nullptr, nullptr, &t) == SS_ERR_INVALID_ARGUMENT);
    CHECK(ss_stream_generate(nullptr, nullptr, 1, nullptr, nullptr, nullptr) == SS_ERR_INVALID_ARGUMENT);
    ss_model_free(nullptr);
    ss_stream_free(nullptr);
  }

  TEST_CASE("tokenize's capacity protocol, pieces, and bad arguments on a loaded model") {
    REQUIRE_FIXTURE("stories260K.gguf");
    CModel cm(fixture("stories260K.gguf"));
    ss_model* m = cm.m;
    CHECK(ss_model_vocab_size(m) == 512);
    CHECK(ss_token_bos(m) == 1);
    CHECK(ss_token_eos(m) == 2);
    CHECK(ss_token_is_eog(m, 2));
    CHECK_FALSE(ss_token_is_eog(m, 100));

    const char* text = "Once upon a time";
    const int32_t n = ss_tokenize(m, text, -1, true, nullptr, 0);  // the count alone
    REQUIRE(n > 2);
    std::vector<int32_t> ids(static_cast<size_t>(n) + 1, -7);
    CHECK(ss_tokenize(m, text, -1, true, ids.data(), n - 1) == n);  // too small: nothing written
    CHECK(ids[0] == -7);
    CHECK(ss_tokenize(m, text, -1, true, ids.data(), n) == n);
    CHECK(ids[0] == 1);
    CHECK(ids[static_cast<size_t>(n)] == -7);  // nothing past the count
    std::vector<int32_t> scratch(ids.size());
    CHECK(ss_tokenize(m, text, 4, false, scratch.data(), n) == ss_tokenize(m, "Once", -1, false, nullptr, 0));
    CHECK(ss_tokenize(m, text, -1, false, scratch.data(), n) == n - 1);  // no BOS
    CHECK(scratch[0] == ids[1]);
    CHECK(ss_tokenize(m, text, -1, true, nullptr, 5) < 0);  // NULL out with room claimed
    CHECK(ss_tokenize(m, text, -1, true, scratch.data(), -1) < 0);

    // Pieces: the same protocol; decoding the ids gives the text back.
    std::string joined;
    for (int32_t i = 1; i < n; ++i) {
      const int32_t len = ss_token_to_piece(m, ids[static_cast<size_t>(i)], nullptr, 0);
      REQUIRE(len > 0);
      std::string piece(static_cast<size_t>(len), '\0');
      CHECK(ss_token_to_piece(m, ids[static_cast<size_t>(i)], piece.data(), len) == len);
      joined += piece;
    }
    CHECK(joined == " Once upon a time");
    char small[1] = {'#'};
    CHECK(ss_token_to_piece(m, ids[1], small, 1) > 1);
    CHECK(small[0] == '#');
    CHECK(ss_token_to_piece(m, 512, small, 1) == -SS_ERR_INVALID_ARGUMENT);
    CHECK(std::string(ss_last_error()).find("512") != std::string::npos);

    // Streams: bad settings and ids, logits before and after a feed, sampling.
    ss_stream_params sp = ss_stream_default_params();
    const int bad_type = 7;  // as a C caller could pass it
    static_assert(sizeof(sp.kv_type) == sizeof(bad_type));
    std::memcpy(&sp.kv_type, &bad_type, sizeof bad_type);
    ss_stream* s = nullptr;
    CHECK(ss_stream_create(m, &sp, &s) == SS_ERR_INVALID_ARGUMENT);
    sp = ss_stream_default_params();
    sp.window = 64;
    REQUIRE(ss_stream_create(m, &sp, &s) == SS_OK);
    CHECK(ss_stream_logits(s) == nullptr);
    int32_t t = 0;
    ss_sampler_params g = ss_sampler_default_params();
    CHECK(ss_stream_sample(s, &g, &t) == SS_ERR_INVALID_ARGUMENT);  // nothing fed yet
    const int32_t out_of_range = 600;
    CHECK(ss_stream_feed(s, &out_of_range, 1) == SS_ERR_INVALID_ARGUMENT);
    CHECK(ss_stream_feed(s, ids.data(), 0) == SS_ERR_INVALID_ARGUMENT);
    REQUIRE(ss_stream_feed(s, ids.data(), n) == SS_OK);
    CHECK(ss_stream_logits(s) != nullptr);
    g.top_k = -1;
    CHECK(ss_stream_sample(s, &g, &t) == SS_ERR_INVALID_ARGUMENT);
    g = ss_sampler_default_params();
    g.temperature = -1;
    CHECK(ss_stream_sample(s, &g, &t) == SS_ERR_INVALID_ARGUMENT);
    g = ss_sampler_default_params();
    CHECK(ss_stream_sample(s, &g, &t) == SS_OK);
    CHECK((t >= 0 && t < 512));
    ss_stream_stats st{};
    REQUIRE(ss_stream_get_stats(s, &st) == SS_OK);
    CHECK(st.tokens == static_cast<uint64_t>(n));
    CHECK(st.capacity == 68);
    CHECK(ss_stream_reset(s) == SS_OK);
    CHECK(ss_stream_logits(s) == nullptr);
    REQUIRE(ss_stream_get_stats(s, &st) == SS_OK);
    CHECK(st.tokens == 0);
    ss_stream_free(s);
  }

  TEST_CASE("greedy picks fed one at a time equal `sinkstream generate --temperature 0`") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const std::string path = fixture("stories260K.gguf");
    CModel cm(path);
    struct Case {
      const char* args;
      ss_stream_params p;
    };
    const Case cases[] = {
        {"", {4, 0, SS_KV_F16}},
        {"--sinks 4 --window 28 --kv-type f32", {4, 28, SS_KV_F32}},  // evicts: 70 tokens through 32 slots
        {"--sinks 0 --window 40", {0, 40, SS_KV_F16}},
        {"--sinks 4 --window 28 --kv-type q8_0", {4, 28, SS_KV_Q8_0}},  // q8_0 through C as through the CLI
    };
    for (const Case& c : cases) {
      CAPTURE(c.args);
      const auto expected = cli_ids(path, "Once upon a time", 64, c.args);
      REQUIRE(expected.size() == 64);
      CHECK(c_ids(cm.m, "Once upon a time", 64, c.p, true) == expected);
      CHECK(c_ids(cm.m, "Once upon a time", 64, c.p, false) == expected);
    }
  }

  TEST_CASE("ss_stream_generate hands over tokens and text, and its callback stops it") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const std::string path = fixture("stories260K.gguf");
    CModel cm(path);
    ss_stream* s = nullptr;
    REQUIRE(ss_stream_create(cm.m, nullptr, &s) == SS_OK);
    const int32_t bos = ss_token_bos(cm.m);
    REQUIRE(ss_stream_feed(s, &bos, 1) == SS_OK);
    struct Seen {
      std::vector<int32_t> ids;
      std::string text;
      size_t stop_after = 0;
    } seen;
    seen.stop_after = 30;
    ss_sampler_params g = ss_sampler_default_params();
    g.temperature = 0;
    int32_t n = 0;
    const auto cb = [](int32_t t, const char* text, int32_t len, void* user) {
      auto* v = static_cast<Seen*>(user);
      if (t >= 0) v->ids.push_back(t);
      v->text.append(text, static_cast<size_t>(len));
      return v->ids.size() < v->stop_after;
    };
    REQUIRE(ss_stream_generate(s, &g, 100, cb, &seen, &n) == SS_OK);
    CHECK(n == 30);
    CHECK(seen.ids.size() == 30);
    // The CLI's text for the same greedy ids from BOS.
    const auto r = run_sh("\"$B\" generate --model " + path + " --temperature 0 --tokens 30 2>/dev/null");
    CHECK(seen.text + "\n" == r.out);
    CHECK(ss_stream_generate(s, &g, -1, cb, &seen, &n) == SS_ERR_INVALID_ARGUMENT);
    ss_stream_free(s);
  }

  TEST_CASE("chat prompts through the C API: the capacity protocol and BOS") {
    REQUIRE_FIXTURE("stories260K.gguf");
    CModel cm(fixture("stories260K.gguf"));
    const char* roles[] = {"system", "user"};
    const char* contents[] = {"Be brief.", "Hello"};
    const int32_t n = ss_chat_apply(cm.m, "chatml", roles, contents, 2, true, nullptr, 0);
    REQUIRE(n > 0);
    std::string buf(static_cast<size_t>(n) + 1, '#');
    CHECK(ss_chat_apply(cm.m, "chatml", roles, contents, 2, true, buf.data(), n) == n);  // no room for the NUL
    CHECK(buf[0] == '#');
    CHECK(ss_chat_apply(cm.m, "chatml", roles, contents, 2, true, buf.data(), n + 1) == n);
    CHECK(std::string(buf.c_str()) ==
          "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
    CHECK(ss_chat_needs_bos(cm.m, "chatml"));
    CHECK_FALSE(ss_chat_needs_bos(cm.m, "llama2"));  // llama2 writes <s> itself
    CHECK(ss_chat_apply(cm.m, "no-such-format", roles, contents, 2, true, nullptr, 0) == -SS_ERR_INVALID_ARGUMENT);
    CHECK(ss_chat_apply(cm.m, nullptr, nullptr, contents, 2, true, nullptr, 0) == -SS_ERR_INVALID_ARGUMENT);
  }
}

}  // namespace sinkstream::test
