#include "chat_session.hpp"

#include <algorithm>
#include <chrono>

#include "interrupt.hpp"
#include "stop_strings.hpp"
#include "warnings.hpp"

namespace sinkstream::app {

ChatSession::ChatSession(const model::Tokenizer& tok, model::Engine& engine, const model::SamplerConfig& sampling,
                         ChatRenderer renderer, std::vector<model::ChatMessage> preamble,
                         std::vector<std::string> stops, uint32_t context)
    : tok_(tok),
      engine_(engine),
      sampling_(sampling),
      sampler_(sampling),
      renderer_(std::move(renderer)),
      preamble_(preamble),
      messages_(std::move(preamble)),
      stops_(std::move(stops)),
      context_(context) {}

std::string ChatSession::render(bool generation_prompt) const {
  return renderer_.render(messages_, generation_prompt, special(tok_.bos()), special(tok_.eos()));
}

void ChatSession::feed_text(const std::string& text, bool with_bos) {
  std::vector<int32_t> ids;
  if (with_bos && tok_.bos() >= 0 && !renderer_.writes_bos(special(tok_.bos()))) ids.push_back(tok_.bos());
  const auto enc = tok_.encode(text, false, true);
  ids.insert(ids.end(), enc.begin(), enc.end());
  if (ids.empty()) return;
  warn_dropped_input("the message", ids.size(), engine_.counters().tokens, engine_.cache_config(), context_);
  for (int32_t t : ids) sampler_.accept(t);
  const auto l = engine_.feed(ids);
  logits_.assign(l.begin(), l.end());
  fed_ += text;
}

void ChatSession::add_user_turn(const std::string& user) {
  messages_.push_back({"user", user});
  const std::string full = render(true);
  const bool first = fed_.empty();
  if (full.compare(0, fed_.size(), fed_) == 0) {
    feed_text(full.substr(fed_.size()), first);
  } else {  // the template rewrote earlier turns: feed this turn on its own
    const std::vector<model::ChatMessage> turn = {messages_.back()};
    feed_text(renderer_.render(turn, true, special(tok_.bos()), special(tok_.eos())), false);
  }
}

// A reply that ended without its end-of-turn token: feed what the format puts
// after an assistant message, found by rendering a marker in its place.
void ChatSession::close_turn() {
  const std::string marker = "\x01sinkstream-end-of-reply\x01";
  auto closed = messages_;
  closed.back().content = marker;
  const std::string r =
      renderer_.render(closed, false, special(tok_.bos()), special(tok_.eos()));
  const size_t at = r.rfind(marker);
  if (at != std::string::npos) feed_text(r.substr(at + marker.size()), false);
}

StopReason ChatSession::reply(uint64_t max_tokens) {
  model::StreamingDecoder decoder(tok_);
  StopStrings stops(stops_);
  std::string text;
  const auto show = [&](const std::string& s) {
    text += s;
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  };
  StopReason why = StopReason::token_limit;
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; !max_tokens || i < max_tokens; ++i) {
    if (interrupted()) {
      why = StopReason::interrupted;
      break;
    }
    const int32_t next = sampler_.sample(logits_);
    sampler_.accept(next);
    const auto l = engine_.feed({&next, 1});  // the end-of-turn token too: it closes the turn in the stream
    logits_.assign(l.begin(), l.end());
    ++generated_;
    if (tok_.is_eog(next)) {
      why = StopReason::eos;
      break;
    }
    show(stops.push(decoder.push(next)));
    if (stops.matched()) {
      why = StopReason::stop_string;
      break;
    }
  }
  if (!stops.matched()) show(stops.push(decoder.flush()) + stops.flush());
  decode_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  messages_.push_back({"assistant", text});
  if (why != StopReason::eos) close_turn();
  fed_ = render(false);
  return why;
}

void ChatSession::clear() {
  engine_.reset();
  sampler_ = model::Sampler(sampling_);
  messages_ = preamble_;
  fed_.clear();
  logits_.clear();
}

void ChatSession::print_stats(std::FILE* out) const {
  const auto c = engine_.counters();
  std::fprintf(out,
               "[cache %u/%u slots (%u pinned), %llu tokens streamed, %llu evicted; %.1f tokens/s; %.1f MiB on "
               "device]\n",
               c.slots_used, c.capacity, engine_.cache_config().sinks, static_cast<unsigned long long>(c.tokens),
               static_cast<unsigned long long>(c.evicted),
               static_cast<double>(generated_) / std::max(decode_s_, 1e-9),
               static_cast<double>(c.device_bytes) / (1 << 20));
}

}  // namespace sinkstream::app
