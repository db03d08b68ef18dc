#include "serve/completions.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <stdexcept>

#include "sinkstream/harmony.hpp"
#include "sinkstream/model.hpp"

namespace sinkstream::serve {
namespace {

std::string request_id(bool chat) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-%08llx%06llx", chat ? "chatcmpl" : "cmpl", static_cast<unsigned long long>(salt & 0xffffffff),
                static_cast<unsigned long long>(++counter));
  return buf;
}

struct Prompt {
  std::vector<int32_t> ids;
  uint32_t pinned = 0;  // leading ids of the system prompt (and BOS)
};

std::variant<Prompt, ApiError> prompt_ids(const Backend& b, const ApiRequest& r) {
  Prompt p;
  try {
    if (r.chat) {
      p.ids = b.chat_ids(r.messages, true);
      std::vector<ChatMsg> system;
      for (const auto& m : r.messages) {
        if (m.role != "system") break;
        system.push_back(m);
      }
      p.pinned = b.system_tokens(system);
    } else {
      p.ids = r.prompt_is_ids ? r.prompt_ids : b.text_prompt(r.prompt);
    }
  } catch (const std::invalid_argument& e) {
    return ApiError{400, e.what(), "invalid_request_error", r.chat ? "messages" : "prompt", ""};
  }
  if (p.ids.empty()) return ApiError{400, "the prompt is empty (the model has no BOS token)", "invalid_request_error", "prompt", ""};
  return p;
}

// What the engine's callbacks share: the ids handed out, the text's way to
// the job (stop strings; for a harmony chat, channels), timing.
struct Generation {
  std::shared_ptr<Job> job;
  ReplySplitter split;
  std::vector<int32_t> ids;
  std::chrono::steady_clock::time_point first;
  double tokens_per_s() const {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
    return ids.size() > 1 && s > 0 ? static_cast<double>(ids.size() - 1) / s : 0.0;
  }
  // Tools are not offered (the API refuses them), so a call the model makes
  // anyway has no place in the response: its text is dropped.
  ReplySplitter::Sink to_job() const {
    return [j = job.get()](std::string_view s, ReplyChannel ch) {
      if (ch == ReplyChannel::answer) j->push(std::string(s));
      if (ch == ReplyChannel::reasoning) j->push_reasoning(std::string(s));
    };
  }
};

JobEnd job_end(const GenEnd& end, const Generation& g) {
  JobEnd j;
  j.completion_tokens = static_cast<uint32_t>(g.ids.size());
  j.end_token = end.reason == EndReason::stop_token;
  j.last_token = g.ids.empty() ? -1 : g.ids.back();
  switch (end.reason) {
    case EndReason::stop_token: j.finish_reason = "stop"; break;
    case EndReason::length: j.finish_reason = "length"; break;
    case EndReason::stopped_by_caller: j.finish_reason = g.split.stopped() ? "stop" : "length"; break;
    case EndReason::cancelled: j.cancelled = true; j.error = "cancelled"; break;
    case EndReason::error: j.error = end.error.empty() ? "the engine failed" : end.error; break;
  }
  return j;
}

GenRequest generation_request(RunContext& ctx, const ApiRequest& r, const Lease& lease, std::shared_ptr<Generation> g) {
  GenRequest q;
  q.prompt = lease.feed;
  q.max_tokens = r.max_tokens;
  q.sampling = r.sampling;
  if (!r.seed_given) q.sampling.seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  q.first_piece_after_bos = lease.after_bare_bos;
  StreamPool& pool = ctx.pool;
  const uint64_t stream = lease.stream;
  q.on_token = [g, &pool, stream](int32_t id, const std::string& text) {
    if (g->ids.empty()) g->first = std::chrono::steady_clock::now();
    g->ids.push_back(id);
    g->split.push(text, g->to_job());
    if (g->ids.size() % 16 == 0) pool.progress(stream, g->tokens_per_s());
    return !g->split.stopped();
  };
  q.on_end = [g, &pool, lease](const GenEnd& end, const std::string& tail) {
    g->split.finish(tail, g->to_job());
    g->job->mark_ended();  // from here a late cancel leaves the stream alone
    pool.release(lease, g->ids, end.reason, g->tokens_per_s());
    g->job->finish(job_end(end, *g));
  };
  return q;
}

}  // namespace

std::variant<Running, ApiError> start_request(RunContext& ctx, const ApiRequest& r) {
  auto p = prompt_ids(ctx.backend, r);
  if (auto* e = std::get_if<ApiError>(&p)) return *e;
  const Prompt& prompt = std::get<Prompt>(p);
  auto lease = ctx.pool.acquire(prompt.ids, prompt.pinned, ctx.queue_timeout);
  if (!lease)
    return ApiError{503, "every stream is busy (or the server is shutting down); try again", "server_error", "",
                    "server_busy"};
  Running run;
  run.job = std::make_shared<Job>();
  run.lease = *lease;
  run.result.id = request_id(r.chat);
  run.result.created = static_cast<int64_t>(std::time(nullptr));
  run.result.model = ctx.backend.model().name;
  run.result.usage.prompt_tokens = prompt.ids.size();
  run.result.usage.cached_tokens = lease->reused;
  if (r.echo && !r.chat) run.echo = r.prompt_is_ids ? std::string() : r.prompt;
  run.chat = r.chat;
  run.messages = r.messages;
  const bool harmony = r.chat && ctx.backend.model().harmony;
  auto g = std::make_shared<Generation>(Generation{run.job, ReplySplitter(harmony, r.stop), {}, {}});
  try {
    ctx.backend.submit(lease->stream, generation_request(ctx, r, *lease, g));
  } catch (const std::exception& e) {
    ctx.pool.release(*lease, {}, EndReason::error, 0);
    return ApiError{500, std::string("the engine refused the request: ") + e.what(), "server_error", "", ""};
  }
  return run;
}

void finish(RunContext& ctx, Running& run, const JobEnd& end, const std::string& reply) {
  if (run.settled->exchange(true)) return;
  if (!end.error.empty()) return;  // cancelled or failed: the stream is gone already
  const uint64_t stream = run.lease.stream;
  if (!run.chat) return ctx.pool.settle(stream, std::nullopt, {});
  // The next request of this conversation sends these messages back with the
  // reply: the stream stands for the template's rendering of them. What the
  // cache lacks of it is fed first then: the last token (unless an end token
  // followed it) and the template's end of turn.
  try {
    std::vector<ChatMsg> m = run.messages;
    m.push_back({"assistant", reply});
    std::vector<int32_t> seen = ctx.backend.chat_ids(m, false);
    std::vector<int32_t> owed;
    if (!end.end_token && end.last_token >= 0) owed.push_back(end.last_token);
    const std::vector<int32_t> close = ctx.backend.turn_close_ids(m);
    owed.insert(owed.end(), close.begin(), close.end());
    ctx.pool.settle(stream, std::move(seen), std::move(owed));
  } catch (const std::exception&) {
    ctx.pool.settle(stream, std::nullopt, {});
  }
}

void abandon(RunContext& ctx, Running& run, std::string reply) {
  run.job->cancel_if_running([&] { ctx.backend.cancel(run.lease.stream); });
  // The end comes at the next step at the latest (cancelled, or the request had just ended).
  for (;;) {
    Job::Chunk c = run.job->take(std::chrono::milliseconds(100));
    reply += c.text;
    if (c.end) return finish(ctx, run, *c.end, reply);
  }
}

}  // namespace sinkstream::serve
