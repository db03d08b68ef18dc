// `sinkstream serve`'s pure parts: request parsing and validation (OpenAI-style
// errors with status codes), response and SSE framing, auth, the static
// route's lookup, and conversation continuity over a fake backend.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "serve/api.hpp"
#include "serve/assets.hpp"
#include "serve/continuity.hpp"
#include "serve/metrics.hpp"
#include "serve_fake_backend.hpp"

using namespace sinkstream::serve;
using json = nlohmann::json;

namespace {

ApiLimits limits() {
  ApiLimits l;
  l.model = "stories";
  l.vocab = 512;
  l.max_tokens = 4096;
  return l;
}

// The engine ended the request, then the server finished answering it.
void done(StreamPool& pool, const Lease& l, const std::vector<int32_t>& generated, EndReason why) {
  pool.release(l, generated, why, 0);
  pool.settle(l.stream, std::nullopt, {});
}

ApiError refused(const std::string& body, bool chat = true) {
  auto r = parse_request(body, chat, limits());
  REQUIRE(std::holds_alternative<ApiError>(r));
  return std::get<ApiError>(r);
}

ApiRequest accepted(const std::string& body, bool chat = true) {
  auto r = parse_request(body, chat, limits());
  if (auto* e = std::get_if<ApiError>(&r)) FAIL("refused: " << e->message);
  return std::get<ApiRequest>(r);
}

}  // namespace

