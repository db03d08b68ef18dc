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
};

struct RunContext {
  Backend& backend;
  StreamPool& pool;
  std::chrono::milliseconds queue_timeout{30000};
};

// Starts the request, or says why not (503 when every stream stays busy).
std::variant<Running, ApiError> start_request(RunContext& ctx, const ApiRequest& r);

// Stops a running request whose client went away: its stream is freed at the next step.
void abandon(RunContext& ctx, Running& run);

}  // namespace sinkstream::serve
