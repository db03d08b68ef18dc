#include "serve/server.hpp"

#include <httplib.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "serve/assets.hpp"

namespace sinkstream::serve {
namespace {

using json = nlohmann::json;
constexpr const char* kJson = "application/json";

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_json(e), kJson);
}

// The default text for an error status httplib produced by itself (unknown route, body too big).
ApiError status_error(int status, size_t max_body) {
  switch (status) {
    case 404: return {404, "no such route", "invalid_request_error", "", "not_found"};
    case 405: return {405, "method not allowed", "invalid_request_error", "", ""};
    case 413:
      return {413, "the request body is over the limit of " + std::to_string(max_body) + " bytes (--max-body)",
              "invalid_request_error", "", "request_too_large"};
    default: return {status, "request failed", status >= 500 ? "server_error" : "invalid_request_error", "", ""};
  }
}

// The slot of the newest token in a ring of `sinks` pinned slots then `window`
// slots that wrap (-1 when empty): what the web view highlights.
int64_t newest_slot(const StreamState& s) {
  if (s.tokens == 0) return -1;
  if (s.tokens <= s.capacity || s.window == 0) return static_cast<int64_t>(std::min<uint64_t>(s.tokens, s.capacity) - 1);
  return s.sinks + static_cast<int64_t>((s.tokens - s.sinks - 1) % s.window);
}

}  // namespace

Server::Server(Backend& backend, ServerOptions options)
    : backend_(backend),
      opt_(std::move(options)),
      pool_(backend, opt_.max_streams, backend.model().sinks, backend.model().window),
      run_ctx_{backend, pool_, opt_.queue_timeout},
      http_(std::make_unique<httplib::Server>()) {
  limits_.model = backend.model().name;
  limits_.vocab = backend.model().vocab;
  limits_.default_max_tokens = opt_.default_max_tokens;
  limits_.max_tokens = opt_.max_tokens;
  limits_.defaults = opt_.defaults;
  // One thread per connection: streaming responses hold theirs, idle keep-alive ones too.
  const size_t threads = size_t{opt_.max_streams} * 4 + 16;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(opt_.max_body);
  http_->set_write_timeout(std::chrono::seconds(60));
  http_->set_read_timeout(std::chrono::seconds(30));
  http_->set_keep_alive_timeout(2);
  routes();
}

Server::~Server() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stopper_.joinable()) stopper_.join();
}

void Server::count(int status) {
  std::lock_guard<std::mutex> lock(status_mutex_);
  statuses_[status]++;
}

bool Server::check_auth(const httplib::Request& req, httplib::Response& res) {
  if (authorized(req.get_header_value("Authorization"), opt_.api_key)) return true;
  res.set_header("WWW-Authenticate", "Bearer");
  send_error(res, ApiError{401, "a valid API key is required: Authorization: Bearer KEY", "invalid_request_error", "",
                           "invalid_api_key"});
  return false;
}

void Server::routes() {
  httplib::Server& h = *http_;
  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!opt_.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", opt_.cors_origin);
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.set_header("Access-Control-Expose-Headers", "X-Sinkstream-Stream");
    }
    if (req.method == "OPTIONS") {
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool api = req.path.rfind("/v1/", 0) == 0 || req.path == "/metrics";
    return api && !check_auth(req, res) ? httplib::Server::HandlerResponse::Handled
                                        : httplib::Server::HandlerResponse::Unhandled;
  });
  h.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    res.status = stopping_ ? 503 : 200;
    res.set_content(stopping_ ? R"({"status":"draining"})" : R"({"status":"ok"})", kJson);
  });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  h.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) { res.set_content(models_json(), kJson); });
  h.Get("/v1/streams", [this](const httplib::Request&, httplib::Response& res) { res.set_content(streams_json(), kJson); });
  // The body is read here, whatever its Content-Type (curl -d says form-urlencoded,
  // which httplib would otherwise parse as a form, with a limit of its own).
  for (const bool chat : {true, false})
    h.Post(chat ? "/v1/chat/completions" : "/v1/completions",
           [this, chat](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& read) {
             std::string body;
             const std::string length = q.get_header_value("Content-Length");
             bool over = length.size() > 18 || (!length.empty() && std::stoull(length) > opt_.max_body);
             const bool read_all = !over && read([&](const char* data, size_t n) {
               over = body.size() + n > opt_.max_body;
               if (!over) body.append(data, n);
               return !over;
             });
             if (over) return send_error(r, status_error(413, opt_.max_body));
             if (!read_all) return send_error(r, ApiError{400, "the request body could not be read", "invalid_request_error", "", ""});
             completions(q, body, r, chat);
           });
  h.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    const auto a = find_asset(req.path);
    if (!a) {
      res.status = 404;
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->body), std::string(a->content_type));
  });
  h.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(error_json(status_error(res.status, opt_.max_body)), kJson);
  });
  h.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError{500, what, "server_error", "", ""});
  });
  h.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    count(res.status);
    if (opt_.log_requests) std::fprintf(stderr, "%s %s %d\n", req.method.c_str(), req.path.c_str(), res.status);
  });
}

