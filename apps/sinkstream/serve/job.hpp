// One request's output, handed from the engine's driver thread (which produces
// text and never waits for a client) to the HTTP thread that writes it (which
// may wait on a slow client without holding up any other stream).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace sinkstream::serve {

struct JobEnd {
  std::string finish_reason;  // stop, length; empty when it failed
  uint32_t completion_tokens = 0;
  std::string error;          // set: the request failed
  bool cancelled = false;
  bool end_token = false;     // ended by an end-of-generation token
  int32_t last_token = -1;    // the last id handed out
};

class Job {
 public:
  struct Chunk {
    std::string text;            // everything pushed since the last take
    std::string reasoning;       // harmony: reasoning pushed since the last take (it came first)
    std::optional<JobEnd> end;   // set once the job ended and all its text is taken
  };

  void push(const std::string& text) {
    if (text.empty()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    text_ += text;
    ready_.notify_all();
  }
  void push_reasoning(const std::string& text) {
    if (text.empty()) return;
    std::lock_guard<std::mutex> lock(mutex_);
    reasoning_ += text;
    ready_.notify_all();
  }
  void finish(JobEnd end) {
    std::lock_guard<std::mutex> lock(mutex_);
    end_ = std::move(end);
    ready_.notify_all();
  }
  // Waits up to `timeout` for text or the end.
  Chunk take(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !text_.empty() || !reasoning_.empty() || end_.has_value(); });
    Chunk c;
    c.text.swap(text_);
    c.reasoning.swap(reasoning_);
    c.end = end_;
    return c;
  }
  // The engine side: the request is over, its stream may be leased again (so a
  // late cancel must no longer touch it). Returns false if it was already.
  bool mark_ended() {
    std::lock_guard<std::mutex> lock(mutex_);
    const bool was = ended_;
    ended_ = true;
    return !was;
  }
  bool ended() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ended_;
  }
  // The client side: runs `cancel` unless the request already ended, with the
  // lock held so the stream cannot change hands meanwhile.
  template <class F>
  void cancel_if_running(F&& cancel) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!ended_) cancel();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::string text_;
  std::string reasoning_;
  std::optional<JobEnd> end_;
  bool ended_ = false;
};

}  // namespace sinkstream::serve
