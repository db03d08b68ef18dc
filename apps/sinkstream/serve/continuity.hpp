// Conversation continuity through a stateless API. Each live stream remembers
// the token ids of the conversation it stands for (`seen`: every id the client
// sent or the model generated that is in the stream's cache, or that was left
// out because it did not fit). A request whose prompt ids start with a stream's
// `seen` ids, and go on past them, continues that stream: only the new ids are
// fed. Otherwise a new stream starts from what fits: the system prompt (BOS
// included) pinned as sinks, then the end of the prompt. docs/serve.md says more.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "serve/backend.hpp"

namespace sinkstream::serve {

// Length of the common prefix of two id sequences.
size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b);

// What a new stream with `sinks` pinned slots and `window` slots is fed of a
// prompt: all of it when it fits, else its first `sinks` ids and its last
// `window` ids (the middle would only be evicted again).
std::vector<int32_t> fit_prompt(std::span<const int32_t> prompt, uint32_t sinks, uint32_t window);

// The stream a request runs on and what to feed it.
struct Lease {
  uint64_t stream = 0;
  std::vector<int32_t> feed;  // the ids to feed now (never empty)
  size_t reused = 0;          // prompt ids the stream had already seen (not computed again)
  bool fresh = false;         // a new stream
  bool after_bare_bos = false;  // the stream holds only BOS before `feed`'s first generated token
};

struct Conversation {  // a live stream, for /v1/streams
  uint64_t stream = 0;
  size_t seen = 0;        // ids of the conversation accounted for
  bool busy = false;
  uint64_t requests = 0;  // requests served on it
  double tokens_per_s = 0;  // decode speed of its latest request
};

class StreamPool {
 public:
  // At most `max_streams` live streams, each of `window` window slots and at
  // least `min_sinks` sinks.
  StreamPool(Backend& backend, uint32_t max_streams, uint32_t min_sinks, uint32_t window);

  // The stream for a prompt (ids, BOS first) whose first `pinned` ids are the
  // system prompt. Waits up to `timeout` while every stream is busy and no more
  // fit; nullopt then (or when `closing`).
  std::optional<Lease> acquire(const std::vector<int32_t>& prompt, uint32_t pinned, std::chrono::milliseconds timeout);
  // The request on `lease.stream` ended (engine side): `generated` ids were
  // handed out. A stream whose cache state is unknown (cancelled, error) is
  // destroyed; any other stays reserved until settle().
  void release(const Lease& lease, const std::vector<int32_t>& generated, EndReason why, double tokens_per_s);
  // The request's answer is out (server side): the stream is free again. For a
  // chat, `seen` replaces its ids by the template's rendering of the messages
  // with the reply (what the next request will send), and `owed` are ids to
  // feed before the next request's new ones (the reply's unfed last token, the
  // template's end of turn).
  void settle(uint64_t stream, std::optional<std::vector<int32_t>> seen, std::vector<int32_t> owed);
  // The decode speed of the stream's running request (for /v1/streams).
  void progress(uint64_t stream, double tokens_per_s);
  // Refuses new work and wakes waiters (shutdown).
  void close();

  std::vector<Conversation> conversations() const;
  uint64_t reused_tokens() const;  // prompt ids not computed again, over all requests

 private:
  struct Slot {
    uint64_t stream = 0;
    std::vector<int32_t> seen;
    std::vector<int32_t> owed;  // fed before the next request's new ids
    uint32_t capacity = 0;
    bool busy = false;
    uint64_t last_used = 0;
    uint64_t requests = 0;
    double tokens_per_s = 0;
  };
  std::optional<size_t> match(const std::vector<int32_t>& prompt) const;
  Lease add_stream(uint64_t id, const std::vector<int32_t>& prompt, uint32_t sinks);
  bool destroy_least_recent_idle();

  Backend& backend_;
  uint32_t max_streams_, min_sinks_, window_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<Slot> slots_;
  uint32_t creating_ = 0;  // streams being created (counted against max_streams)
  uint64_t clock_ = 0;
  uint64_t reused_ = 0;
  bool closing_ = false;
};

}  // namespace sinkstream::serve
