#include "sinkstream/chat.hpp"

#include <chrono>

#include "api/model_impl.hpp"

namespace sinkstream {

struct Chat::Impl {
  Stream* stream;
  ChatTemplate tmpl;
  ChatOptions options;
  Sampler sampler;
  std::vector<ChatMessage> messages;
  std::string fed;  // the rendered conversation fed so far
  uint64_t generated = 0;
  double decode_s = 0;

  const model::Tokenizer& tok() const { return stream->model().impl()->tokenizer(); }
  std::string special(int32_t id) const { return id >= 0 ? tok().piece(id) : std::string(); }
  std::string render(std::span<const ChatMessage> m, bool generation_prompt) const {
    return tmpl.render(m, generation_prompt, special(tok().bos()), special(tok().eos()));
  }
  void feed_text(const std::string& text, bool with_bos);
  void close_turn();
};

void Chat::Impl::feed_text(const std::string& text, bool with_bos) {
  std::vector<int32_t> ids;
  if (with_bos && tok().bos() >= 0 && !tmpl.writes_bos(special(tok().bos()))) ids.push_back(tok().bos());
  const auto enc = tok().encode(text, false, true);
  ids.insert(ids.end(), enc.begin(), enc.end());
  if (ids.empty()) return;
  if (options.before_feed) options.before_feed(ids.size(), stream->stats().tokens);
  sampler.accept(ids);
  stream->feed(ids);
  fed += text;
}

// A reply that ended without its end-of-turn token: feed what the format puts
// after an assistant message, found by rendering a marker in its place.
void Chat::Impl::close_turn() {
  const std::string marker = "\x01sinkstream-end-of-reply\x01";
  auto closed = messages;
  closed.back().content = marker;
  const std::string r = render(closed, false);
  const size_t at = r.rfind(marker);
  if (at != std::string::npos) feed_text(r.substr(at + marker.size()), false);
}

Chat::Chat(Stream& stream, ChatTemplate t, ChatOptions options)
    : impl_(std::make_unique<Impl>(
          Impl{&stream, std::move(t), options, Sampler(options.sampler), options.preamble, {}, 0, 0})) {}
Chat::~Chat() = default;
Chat::Chat(Chat&&) noexcept = default;
Chat& Chat::operator=(Chat&&) noexcept = default;

void Chat::add_user_turn(const std::string& user) {
  Impl& c = *impl_;
  c.messages.push_back({"user", user});
  const std::string full = c.render(c.messages, true);
  const bool first = c.fed.empty();
  if (full.compare(0, c.fed.size(), c.fed) == 0) {
    c.feed_text(full.substr(c.fed.size()), first);
  } else {  // the template rewrote earlier turns: feed this turn on its own
    const ChatMessage turn[] = {c.messages.back()};
    c.feed_text(c.render(turn, true), false);
  }
}

ChatReply Chat::reply(uint64_t max_tokens, const std::function<bool(std::string_view)>& on_text) {
  Impl& c = *impl_;
  TextDecoder decoder(c.stream->model());
  StopStrings stops(c.options.stop_strings);
  ChatReply r;
  r.reason = StopReason::max_tokens;
  bool keep = true;
  const auto show = [&](const std::string& s) {
    r.text += s;
    if (on_text && !on_text(s)) keep = false;
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; !max_tokens || i < max_tokens; ++i) {
    if (!keep) {
      r.reason = StopReason::callback;
      break;
    }
    const int32_t next = c.stream->sample(c.sampler);
    c.sampler.accept(next);
    const int32_t one[] = {next};
    c.stream->feed(one);  // the end-of-turn token too: it closes the turn in the stream
    ++r.tokens;
    if (c.tok().is_eog(next)) {
      r.reason = StopReason::end_of_generation;
      break;
    }
    show(stops.push(decoder.push(next)));
    if (stops.matched()) {
      r.reason = StopReason::stop_string;
      break;
    }
  }
  if (!stops.matched()) show(stops.push(decoder.flush()) + stops.flush());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.generated += r.tokens;
  c.decode_s += r.seconds;
  c.messages.push_back({"assistant", r.text});
  if (r.reason != StopReason::end_of_generation) c.close_turn();
  c.fed = c.render(c.messages, false);
  return r;
}

void Chat::clear() {
  Impl& c = *impl_;
  c.stream->reset();
  c.sampler = Sampler(c.options.sampler);
  c.messages = c.options.preamble;
  c.fed.clear();
}

const std::vector<ChatMessage>& Chat::messages() const { return impl_->messages; }
const ChatTemplate& Chat::chat_template() const { return impl_->tmpl; }
uint64_t Chat::generated_tokens() const { return impl_->generated; }
double Chat::decode_seconds() const { return impl_->decode_s; }

}  // namespace sinkstream
