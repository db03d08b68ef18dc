// `sinkstream serve`'s HTTP layer over a fake backend: routes, auth, the body
// limit, error JSON, SSE streams, continuity through the API, a client that
// leaves mid-stream, and draining on stop.
#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "serve/server.hpp"
#include "serve_fake_backend.hpp"

using namespace sinkstream::serve;
using json = nlohmann::json;

namespace {

struct TestServer {
  sinkstream::test::FakeBackend backend;
  std::unique_ptr<Server> server;
  std::thread thread;
  int port = 0;

  explicit TestServer(ServerOptions o = {}) {
    o.port = 0;
    o.max_streams = 4;
    server = std::make_unique<Server>(backend, o);
    port = server->bind();
    thread = std::thread([this] { server->serve(); });
  }
  ~TestServer() {
    server->stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    return c;
  }
};

const char* kChat = R"({"model":"fake","messages":[{"role":"user","content":"hi"}],"max_tokens":50})";

// The data fields of an SSE body, checking the framing as it goes.
std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find("\n\n", at);
    REQUIRE(end != std::string::npos);  // every event is ended by a blank line
    const std::string event = body.substr(at, end - at);
    at = end + 2;
    if (event.rfind(":", 0) == 0) continue;  // a comment (keep-alive)
    REQUIRE(event.rfind("data: ", 0) == 0);
    out.push_back(event.substr(6));
  }
  return out;
}

}  // namespace

