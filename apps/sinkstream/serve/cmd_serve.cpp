// `sinkstream serve`: an OpenAI-compatible HTTP server on one copy of the
// weights, one endless stream per conversation, and a web page that shows the
// streams' caches. SIGTERM or Ctrl-C drains running requests, then exits.
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

#include "commands.hpp"
#include "model_args.hpp"
#include "serve/backend_sched.hpp"
#include "serve/server.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream serve --model PATH [options]\n"
    "An OpenAI-compatible HTTP server (POST /v1/chat/completions, /v1/completions;\n"
    "GET /v1/models, /v1/streams, /health, /metrics) with a live view of every\n"
    "stream's sinks + window cache at /. A client that resends a conversation's\n"
    "growing history pays only for the new tokens (docs/serve.md).\n"
    "  --host ADDR         address to listen on (127.0.0.1: this machine only)\n"
    "  --port N            port (8080; 0 = any free port, printed at start)\n"
    "  --streams N         most live streams, i.e. conversations kept (8)\n"
    "  --api-key KEY       require Authorization: Bearer KEY on /v1/* and /metrics\n"
    "                      (also read from SINKSTREAM_API_KEY)\n"
    "  --cors ORIGIN       let web pages from ORIGIN call the API (e.g. http://localhost:3000, or *)\n"
    "  --max-body BYTES    larger request bodies are refused with 413 (8388608)\n"
    "  --max-tokens N      tokens per answer when a request gives no max_tokens (512)\n"
    "  --max-tokens-limit N  the most max_tokens a request may ask for (1048576)\n"
    "  --queue-timeout S   how long a request waits for a free stream before 503 (30)\n"
    "  --ingest-latency F  while answers stream, a long prompt's chunks are cut so that a\n"
    "                      step takes about F times a step without one (2; 0 = never cut)\n"
    "  --drain-timeout S   on SIGTERM, how long running requests may finish (30)\n"
    "  --alias NAME        the model's name in the API (default: the file's name)\n"
    "  --chat-template T   as for `chat`\n"
    "  --temperature T, --top-k K, --top-p P, --min-p P, --repeat-penalty R\n"
    "                      defaults for requests that do not set them\n"
    "  --log               print one line per request on stderr\n";

serve::ServerOptions server_options(const cli::Args& a) {
  serve::ServerOptions o;
  o.host = a.str("host", "127.0.0.1");
  o.port = static_cast<int>(a.u64("port", 8080, 0, 65535));
  o.max_streams = static_cast<uint32_t>(a.u64("streams", 8, 1, 4096));
  const char* env_key = std::getenv("SINKSTREAM_API_KEY");
  o.api_key = a.str("api-key", env_key ? env_key : "");
  o.cors_origin = a.str("cors", "");
  o.max_body = a.u64("max-body", 8u << 20, 1024, uint64_t{1} << 32);
  o.default_max_tokens = static_cast<uint32_t>(a.u64("max-tokens", 512, 1, 1u << 30));
  o.max_tokens = static_cast<uint32_t>(a.u64("max-tokens-limit", 1u << 20, 1, 1u << 30));
  o.queue_timeout = std::chrono::milliseconds(a.u64("queue-timeout", 30, 0, 86400) * 1000);
  o.drain_timeout = std::chrono::seconds(a.u64("drain-timeout", 30, 0, 86400));
  o.log_requests = a.has("log");
  const SamplerParams s = sampler_params(a);
  o.defaults = serve::Sampling{s.temperature, s.top_p, s.top_k, s.min_p, s.repeat_penalty, s.seed};
  return o;
}

}  // namespace

int cmd_serve(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"host", "port", "streams", "api-key", "cors", "max-body", "max-tokens", "max-tokens-limit",
                  "queue-timeout", "drain-timeout", "alias", "chat-template", "temperature", "top-k", "top-p",
                  "min-p", "repeat-penalty", "ingest-latency"});
  const cli::Args a(argv, {"help", "log"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  const serve::ServerOptions opt = server_options(a);
  if (opt.host != "127.0.0.1" && opt.host != "localhost" && opt.host != "::1" && opt.api_key.empty())
    std::fprintf(stderr, "warning: listening on %s without --api-key: anyone who can reach it can use it\n",
                 opt.host.c_str());
  // Signals go to one thread that waits for them (blocked in every other thread).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  auto backend = serve::make_scheduler_backend(a, opt.max_streams);
  serve::Server server(*backend, opt);
  const int port = server.bind();
  const serve::ModelDesc& m = backend->model();
  std::fprintf(stderr, "sinkstream serve: %s on %s, %u sink + %u window slots per stream, up to %u streams\n",
               m.name.c_str(), m.device.c_str(), m.sinks, m.window, opt.max_streams);
  std::fprintf(stderr, "listening on http://%s:%d/\n", opt.host.c_str(), port);
  std::thread waiter([&server, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "sinkstream serve: %s, draining running requests\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    server.stop();
    sigwait(&signals, &sig);  // a second one: leave now
    std::_Exit(130);
  });
  waiter.detach();
  server.serve();
  std::fprintf(stderr, "sinkstream serve: stopped\n");
  return 0;
}

}  // namespace sinkstream::app
