#include "serve/continuity.hpp"

#include <algorithm>

namespace sinkstream::serve {

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

std::vector<int32_t> fit_prompt(std::span<const int32_t> prompt, uint32_t sinks, uint32_t window) {
  if (prompt.size() <= size_t{sinks} + window) return {prompt.begin(), prompt.end()};
  std::vector<int32_t> out(prompt.begin(), prompt.begin() + sinks);
  out.insert(out.end(), prompt.end() - window, prompt.end());
  return out;
}

StreamPool::StreamPool(Backend& backend, uint32_t max_streams, uint32_t min_sinks, uint32_t window)
    : backend_(backend), max_streams_(max_streams), min_sinks_(min_sinks), window_(window) {}

// The idle stream that has seen the longest prefix of the prompt, when the rest
// of the prompt is new (not empty) and fits in its cache (else a new stream
// from what fits is cheaper than streaming the rest through it).
std::optional<size_t> StreamPool::match(const std::vector<int32_t>& prompt) const {
  std::optional<size_t> best;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.busy || s.seen.empty() || s.seen.size() >= prompt.size()) continue;
    if (prompt.size() - s.seen.size() + s.owed.size() > s.capacity) continue;
    if (common_prefix(s.seen, prompt) != s.seen.size()) continue;
    if (!best || s.seen.size() > slots_[*best].seen.size()) best = i;
  }
  return best;
}

bool StreamPool::destroy_least_recent_idle() {
  auto victim = slots_.end();
  for (auto it = slots_.begin(); it != slots_.end(); ++it)
    if (!it->busy && (victim == slots_.end() || it->last_used < victim->last_used)) victim = it;
  if (victim == slots_.end()) return false;
  backend_.destroy(victim->stream);
  slots_.erase(victim);
  return true;
}

Lease StreamPool::add_stream(uint64_t id, const std::vector<int32_t>& prompt, uint32_t sinks) {
  Slot s;
  s.stream = id;
  s.capacity = sinks + window_;
  s.busy = true;
  s.last_used = ++clock_;
  s.seen = prompt;  // the middle left out by fit_prompt counts as seen: the stream stands for it
  slots_.push_back(std::move(s));
  Lease l;
  l.stream = id;
  l.feed = fit_prompt(prompt, sinks, window_);
  l.fresh = true;
  l.after_bare_bos = prompt.size() == 1 && backend_.is_bos(prompt[0]);
  return l;
}

// The pool's lock is not held while a stream is created (that may wait for the
// engine's next step), so the engine's callbacks never wait for it.
std::optional<Lease> StreamPool::acquire(const std::vector<int32_t>& prompt, uint32_t pinned,
                                         std::chrono::milliseconds timeout) {
  // The system prompt is pinned next to the sinks unless it would crowd out the window.
  const uint32_t sinks = pinned > min_sinks_ && pinned <= window_ ? pinned : min_sinks_;
  std::unique_lock<std::mutex> lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (closing_) return std::nullopt;
    if (const auto m = match(prompt)) {
      Slot& s = slots_[*m];
      Lease l;
      l.stream = s.stream;
      l.reused = s.seen.size();
      l.feed = std::move(s.owed);
      s.owed.clear();
      l.feed.insert(l.feed.end(), prompt.begin() + static_cast<std::ptrdiff_t>(s.seen.size()), prompt.end());
      s.seen = prompt;
      s.busy = true;
      s.last_used = ++clock_;
      reused_ += l.reused;
      return l;
    }
    if (slots_.size() + creating_ < max_streams_ || destroy_least_recent_idle()) {
      creating_++;
      lock.unlock();
      const std::optional<uint64_t> id = backend_.create_stream(sinks, window_);
      lock.lock();
      creating_--;
      if (id) return add_stream(*id, prompt, sinks);
      if (destroy_least_recent_idle()) continue;  // no device memory left: an idle stream makes room
    }
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

void StreamPool::release(const Lease& lease, const std::vector<int32_t>& generated, EndReason why,
                         double tokens_per_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.stream == lease.stream; });
  if (it == slots_.end()) return;
  it->requests++;
  it->tokens_per_s = tokens_per_s;
  if (why == EndReason::cancelled || why == EndReason::error) {
    backend_.destroy(it->stream);
    slots_.erase(it);
    freed_.notify_all();
    return;
  }
  // Every id handed out is in the cache, except the last one unless an
  // end-of-generation token followed it (the scheduler feeds a token on the
  // step after it is picked); the end token itself is never fed.
  const size_t fed = why == EndReason::stop_token || generated.empty() ? generated.size() : generated.size() - 1;
  it->seen.insert(it->seen.end(), generated.begin(), generated.begin() + static_cast<std::ptrdiff_t>(fed));
}

void StreamPool::settle(uint64_t stream, std::optional<std::vector<int32_t>> seen, std::vector<int32_t> owed) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.stream == stream; });
  if (it == slots_.end()) return;
  if (closing_) {
    backend_.destroy(it->stream);
    slots_.erase(it);
  } else {
    if (seen) it->seen = std::move(*seen);
    it->owed = std::move(owed);
    it->busy = false;
    it->last_used = ++clock_;
  }
  freed_.notify_all();
}

void StreamPool::progress(uint64_t stream, double tokens_per_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Slot& s : slots_)
    if (s.stream == stream) s.tokens_per_s = tokens_per_s;
}

void StreamPool::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closing_ = true;
  freed_.notify_all();
}

std::vector<Conversation> StreamPool::conversations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Conversation> out;
  for (const Slot& s : slots_) out.push_back({s.stream, s.seen.size(), s.busy, s.requests, s.tokens_per_s});
  return out;
}

uint64_t StreamPool::reused_tokens() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reused_;
}

}  // namespace sinkstream::serve
