// Runs one parsed API request: its prompt ids, the stream it continues (or a
// new one), the generation with stop strings, and the job its text goes to.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <variant>

#include "serve/api.hpp"
#include "serve/backend.hpp"
#include "serve/continuity.hpp"
#include "serve/job.hpp"

namespace sinkstream::serve {

struct Running {
  std::shared_ptr<Job> job;
  Lease lease;
  Completion result;  // id, created, model, usage.prompt_tokens/cached_tokens filled
  std::string echo;   // completion with echo: the prompt text, sent first
  bool chat = false;
  std::vector<ChatMsg> messages;  // chat: the request's messages
  std::shared_ptr<std::atomic<bool>> settled = std::make_shared<std::atomic<bool>>(false);
};

struct RunContext {
  Backend& backend;
  StreamPool& pool;
  std::chrono::milliseconds queue_timeout{30000};
};

// Starts the request, or says why not (503 when every stream stays busy).
std::variant<Running, ApiError> start_request(RunContext& ctx, const ApiRequest& r);

// The answer is out (`reply`: its text): the stream is free for the next
// request. Runs once per request, on the HTTP side (it renders the conversation,
// which the engine's driver thread must not wait for).
void finish(RunContext& ctx, Running& run, const JobEnd& end, const std::string& reply);

// A client that went away: its running request is cancelled (the stream is
// freed at the next step); one that had just ended is finished as usual.
void abandon(RunContext& ctx, Running& run, std::string reply);

}  // namespace sinkstream::serve