void Server::completions(const httplib::Request&, const std::string& body, httplib::Response& res, bool chat) {
  auto parsed = parse_request(body, chat, limits_);
  if (auto* e = std::get_if<ApiError>(&parsed)) return send_error(res, *e);
  const ApiRequest& r = std::get<ApiRequest>(parsed);
  if (stopping_) return send_error(res, ApiError{503, "the server is shutting down", "server_error", "", "shutting_down"});
  auto started = start_request(run_ctx_, r);
  if (auto* e = std::get_if<ApiError>(&started)) {
    if (e->status == 503) res.set_header("Retry-After", "1");
    return send_error(res, *e);
  }
  Running run = std::move(std::get<Running>(started));
  res.set_header("X-Sinkstream-Stream", std::to_string(run.lease.stream));
  if (r.stream) return respond_stream(std::move(run), r, res);
  respond_whole(std::move(run), chat, res);
}

void Server::respond_whole(Running run, bool chat, httplib::Response& res) {
  std::string text = run.echo;
  for (;;) {
    Job::Chunk c = run.job->take(std::chrono::milliseconds(1000));
    text += c.text;
    run.result.reasoning += c.reasoning;
    if (!c.end) continue;
    finish(run_ctx_, run, *c.end, text.substr(run.echo.size()));
    if (!c.end->error.empty()) return send_error(res, ApiError{500, c.end->error, "server_error", "", ""});
    run.result.text = std::move(text);
    run.result.finish_reason = c.end->finish_reason;
    run.result.usage.completion_tokens = c.end->completion_tokens;
    res.set_content(chat ? chat_response(run.result) : completion_response(run.result), kJson);
    return;
  }
}

void Server::respond_stream(Running run, const ApiRequest& r, httplib::Response& res) {
  struct State {
    Running run;
    bool chat, usage, first = true, finished = false;
    std::string reply;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
  };
  auto st = std::make_shared<State>(State{std::move(run), r.chat, r.include_usage});
  RunContext* ctx = &run_ctx_;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");  // nginx: pass events on as they come
  const auto provider = [st, ctx](size_t, httplib::DataSink& sink) {
    Completion& c = st->run.result;
    Job::Chunk ch = st->run.job->take(std::chrono::milliseconds(500));
    st->reply += ch.text;
    if (ch.end) finish(*ctx, st->run, *ch.end, st->reply);
    std::string out;
    if (st->first) {
      out += sse_event(st->chat ? chat_chunk(c, st->run.echo, std::nullopt, true) : completion_chunk(c, st->run.echo, std::nullopt));
      st->first = false;
    }
    // Reasoning pushed in the same interval as answer text came before it (harmony's analysis precedes its answer).
    if (!ch.reasoning.empty()) out += sse_event(chat_chunk(c, "", std::nullopt, false, ch.reasoning));
    if (!ch.text.empty()) out += sse_event(st->chat ? chat_chunk(c, ch.text, std::nullopt, false) : completion_chunk(c, ch.text, std::nullopt));
    if (ch.end) {
      if (!ch.end->error.empty()) {
        out += sse_event(error_json(ApiError{500, ch.end->error, "server_error", "", ""}));
      } else {
        c.usage.completion_tokens = ch.end->completion_tokens;
        const std::string& f = ch.end->finish_reason;
        out += sse_event(st->chat ? chat_chunk(c, "", f, false) : completion_chunk(c, "", f));
        if (st->usage) out += sse_event(usage_chunk(c, st->chat));
      }
      out += kSseDone;
    } else if (out.empty() && std::chrono::steady_clock::now() - st->last_write > std::chrono::seconds(1)) {
      out = ": keep-alive\n\n";  // an SSE comment: finds a client that went away while a prompt is ingested
    }
    if (!out.empty()) {
      if (!sink.write(out.data(), out.size())) return false;
      st->last_write = std::chrono::steady_clock::now();
    }
    if (ch.end) {
      st->finished = true;
      sink.done();
    }
    return true;
  };
  // Runs when the response is over, written or not: a client that left frees its stream.
  const auto releaser = [st, ctx](bool) {
    if (!st->finished) abandon(*ctx, st->run, st->reply);
  };
  res.set_chunked_content_provider("text/event-stream", provider, releaser);
}

