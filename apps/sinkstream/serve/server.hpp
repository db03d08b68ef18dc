// `sinkstream serve`'s HTTP server: OpenAI's routes, the native /v1/streams,
// /health, /metrics and the embedded web page, over any Backend.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "serve/api.hpp"
#include "serve/backend.hpp"
#include "serve/completions.hpp"
#include "serve/continuity.hpp"
#include "serve/metrics.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sinkstream::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                       // 0: any free port (bind() says which)
  std::string api_key;                   // set: /v1/* and /metrics need Authorization: Bearer KEY
  std::string cors_origin;               // set: browsers on that origin may call the API
  size_t max_body = 8u << 20;            // bigger request bodies are refused with 413
  uint32_t max_streams = 8;
  uint32_t default_max_tokens = 512;
  uint32_t max_tokens = 1u << 20;
  Sampling defaults;
  std::chrono::milliseconds queue_timeout{30000};  // a request waits this long for a free stream
  std::chrono::seconds drain_timeout{30};          // SIGTERM: running requests get this long
  bool log_requests = false;
};

class Server {
 public:
  Server(Backend& backend, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port (throws when it cannot).
  int bind();
  // Serves until stop(): the engine's driver thread and the HTTP listener.
  // Returns once running requests have drained and the driver has stopped.
  void serve();
  // Stops accepting connections; running requests finish (or are cancelled
  // after the drain timeout). Safe from any thread, not from a signal handler.
  void stop();

 private:
  void routes();
  void count(int status);
  bool check_auth(const httplib::Request& req, httplib::Response& res);
  void completions(const httplib::Request& req, const std::string& body, httplib::Response& res, bool chat);
  void respond_whole(Running run, bool chat, httplib::Response& res);
  void respond_stream(Running run, const ApiRequest& r, httplib::Response& res);
  std::string streams_json() const;
  std::string models_json() const;
  std::string metrics_text() const;

  Backend& backend_;
  ServerOptions opt_;
  ApiLimits limits_;
  StreamPool pool_;
  RunContext run_ctx_;
  Histogram step_seconds_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mutex_;  // guards stopper_
  std::thread stopper_;    // stop(): waits out the drain, then stops the listener
  std::atomic<bool> driver_stop_{false};
  mutable std::mutex status_mutex_;
  std::map<int, uint64_t> statuses_;
};

}  // namespace sinkstream::serve