TEST_SUITE("serve_http") {

TEST_CASE("models, health, streams, metrics and the page are served") {
  TestServer r;
  auto c = r.client();
  auto models = c.Get("/v1/models");
  REQUIRE(models);
  CHECK(models->status == 200);
  CHECK(json::parse(models->body)["data"][0]["id"] == "fake");
  CHECK(c.Get("/health")->status == 200);
  auto page = c.Get("/");
  REQUIRE(page);
  CHECK(page->get_header_value("Content-Type").find("text/html") == 0);
  CHECK(c.Get("/metrics")->body.find("sinkstream_step_seconds_bucket") != std::string::npos);
  CHECK(json::parse(c.Get("/v1/streams")->body)["streams"].is_array());
  auto missing = c.Get("/nope");
  CHECK(missing->status == 404);
  CHECK(json::parse(missing->body)["error"]["code"] == "not_found");
  for (const char* p : {"/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd"}) {
    auto t = c.Get(p);
    REQUIRE(t);
    CHECK_MESSAGE(t->status == 404, p);
    CHECK(t->body.find("root:") == std::string::npos);
  }
}

TEST_CASE("a chat completion, then the conversation continued, feeds only the new tokens") {
  TestServer r;
  auto c = r.client();
  auto a = c.Post("/v1/chat/completions", kChat, "application/json");
  REQUIRE(a);
  REQUIRE(a->status == 200);
  const json ja = json::parse(a->body);
  CHECK(ja["choices"][0]["message"]["content"] == "hello world");
  CHECK(ja["choices"][0]["finish_reason"] == "stop");
  CHECK(ja["usage"]["completion_tokens"] == 11);
  const json next = {{"messages", {{{"role", "user"}, {"content", "hi"}},
                                    {{"role", "assistant"}, {"content", "hello world"}},
                                    {{"role", "user"}, {"content", "again"}}}}};
  auto b = c.Post("/v1/chat/completions", next.dump(), "application/json");
  REQUIRE(b);
  REQUIRE(b->status == 200);
  const json jb = json::parse(b->body);
  const auto prompt = r.backend.chat_ids({{"user", "hi"}, {"assistant", "hello world"}, {"user", "again"}}, true);
  CHECK(jb["usage"]["prompt_tokens"] == prompt.size());
  // The stream stands for the first exchange as the template renders it; only the new turn is computed.
  const auto seen = r.backend.chat_ids({{"user", "hi"}, {"assistant", "hello world"}}, false);
  CHECK(jb["usage"]["prompt_tokens_details"]["cached_tokens"] == seen.size());
  REQUIRE(r.backend.submitted() == 2);
  // Fed: the end of the first turn ("\n", owed: the reply ended with the end token), then the new turn.
  std::vector<int32_t> expect = sinkstream::test::FakeBackend::bytes("\n");
  expect.insert(expect.end(), prompt.begin() + static_cast<std::ptrdiff_t>(seen.size()), prompt.end());
  CHECK(r.backend.fed_at(1) == expect);
  CHECK(a->get_header_value("X-Sinkstream-Stream") == b->get_header_value("X-Sinkstream-Stream"));
}

TEST_CASE("streaming: OpenAI's chunks, the usage chunk, then [DONE]") {
  TestServer r;
  auto c = r.client();
  const std::string body = R"({"prompt":"x","max_tokens":5,"stream":true,"stream_options":{"include_usage":true}})";
  auto res = c.Post("/v1/completions", body, "application/json");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").find("text/event-stream") == 0);
  const auto events = sse_data(res->body);
  REQUIRE(events.size() >= 4);
  CHECK(events.back() == "[DONE]");
  std::string text;
  std::string finish;
  for (size_t i = 0; i + 2 < events.size(); ++i) {
    const json j = json::parse(events[i]);
    CHECK(j["object"] == "text_completion");
    text += j["choices"][0]["text"].get<std::string>();
    if (!j["choices"][0]["finish_reason"].is_null()) finish = j["choices"][0]["finish_reason"];
  }
  CHECK(text == "hello");
  CHECK(finish == "length");
  const json usage = json::parse(events[events.size() - 2]);
  CHECK(usage["usage"]["completion_tokens"] == 5);
  CHECK(usage["usage"]["prompt_tokens"] == 2);
}

TEST_CASE("harmony: content is the final channel, reasoning_content the analysis, whole or streamed") {
  TestServer r;
  r.backend.set_harmony(true);
  r.backend.reply =
      "<|channel|>analysis<|message|>They say hi.<|end|><|start|>assistant<|channel|>final<|message|>Hi there!";
  json chat = json::parse(kChat);
  chat["max_tokens"] = 200;
  auto c = r.client();
  auto whole = c.Post("/v1/chat/completions", chat.dump(), "application/json");
  REQUIRE(whole);
  REQUIRE(whole->status == 200);
  const json j = json::parse(whole->body);
  CHECK(j["choices"][0]["message"]["content"] == "Hi there!");
  CHECK(j["choices"][0]["message"]["reasoning_content"] == "They say hi.");
  CHECK(j["choices"][0]["finish_reason"] == "stop");
  CHECK(j["usage"]["completion_tokens"] == r.backend.reply.size());
  CHECK(json::parse(c.Get("/v1/models")->body)["data"][0]["meta"]["harmony"] == true);

  json streamed = chat;
  streamed["stream"] = true;
  auto s = c.Post("/v1/chat/completions", streamed.dump(), "application/json");
  REQUIRE(s);
  std::string content, reasoning;
  bool reasoning_first = true;
  for (const std::string& e : sse_data(s->body)) {
    if (e == "[DONE]") break;
    const json delta = json::parse(e)["choices"][0]["delta"];
    content += delta.value("content", "");
    reasoning += delta.value("reasoning_content", "");
    if (delta.contains("reasoning_content")) reasoning_first = reasoning_first && content.empty();
  }
  CHECK(content == "Hi there!");
  CHECK(reasoning == "They say hi.");
  CHECK(reasoning_first);

  // Stop strings end the answer only: "say" in the reasoning does not stop it.
  json stopped = chat;
  stopped["stop"] = {"say", " there"};
  const json k = json::parse(c.Post("/v1/chat/completions", stopped.dump(), "application/json")->body);
  CHECK(k["choices"][0]["message"]["content"] == "Hi");
  CHECK(k["choices"][0]["message"]["reasoning_content"] == "They say hi.");
  CHECK(k["choices"][0]["finish_reason"] == "stop");
  // Cut short by the token limit inside the final message's header: no answer yet, and no stray "<".
  json cut = chat;
  cut["max_tokens"] = 50;
  const json h = json::parse(c.Post("/v1/chat/completions", cut.dump(), "application/json")->body);
  CHECK(h["choices"][0]["message"]["content"] == "");
  CHECK(h["choices"][0]["message"]["reasoning_content"] == "They say hi.");
  CHECK(h["choices"][0]["finish_reason"] == "length");
  // Raw completions are not chats: the text as generated, tags and all.
  const json raw = json::parse(c.Post("/v1/completions", R"({"prompt":"x","max_tokens":200})", "application/json")->body);
  CHECK(raw["choices"][0]["text"] == r.backend.reply);
}

TEST_CASE("stop strings end the answer before them") {
  TestServer r;
  auto c = r.client();
  auto res = c.Post("/v1/completions", R"({"prompt":"x","stop":"o w"})", "application/json");
  REQUIRE(res);
  const json j = json::parse(res->body);
  CHECK(j["choices"][0]["text"] == "hell");
  CHECK(j["choices"][0]["finish_reason"] == "stop");
}

TEST_CASE("with an API key, API routes answer 401 without it; the page and health stay open") {
  ServerOptions o;
  o.api_key = "k3y";
  TestServer r(o);
  auto c = r.client();
  auto denied = c.Post("/v1/chat/completions", kChat, "application/json");
  REQUIRE(denied);
  CHECK(denied->status == 401);
  CHECK(json::parse(denied->body)["error"]["code"] == "invalid_api_key");
  CHECK(c.Get("/v1/models")->status == 401);
  CHECK(c.Get("/v1/streams")->status == 401);
  CHECK(c.Get("/metrics")->status == 401);
  CHECK(c.Get("/health")->status == 200);
  CHECK(c.Get("/")->status == 200);
  c.set_bearer_token_auth("wrong");
  CHECK(c.Get("/v1/models")->status == 401);
  c.set_bearer_token_auth("k3y");
  CHECK(c.Get("/v1/models")->status == 200);
  CHECK(c.Post("/v1/chat/completions", kChat, "application/json")->status == 200);
}

TEST_CASE("bodies over the limit answer 413; bad requests 400/404 as JSON, and the server keeps serving") {
  ServerOptions o;
  o.max_body = 4096;
  TestServer r(o);
  auto c = r.client();
  const std::string huge = R"({"prompt":")" + std::string(10000, 'a') + "\"}";
  auto big = c.Post("/v1/completions", huge, "application/json");
  REQUIRE(big);
  CHECK(big->status == 413);
  CHECK(json::parse(big->body)["error"]["code"] == "request_too_large");
  auto bad = c.Post("/v1/chat/completions", "{not json", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["error"]["type"] == "invalid_request_error");
  auto model = c.Post("/v1/chat/completions", R"({"model":"gpt-4","messages":[{"role":"user","content":"x"}]})",
                      "application/json");
  CHECK(model->status == 404);
  auto refused = c.Post("/v1/chat/completions", R"({"messages":[{"role":"user","content":"refuse"}]})",
                        "application/json");
  CHECK(refused->status == 400);
  CHECK(c.Post("/v1/chat/completions", kChat, "application/json")->status == 200);
}

