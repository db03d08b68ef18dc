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
  bool harmony = false;
  int32_t harmony_return = -1, harmony_end = -1;

  const model::Tokenizer& tok() const { return stream->model().impl()->tokenizer(); }
  std::string special(int32_t id) const { return id >= 0 ? tok().piece(id) : std::string(); }
  std::string render(std::span<const ChatMessage> m, bool generation_prompt) const {
    return tmpl.render(m, generation_prompt, special(tok().bos()), special(tok().eos()));
  }
  // The conversation as the template renders it for the turn after it.
  std::string history() const {
    const std::string h = render(messages, false);
    return harmony ? harmony_history(h) : h;
  }
  // <|return|> is harmony's decode-time stop: a conversation that goes on holds
  // <|end|> there, as the template renders this turn from the next one on.
  int32_t stored(int32_t token) const {
    return harmony && token == harmony_return ? harmony_end : token;
  }
  void feed_text(const std::string& text, bool with_bos);
  void close_turn(const std::string& harmony_closing);
};

void Chat::Impl::feed_text(const std::string& text, bool with_bos) {
  std::vector<int32_t> ids;
  if (with_bos && stream->model().chat_needs_bos(tmpl)) ids.push_back(tok().bos());
  const auto enc = tok().encode(text, false, true);
  ids.insert(ids.end(), enc.begin(), enc.end());
  if (ids.empty()) return;
  if (options.before_feed) options.before_feed(ids.size(), stream->stats().tokens);
  sampler.accept(ids);
  stream->feed(ids);
  fed += text;
}

// A reply that ended without its end-of-turn token: feed what the format puts
// after an assistant message, found by rendering a marker in its place. A
// harmony reply may have stopped inside any message (the analysis, a header):
// the parser knows what closes the one it is in.
void Chat::Impl::close_turn(const std::string& harmony_closing) {
  if (harmony) return feed_text(harmony_closing, false);
  const std::string marker = "\x01sinkstream-end-of-reply\x01";
  auto closed = messages;
  closed.back().content = marker;
  const std::string r = render(closed, false);
  const size_t at = r.rfind(marker);
  if (at != std::string::npos) feed_text(r.substr(at + marker.size()), false);
}

namespace {

// A harmony vocabulary's token, -1 without one.
int32_t token_id(const model::Tokenizer& tok, std::string_view text) {
  return tok.find(text).value_or(-1);
}

}  // namespace

Chat::Chat(Stream& stream, ChatTemplate t, ChatOptions options)
    : impl_(std::make_unique<Impl>(
          Impl{&stream, std::move(t), options, Sampler(options.sampler), options.preamble, {}, 0, 0})) {
  Impl& c = *impl_;
  c.harmony = uses_harmony(stream.model(), c.tmpl);
  c.harmony_return = token_id(c.tok(), "<|return|>");
  c.harmony_end = token_id(c.tok(), "<|end|>");
}
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

ChatReply Chat::reply(uint64_t max_tokens,
                      const std::function<bool(std::string_view text)>& on_text) {
  // Other channels still reach the callback (with no text): it can stop the reply there too.
  return reply_channels(max_tokens, [&](std::string_view s, ReplyChannel ch) {
    return !on_text || on_text(ch == ReplyChannel::answer ? s : std::string_view());
  });
}

// With harmony the stream keeps this turn's analysis: an endless stream cannot
// take tokens back, and feeding the conversation again without it would cost
// a prefill of the whole window per turn. gpt-oss's template drops earlier
// turns' analysis, so here the model sees one it would not have; it leaves the
// window with the turn. `fed` follows the template all the same (the answer
// alone, ended by <|end|>), so the next turn feeds only the new user message.
ChatReply Chat::reply_channels(uint64_t max_tokens,
                               const std::function<bool(std::string_view, ReplyChannel)>& on_text) {
  Impl& c = *impl_;
  TextDecoder decoder(c.stream->model(), c.harmony);  // harmony's structure is its special tokens
  ReplySplitter split(c.harmony, c.options.stop_strings);
  ChatReply r;
  r.reason = StopReason::max_tokens;
  bool keep = true, called = false;
  const auto out = [&](std::string_view s, ReplyChannel ch) {
    called = true;
    if (ch == ReplyChannel::answer) r.text += s;
    if (ch == ReplyChannel::reasoning) r.reasoning += s;
    if (on_text && !on_text(s, ch)) keep = false;
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; !max_tokens || i < max_tokens; ++i) {
    if (!keep) {
      r.reason = StopReason::callback;
      break;
    }
    const int32_t next = c.stream->sample(c.sampler);
    c.sampler.accept(next);
    const int32_t one[] = {c.stored(next)};
    c.stream->feed(one);  // the end-of-turn token too: it closes the turn in the stream
    ++r.tokens;
    const bool eog = c.tok().is_eog(next);
    called = false;
    if (c.harmony || !eog) split.push(decoder.push(next), out);
    if (eog || split.turn_ended()) {
      r.reason = StopReason::end_of_generation;
      break;
    }
    if (split.stopped()) {
      r.reason = StopReason::stop_string;
      break;
    }
    // Every token asks the callback: it can stop the reply anywhere (a header, hidden reasoning).
    if (!called) out({}, ReplyChannel::answer);
  }
  split.finish(decoder.flush(), out);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.generated += r.tokens;
  c.decode_s += r.seconds;
  c.messages.push_back({"assistant", r.text});
  if (r.reason != StopReason::end_of_generation) c.close_turn(split.closing());
  c.fed = c.history();
  return r;
}

bool Chat::harmony() const { return impl_->harmony; }

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

bool uses_harmony(const ChatTemplate& t, const std::function<bool(std::string_view)>& has_token) {
  for (const char* token :
       {"<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|return|>", "<|call|>"})
    if (!has_token(token)) return false;
  // The vocabulary alone does not decide: the same model may be run with
  // another format. The template must write channels and leave the model in a
  // header it completes itself.
  try {
    const ChatMessage exchange[] = {{"user", "hi"}, {"assistant", "hello"}};
    if (t.render(exchange, false, "", "").find("<|channel|>") == std::string::npos) return false;
    const ChatMessage ask[] = {{"user", "hi"}};
    const std::string prompt = t.render(ask, true, "", "");
    const size_t start = prompt.rfind("<|start|>");
    return start != std::string::npos && prompt.find("<|message|>", start) == std::string::npos;
  } catch (const std::exception&) {
    return false;  // a template that refuses these messages is no harmony template we can use
  }
}

bool uses_harmony(const Model& model, const ChatTemplate& t) {
  return uses_harmony(t, [&](std::string_view text) { return model.find_token(text) >= 0; });
}

}  // namespace sinkstream
