// A Backend with no GPU for the server's tests: text is one token per byte
// (id = byte + 3; BOS = 1, end of generation = 2), and each stream "generates"
// the letters of `reply` in turn, one token per step, then the end token.
#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "serve/backend.hpp"

namespace sinkstream::test {

class FakeBackend final : public serve::Backend {
 public:
  std::string reply = "hello world";
  std::chrono::milliseconds step_time{1};
  uint32_t max_live = 1000;  // more streams than this do not "fit in device memory"

  FakeBackend() {
    desc_.name = "fake";
    desc_.device = "none";
    desc_.context = 64;
    desc_.vocab = 259;
    desc_.sinks = 2;
    desc_.window = 64;
    desc_.chat_format = "fake";
  }
  const serve::ModelDesc& model() const override { return desc_; }
  // As a gpt-oss model: `reply` is then harmony text (its tags arrive a byte at a time).
  void set_harmony(bool on) { desc_.harmony = on; }

  static std::vector<int32_t> bytes(const std::string& s) {
    std::vector<int32_t> ids;
    for (unsigned char c : s) ids.push_back(int32_t{c} + 3);
    return ids;
  }
  // The template: "role:content\n" per message, then "assistant:".
  std::vector<int32_t> chat_ids(const std::vector<serve::ChatMsg>& m, bool generation_prompt) const override {
    std::string text;
    for (const auto& x : m) text += x.role + ":" + x.content + "\n";
    if (text.find("refuse") != std::string::npos) throw std::invalid_argument("template refused");
    auto ids = bytes(generation_prompt ? text + "assistant:" : text);
    ids.insert(ids.begin(), 1);
    return ids;
  }
  std::vector<int32_t> turn_close_ids(const std::vector<serve::ChatMsg>&) const override { return bytes("\n"); }
  uint32_t system_tokens(const std::vector<serve::ChatMsg>& s) const override {
    if (s.empty()) return 0;
    std::string text;
    for (const auto& x : s) text += x.role + ":" + x.content + "\n";
    return static_cast<uint32_t>(text.size() + 1);
  }
  std::vector<int32_t> text_prompt(const std::string& t) const override {
    auto ids = bytes(t);
    ids.insert(ids.begin(), 1);
    return ids;
  }
  bool is_bos(int32_t id) const override { return id == 1; }

  std::optional<uint64_t> create_stream(uint32_t sinks, uint32_t window) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (streams_.size() >= max_live) return std::nullopt;
    const uint64_t id = next_++;
    streams_[id].state = serve::StreamState{id, sinks, window, sinks + window, 0, 0, 0, 0, 1000, false};
    created++;
    return id;
  }
  void submit(uint64_t id, serve::GenRequest r) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Fake& s = find(id);
    if (s.request) throw std::invalid_argument("busy");
    s.request = std::make_unique<serve::GenRequest>(std::move(r));
    s.state.busy = true;
    s.sent = 0;
    s.cancel = s.stop = s.started = false;
    fed.push_back(s.request->prompt);
    work_.notify_all();
  }
  void cancel(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (streams_.count(id)) streams_[id].cancel = true;
  }
  void destroy(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = streams_.find(id);
    if (it == streams_.end()) return;
    if (!it->second.request) return void(streams_.erase(it));
    it->second.cancel = true;  // freed at the next step, as the scheduler does
    it->second.destroyed = true;
  }
  serve::StreamState state(uint64_t id) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto it = streams_.find(id);
    if (it == streams_.end()) throw std::invalid_argument("no such stream");
    return it->second.state;
  }
  serve::EngineStats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    serve::EngineStats e;
    e.live_streams = static_cast<uint32_t>(streams_.size());
    e.generated_tokens = generated_;
    e.device_bytes = 1000 * streams_.size();
    return e;
  }
  uint32_t live() const { return stats().live_streams; }
  std::vector<int32_t> fed_at(size_t i) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fed.at(i);
  }
  size_t submitted() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fed.size();
  }

  void run(const std::atomic<bool>& stop, const std::function<void(double)>& on_step) override {
    for (;;) {
      std::vector<std::function<void()>> events;
      bool worked = step(events);
      for (auto& e : events) e();
      if (worked) {
        on_step(std::chrono::duration<double>(step_time).count());
        std::this_thread::sleep_for(step_time);
      } else if (stop.load()) {
        return;
      } else {
        std::unique_lock<std::mutex> lock(mutex_);
        work_.wait_for(lock, std::chrono::milliseconds(5));
      }
    }
  }

  std::vector<std::vector<int32_t>> fed;  // every request's prompt, in order (read after requests end)
  uint32_t created = 0;

 private:
  struct Fake {
    serve::StreamState state;
    std::unique_ptr<serve::GenRequest> request;
    size_t sent = 0;
    bool cancel = false, destroyed = false, stop = false, started = false;
  };
  Fake& find(uint64_t id) {
    const auto it = streams_.find(id);
    if (it == streams_.end()) throw std::invalid_argument("no such stream");
    return it->second;
  }
  void end(Fake& s, serve::EndReason why, std::vector<std::function<void()>>& events) {
    auto r = std::shared_ptr<serve::GenRequest>(std::move(s.request));
    s.state.busy = false;
    const uint32_t n = static_cast<uint32_t>(s.sent);
    events.push_back([r, why, n] { r->on_end(serve::GenEnd{why, n, ""}, ""); });
  }
  // One token per busy stream; events run after the lock is dropped, as the scheduler's do.
  bool step(std::vector<std::function<void()>>& events) {
    std::lock_guard<std::mutex> lock(mutex_);
    bool worked = false;
    for (auto it = streams_.begin(); it != streams_.end();) {
      Fake& s = it->second;
      if (s.request) {
        worked = true;
        if (s.cancel) end(s, serve::EndReason::cancelled, events);
        else if (s.stop) end(s, serve::EndReason::stopped_by_caller, events);
        else advance(s, events);
      }
      if (s.destroyed && !s.request) it = streams_.erase(it);
      else ++it;
    }
    return worked;
  }
  void advance(Fake& s, std::vector<std::function<void()>>& events) {
    if (!s.started) s.state.tokens += s.request->prompt.size();
    s.started = true;
    if (s.sent >= s.request->max_tokens) return end(s, serve::EndReason::length, events);
    if (s.sent >= reply.size()) return end(s, serve::EndReason::stop_token, events);
    const char c = reply[s.sent++];
    s.state.tokens++;
    s.state.generated++;
    generated_++;
    serve::GenRequest* r = s.request.get();
    const int32_t id = int32_t{static_cast<unsigned char>(c)} + 3;
    // on_token runs outside the lock; a "stop" answer ends the request at the next step.
    events.push_back([this, r, id, c, sid = s.state.id] {
      if (!r->on_token(id, std::string(1, c))) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (streams_.count(sid) && streams_[sid].request.get() == r) streams_[sid].stop = true;
      }
    });
  }
  serve::ModelDesc desc_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::map<uint64_t, Fake> streams_;
  uint64_t next_ = 1;
  uint64_t generated_ = 0;
};

}  // namespace sinkstream::test