TEST_CASE("a client that leaves mid-stream frees its stream; others are not held up") {
  TestServer r;
  r.backend.reply = std::string(400, 'z');
  r.backend.step_time = std::chrono::milliseconds(5);
  const std::string body = R"({"prompt":"x","max_tokens":400,"stream":true})";
  {
    auto c = r.client();
    size_t received = 0;
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = body;
    req.set_header("Content-Type", "application/json");
    req.content_receiver = [&](const char*, size_t n, uint64_t, uint64_t) {
      received += n;
      return received < 2000;  // false: the client hangs up
    };
    c.send(req);
    CHECK(received >= 2000);
  }
  // The server notices at its next write, cancels, and the stream is destroyed.
  bool freed = false;
  for (int i = 0; i < 200 && !freed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    freed = r.backend.live() == 0;
  }
  CHECK(freed);
  auto c = r.client();
  CHECK(c.Post("/v1/completions", R"({"prompt":"y","max_tokens":3})", "application/json")->status == 200);
}

TEST_CASE("stop() drains: a running request completes, then the server returns") {
  auto r = std::make_unique<TestServer>();
  r->backend.step_time = std::chrono::milliseconds(20);
  std::thread client([&] {
    auto c = r->client();
    auto res = c.Post("/v1/completions", R"({"prompt":"x","max_tokens":11})", "application/json");
    CHECK(res);  // (REQUIRE would throw out of the thread)
    if (!res) return;
    CHECK(res->status == 200);
    CHECK(json::parse(res->body)["choices"][0]["text"] == "hello world");
  });
  for (int i = 0; i < 500 && r->backend.submitted() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(r->backend.submitted() == 1);  // the request is running: stop() must let it finish
  r->server->stop();
  client.join();
  r.reset();  // joins serve(): it returned
}

}  // TEST_SUITE