TEST_SUITE("serve") {

TEST_CASE("a chat request's fields are parsed") {
  const ApiRequest r = accepted(R"({"model":"stories","messages":[{"role":"developer","content":"Be brief."},
    {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
    "max_tokens":7,"temperature":0,"top_p":0.5,"seed":-3,"stop":["a","",  "b"],"stream":true,
    "stream_options":{"include_usage":true},"n":1,"presence_penalty":0,"unknown_extra":{"x":1}})");
  REQUIRE(r.messages.size() == 2);
  CHECK(r.messages[0].role == "system");
  CHECK(r.messages[1].content == "Hi there");
  CHECK(r.max_tokens == 7);
  CHECK(r.sampling.temperature == 0.0f);
  CHECK(r.sampling.top_p == 0.5f);
  CHECK(r.seed_given);
  CHECK(r.sampling.seed == static_cast<uint64_t>(-3));
  CHECK(r.stop == std::vector<std::string>{"a", "b"});
  CHECK(r.stream);
  CHECK(r.include_usage);
}

TEST_CASE("a completion prompt is text, one text in an array, or token ids") {
  CHECK(accepted(R"({"prompt":"Once"})", false).prompt == "Once");
  CHECK(accepted(R"({"prompt":["Once"]})", false).prompt == "Once");
  const ApiRequest ids = accepted(R"({"prompt":[1, 403, 407]})", false);
  CHECK(ids.prompt_is_ids);
  CHECK(ids.prompt_ids == std::vector<int32_t>{1, 403, 407});
  CHECK(accepted(R"({"prompt":"x"})", false).max_tokens == limits().default_max_tokens);
  CHECK(refused(R"({"prompt":[1, 512]})", false).param == "prompt");
  CHECK(refused(R"({"prompt":["a","b"]})", false).param == "prompt");
  CHECK(refused(R"({"prompt":[]})", false).param == "prompt");
  CHECK(refused(R"({"max_tokens":3})", false).param == "prompt");
}

TEST_CASE("bad requests are refused with OpenAI's error shape and status") {
  const ApiError malformed = refused("{\"messages\": [");
  CHECK(malformed.status == 400);
  const json j = json::parse(error_json(malformed));
  CHECK(j["error"]["type"] == "invalid_request_error");
  CHECK(j["error"]["message"].get<std::string>().find("JSON") != std::string::npos);
  CHECK(j["error"].contains("param"));
  CHECK(j["error"].contains("code"));
  CHECK(refused("[1,2]").status == 400);
  CHECK(refused(R"({"messages":"hi"})").param == "messages");
  CHECK(refused(R"({"messages":[]})").param == "messages");
  CHECK(refused(R"({"messages":[{"role":"wizard","content":"x"}]})").param == "messages[0].role");
  CHECK(refused(R"({"messages":[{"role":"user","content":5}]})").param == "messages[0].content");
  CHECK(refused(R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})").param == "messages[0].content");
  const std::string ok = R"("messages":[{"role":"user","content":"x"}])";
  CHECK(refused("{" + ok + R"(,"max_tokens":"5"})").param == "max_tokens");
  CHECK(refused("{" + ok + R"(,"max_tokens":-1})").param == "max_tokens");
  CHECK(refused("{" + ok + R"(,"max_tokens":0})").param == "max_tokens");
  CHECK(refused("{" + ok + R"(,"max_tokens":1e30})").param == "max_tokens");
  CHECK(refused("{" + ok + R"(,"max_tokens":18446744073709551615})").param == "max_tokens");
  CHECK(refused("{" + ok + R"(,"max_completion_tokens":4097})").param == "max_completion_tokens");
  CHECK(refused("{" + ok + R"(,"temperature":3})").param == "temperature");
  CHECK(refused("{" + ok + R"(,"temperature":"hot"})").param == "temperature");
  CHECK(refused("{" + ok + R"(,"top_p":1.5})").param == "top_p");
  CHECK(refused("{" + ok + R"(,"seed":1.5})").param == "seed");
  CHECK(refused("{" + ok + R"(,"stop":[1]})").param == "stop");
  CHECK(refused("{" + ok + R"(,"stop":["a","b","c","d","e"]})").param == "stop");
  CHECK(refused("{" + ok + R"(,"n":2})").param == "n");
  CHECK(refused("{" + ok + R"(,"stream":"yes"})").param == "stream");
  CHECK(refused("{" + ok + R"(,"logprobs":true})").param == "logprobs");
  CHECK(refused("{" + ok + R"(,"tools":[{"type":"function"}]})").param == "tools");
  const ApiError model = refused("{" + ok + R"(,"model":"gpt-4"})");
  CHECK(model.status == 404);
  CHECK(model.code == "model_not_found");
}

TEST_CASE("invalid UTF-8 in a request is refused, not passed on") {
  const std::string body = "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\xc3\x28\"}]}";
  CHECK(refused(body).status == 400);
  CHECK(refused(std::string("{\"prompt\":\"\xff\"}"), false).status == 400);
}

TEST_CASE("responses carry OpenAI's fields; text that is not UTF-8 is replaced, not thrown") {
  Completion c{"chatcmpl-1", 1700000000, "stories", "Hi \xff", "stop", {5, 2, 3}};
  const json chat = json::parse(chat_response(c));
  CHECK(chat["object"] == "chat.completion");
  CHECK(chat["choices"][0]["message"]["role"] == "assistant");
  CHECK(chat["choices"][0]["message"]["content"] == "Hi \xef\xbf\xbd");
  CHECK(chat["choices"][0]["finish_reason"] == "stop");
  CHECK(chat["usage"]["total_tokens"] == 7);
  CHECK(chat["usage"]["prompt_tokens_details"]["cached_tokens"] == 3);
  const json text = json::parse(completion_response(c));
  CHECK(text["object"] == "text_completion");
  CHECK(text["choices"][0]["text"] == "Hi \xef\xbf\xbd");
  const json first = json::parse(chat_chunk(c, "", std::nullopt, true));
  CHECK(first["choices"][0]["delta"]["role"] == "assistant");
  CHECK(first["choices"][0]["finish_reason"].is_null());
  const json last = json::parse(chat_chunk(c, "", std::string("length"), false));
  CHECK(last["choices"][0]["delta"].empty());
  CHECK(last["choices"][0]["finish_reason"] == "length");
  const json usage = json::parse(usage_chunk(c, true));
  CHECK(usage["choices"].empty());
  CHECK(usage["usage"]["completion_tokens"] == 2);
}

TEST_CASE("harmony's reasoning is message.reasoning_content and delta.reasoning_content, as llama.cpp and vLLM send it") {
  Completion c{"chatcmpl-1", 1700000000, "gpt-oss", "Paris.", "stop", {5, 2, 0}};
  CHECK_FALSE(json::parse(chat_response(c))["choices"][0]["message"].contains("reasoning_content"));
  c.reasoning = "The capital of France.";
  const json whole = json::parse(chat_response(c));
  CHECK(whole["choices"][0]["message"]["content"] == "Paris.");
  CHECK(whole["choices"][0]["message"]["reasoning_content"] == "The capital of France.");
  const json thinking = json::parse(chat_chunk(c, "", std::nullopt, false, "The capital"));
  CHECK(thinking["choices"][0]["delta"]["reasoning_content"] == "The capital");
  CHECK_FALSE(thinking["choices"][0]["delta"].contains("content"));
  const json answer = json::parse(chat_chunk(c, "Paris.", std::nullopt, false));
  CHECK_FALSE(answer["choices"][0]["delta"].contains("reasoning_content"));
}

TEST_CASE("SSE framing: one data field per line, a blank line ends the event") {
  CHECK(sse_event("{\"a\":1}") == "data: {\"a\":1}\n\n");
  CHECK(sse_event("one\ntwo\r\nthree") == "data: one\ndata: two\ndata: three\n\n");
  CHECK(sse_event("") == "data: \n\n");
  CHECK(kSseDone == "data: [DONE]\n\n");
}

TEST_CASE("the API key is checked as a bearer token") {
  CHECK(authorized("", ""));
  CHECK(authorized("anything", ""));
  CHECK(authorized("Bearer s3cret", "s3cret"));
  CHECK_FALSE(authorized("", "s3cret"));
  CHECK_FALSE(authorized("Bearer s3cre", "s3cret"));
  CHECK_FALSE(authorized("Bearer s3cretX", "s3cret"));
  CHECK_FALSE(authorized("Basic s3cret", "s3cret"));
  CHECK_FALSE(authorized("Bearer ", "s3cret"));
}

TEST_CASE("the static route serves the embedded page and nothing else") {
  REQUIRE(find_asset("/"));
  CHECK(find_asset("/")->content_type.find("text/html") == 0);
  CHECK(find_asset("/")->body.find("<!doctype html>") == 0);
  CHECK(find_asset("/app.js"));
  CHECK(find_asset("/style.css"));
  for (const char* p : {"/../../etc/passwd", "/..", "/app.js/..", "/%2e%2e/etc/passwd", "/web/index.html", "index.html",
                        "/..\\app.js", "/etc/passwd", "//app.js"})
    CHECK_MESSAGE(!find_asset(p), p);
  CHECK(!find_asset(std::string_view("/app.js\0", 8)));
}

TEST_CASE("continuity: the prompt is cut to sinks + window for a new stream") {
  const std::vector<int32_t> p = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(fit_prompt(p, 2, 8) == p);
  CHECK(fit_prompt(p, 2, 3) == std::vector<int32_t>{1, 2, 8, 9, 10});
  CHECK(common_prefix(std::vector<int32_t>{1, 2, 3}, std::vector<int32_t>{1, 2, 4}) == 2);
  CHECK(common_prefix(std::vector<int32_t>{}, p) == 0);
}

TEST_CASE("continuity: a prompt that extends a stream's conversation feeds only the new ids") {
  sinkstream::test::FakeBackend b;
  StreamPool pool(b, 4, 2, 16);
  const std::vector<int32_t> first = {1, 10, 11, 12};
  auto a = pool.acquire(first, 0, std::chrono::milliseconds(0));
  REQUIRE(a);
  CHECK(a->fresh);
  CHECK(a->feed == first);
  // Ended by the length limit: the last of the three tokens is not fed yet.
  done(pool, *a, {20, 21, 22}, EndReason::length);
  std::vector<int32_t> next = {1, 10, 11, 12, 20, 21, 22, 30, 31};
  auto c = pool.acquire(next, 0, std::chrono::milliseconds(0));
  REQUIRE(c);
  CHECK_FALSE(c->fresh);
  CHECK(c->stream == a->stream);
  CHECK(c->reused == 6);
  CHECK(c->feed == std::vector<int32_t>{22, 30, 31});
  // Ended by an end-of-generation token: every token handed out is fed.
  done(pool, *c, {40, 41}, EndReason::stop_token);
  next.insert(next.end(), {40, 41, 2, 50});
  auto d = pool.acquire(next, 0, std::chrono::milliseconds(0));
  REQUIRE(d);
  CHECK(d->stream == a->stream);
  CHECK(d->feed == std::vector<int32_t>{2, 50});
  CHECK(pool.reused_tokens() == 6 + 11);
  done(pool, *d, {}, EndReason::length);
}

TEST_CASE("continuity: a chat stream stands for the rendered conversation; what it owes is fed first") {
  sinkstream::test::FakeBackend b;
  StreamPool pool(b, 4, 2, 64);
  auto a = pool.acquire({1, 10, 11}, 0, std::chrono::milliseconds(0));
  REQUIRE(a);
  pool.release(*a, {20, 21}, EndReason::length, 0);
  // Reserved until settled: not matched, not evicted.
  auto other = pool.acquire({1, 10, 11, 20, 21, 5}, 0, std::chrono::milliseconds(0));
  REQUIRE(other);
  CHECK(other->stream != a->stream);
  pool.settle(a->stream, std::vector<int32_t>{1, 10, 11, 25, 26, 9}, {21, 9});
  auto c = pool.acquire({1, 10, 11, 25, 26, 9, 30}, 0, std::chrono::milliseconds(0));
  REQUIRE(c);
  CHECK(c->stream == a->stream);
  CHECK(c->feed == std::vector<int32_t>{21, 9, 30});
  CHECK(c->reused == 6);
}

TEST_CASE("continuity: a different history, a busy stream or a cancelled one starts a new stream") {
  sinkstream::test::FakeBackend b;
  StreamPool pool(b, 4, 2, 16);
  auto a = pool.acquire({1, 10, 11}, 0, std::chrono::milliseconds(0));
  REQUIRE(a);
  auto busy = pool.acquire({1, 10, 11, 12}, 0, std::chrono::milliseconds(0));  // a is busy
  REQUIRE(busy);
  CHECK(busy->stream != a->stream);
  done(pool, *a, {5}, EndReason::length);
  auto edited = pool.acquire({1, 10, 99, 12}, 0, std::chrono::milliseconds(0));  // an earlier turn edited
  REQUIRE(edited);
  CHECK(edited->fresh);
  CHECK(edited->stream != a->stream);
  auto same = pool.acquire({1, 10, 11}, 0, std::chrono::milliseconds(0));  // nothing new to feed
  REQUIRE(same);
  CHECK(same->fresh);
  done(pool, *same, {}, EndReason::cancelled);  // state unknown: destroyed
  CHECK(pool.conversations().size() == 3);
}

TEST_CASE("continuity: a system prompt is pinned, a long history keeps its start and end") {
  sinkstream::test::FakeBackend b;
  StreamPool pool(b, 4, 2, 8);
  std::vector<int32_t> p(40);
  for (int i = 0; i < 40; ++i) p[i] = i + 1;
  auto l = pool.acquire(p, 5, std::chrono::milliseconds(0));
  REQUIRE(l);
  CHECK(b.state(l->stream).sinks == 5);
  CHECK(l->feed == std::vector<int32_t>{1, 2, 3, 4, 5, 33, 34, 35, 36, 37, 38, 39, 40});
  done(pool, *l, {100}, EndReason::stop_token);
  // The next turn continues the whole 40-token history: only the new ids are fed.
  p.insert(p.end(), {100, 41});
  auto m = pool.acquire(p, 5, std::chrono::milliseconds(0));
  REQUIRE(m);
  CHECK(m->stream == l->stream);
  CHECK(m->feed == std::vector<int32_t>{41});
  done(pool, *m, {}, EndReason::length);
  // A system prompt longer than the window is not pinned.
  auto n = pool.acquire(std::vector<int32_t>(30, 7), 20, std::chrono::milliseconds(0));
  REQUIRE(n);
  CHECK(b.state(n->stream).sinks == 2);
  done(pool, *n, {}, EndReason::length);
}

TEST_CASE("continuity: the least recently used idle stream makes room; all busy waits, then times out") {
  sinkstream::test::FakeBackend b;
  StreamPool pool(b, 2, 2, 16);
  auto x = pool.acquire({1, 3}, 0, std::chrono::milliseconds(0));
  auto y = pool.acquire({1, 4}, 0, std::chrono::milliseconds(0));
  REQUIRE((x && y));
  CHECK_FALSE(pool.acquire({1, 5}, 0, std::chrono::milliseconds(20)));
  done(pool, *x, {}, EndReason::length);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    done(pool, *y, {}, EndReason::length);
  });
  auto z = pool.acquire({1, 6}, 0, std::chrono::milliseconds(2000));
  REQUIRE(z);
  CHECK(z->fresh);
  later.join();
  std::vector<uint64_t> ids;
  for (const auto& c : pool.conversations()) ids.push_back(c.stream);
  CHECK(std::find(ids.begin(), ids.end(), x->stream) == ids.end());  // x was the least recent
  CHECK(ids.size() == 2);
  // No device memory for another stream: an idle one is freed to make room.
  b.max_live = 2;
  done(pool, *z, {}, EndReason::length);
  CHECK(pool.acquire({1, 7}, 0, std::chrono::milliseconds(0)));
}

TEST_CASE("the step latency histogram is cumulative and the metrics are Prometheus text") {
  Histogram h;
  h.observe(0.0015);
  h.observe(0.3);
  h.observe(10);
  const auto s = h.snapshot();
  CHECK(s.count == 3);
  CHECK(s.le[0] == 0);  // <= 1 ms
  CHECK(s.le[1] == 1);  // <= 2 ms
  CHECK(s.le[Histogram::kBounds.size() - 1] == 2);
  MetricsInput m;
  m.step_seconds = s;
  m.engine.live_streams = 3;
  m.requests_by_status = {{200, 4}, {400, 1}};
  const std::string t = prometheus_text(m);
  CHECK(t.find("sinkstream_streams_live 3\n") != std::string::npos);
  CHECK(t.find("sinkstream_step_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(t.find("sinkstream_step_seconds_count 3\n") != std::string::npos);
  CHECK(t.find("sinkstream_http_requests_total{status=\"400\"} 1\n") != std::string::npos);
  CHECK(t.find("# TYPE sinkstream_device_bytes gauge") != std::string::npos);
}

}  // TEST_SUITE