std::string Server::models_json() const {
  const ModelDesc& m = backend_.model();
  json model = {{"id", m.name}, {"object", "model"}, {"created", 0}, {"owned_by", "sinkstream"},
                {"meta", {{"context", m.context}, {"vocab", m.vocab}, {"sinks", m.sinks}, {"window", m.window},
                          {"chat_format", m.chat_format}, {"harmony", m.harmony}, {"device", m.device}}}};
  return json{{"object", "list"}, {"data", json::array({model})}}.dump();
}

std::string Server::streams_json() const {
  json streams = json::array();
  for (const Conversation& c : pool_.conversations()) {
    StreamState s;
    try {
      s = backend_.state(c.stream);
    } catch (const std::exception&) {
      continue;  // destroyed meanwhile
    }
    streams.push_back({{"id", c.stream}, {"sinks", s.sinks}, {"window", s.window}, {"capacity", s.capacity},
                       {"slots_used", s.slots_used}, {"position", s.tokens}, {"evicted", s.evicted},
                       {"generated", s.generated}, {"device_bytes", s.device_bytes}, {"busy", c.busy},
                       {"newest_slot", newest_slot(s)}, {"conversation_tokens", c.seen}, {"requests", c.requests},
                       {"tokens_per_s", c.tokens_per_s}});
  }
  const EngineStats e = backend_.stats();
  return json{{"model", backend_.model().name}, {"device", backend_.model().device}, {"device_bytes", e.device_bytes},
              {"weight_bytes", e.weight_bytes}, {"generated_tokens", e.generated_tokens},
              {"prompt_tokens", e.prompt_tokens}, {"max_streams", opt_.max_streams}, {"streams", streams}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Server::metrics_text() const {
  MetricsInput m;
  m.engine = backend_.stats();
  m.step_seconds = step_seconds_.snapshot();
  {
    std::lock_guard<std::mutex> lock(status_mutex_);
    m.requests_by_status = statuses_;
  }
  m.cached_prompt_tokens = pool_.reused_tokens();
  for (const Conversation& c : pool_.conversations()) m.streams_busy += c.busy ? 1 : 0;
  m.max_streams = opt_.max_streams;
  m.process_resident_bytes = resident_bytes();
  return prometheus_text(m);
}

int Server::bind() {
  if (opt_.port == 0) {
    const int port = http_->bind_to_any_port(opt_.host);
    if (port < 0) throw std::runtime_error("cannot listen on " + opt_.host);
    opt_.port = port;
    return port;
  }
  if (!http_->bind_to_port(opt_.host, opt_.port))
    throw std::runtime_error("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) +
                             " (in use? --port picks another)");
  return opt_.port;
}

void Server::serve() {
  std::thread driver([this] {
    backend_.run(driver_stop_, [this](double s) { step_seconds_.observe(s); });
  });
  http_->listen_after_bind();  // returns after stop(), once every connection's thread has finished
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    if (stopper_.joinable()) stopper_.join();
  }
  pool_.close();
  driver_stop_ = true;
  driver.join();
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  std::lock_guard<std::mutex> lock(stop_mutex_);
  // Running requests drain; those still running after the drain timeout are cancelled.
  stopper_ = std::thread([this] {
    const auto deadline = std::chrono::steady_clock::now() + opt_.drain_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      bool busy = false;
      for (const Conversation& c : pool_.conversations()) busy |= c.busy;
      if (!busy) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (const Conversation& c : pool_.conversations())
      if (c.busy) backend_.cancel(c.stream);
    http_->stop();
  });
}

}  // namespace sinkstream::serve
