// OpenAI's harmony response format (gpt-oss). A harmony prompt ends with
// "<|start|>assistant"; the model then writes one or more messages, each a
// header and a body:
//
//   <|channel|>analysis<|message|>Let me think...<|end|>
//   <|start|>assistant<|channel|>final<|message|>The answer.<|return|>
//
// The channel says who a message is for: `analysis` is the chain of thought
// (never shown to the user, dropped from later turns), `final` the answer,
// `commentary` a preamble to the user or, with a recipient in the header
// ("<|channel|>commentary to=functions.get_weather <|constrain|>json"), a tool
// call. <|end|> ends a message, not the turn; <|return|> ends the turn with the
// answer complete, <|call|> ends it with a tool call awaiting its result.
//
// HarmonyParser splits generated text into those messages as it streams in.
// It reads the special tokens as their text ("<|end|>"), so decode with
// special tokens rendered (the same text spelt with ordinary tokens would read
// alike, but models do not write it).
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sinkstream/export.hpp"
#include "sinkstream/model.hpp"

namespace sinkstream {

// Where a piece of a reply belongs, in the terms of OpenAI-style APIs.
enum class ReplyChannel {
  answer,     // shown to the user (the message content)
  reasoning,  // the chain of thought (reasoning_content)
  tool_call,  // a message addressed to a tool
};

// Body text of one message, as much as is certain so far.
struct HarmonyText {
  std::string channel;    // "analysis", "commentary", "final" (also when the header names none)
  std::string recipient;  // "functions.get_weather" for a tool call; empty for the user
  std::string text;
};

// final, and commentary without a recipient (a preamble): answer; a message with a
// recipient: tool_call; analysis and channels harmony does not define: reasoning.
SINKSTREAM_API ReplyChannel reply_channel(const HarmonyText& t);

// How the turn ended.
enum class HarmonyEnd {
  none,  // not yet (or the output stopped early)
  ret,   // <|return|>: the answer is complete
  call,  // <|call|>: a tool call waits for its result
};

class SINKSTREAM_API HarmonyParser {
 public:
  // Starts inside a header, as after the generation prompt "<|start|>assistant".
  HarmonyParser() = default;

  // Takes the next piece of generated text, cut anywhere (even inside a tag).
  // Returns the body text now certain, one entry per message it belongs to.
  // Text that may be the start of a tag ("<|", "<|ret") is held back until the
  // next piece settles it. Text after the turn's end is ignored.
  std::vector<HarmonyText> push(std::string_view text);
  // The output is over: what was held back in a body is text after all. Text
  // that never got a header (the model ignored the format) is given as final.
  std::vector<HarmonyText> finish();

  bool turn_ended() const { return end_ != HarmonyEnd::none; }
  HarmonyEnd end() const { return end_; }
  // What makes the output so far well-formed if it stops here (a token limit,
  // a stop string): "<|end|>" inside a body, "<|message|><|end|>" inside a
  // header (led by "<|channel|>final" when it has no channel yet), nothing
  // between messages or after the turn's end.
  std::string closing() const;

 private:
  enum class State { header, body, between, done };
  void text(std::string_view s, std::vector<HarmonyText>& out);
  void tag(std::string_view t, std::vector<HarmonyText>& out);
  void header_tag(std::string_view t, std::vector<HarmonyText>& out);
  void body_tag(std::string_view t, std::vector<HarmonyText>& out);
  void between_tag(std::string_view t);
  void open_body();
  void start_header(std::string_view with, bool after_start);
  void end_turn(std::string_view t);
  void flush_bare_header(std::vector<HarmonyText>& out);
  void emit(std::string_view s, std::vector<HarmonyText>& out);

  State state_ = State::header;
  HarmonyEnd end_ = HarmonyEnd::none;
  std::string held_;          // the start of a tag, maybe
  std::string header_;        // the current header so far, tags included
  HarmonyText current_;       // channel and recipient of the body being read
  bool fresh_ = false;        // no text of the current body handed out yet
  bool after_start_ = false;  // the header began at <|start|>: its first word is a role
};

// A reply's text sorted by channel as it streams in: with harmony through
// HarmonyParser and reply_channel(); otherwise all of it is answer. Stop strings
// end the answer only (the reasoning may mention them). Not thread-safe.
class SINKSTREAM_API ReplySplitter {
 public:
  using Sink = std::function<void(std::string_view text, ReplyChannel channel)>;
  ReplySplitter(bool harmony, std::vector<std::string> stop_strings);

  // The text of the next token(s): hands `out` what is certain now (nothing
  // once a stop string matched).
  void push(std::string_view text, const Sink& out);
  // The end of the reply (`tail`: what a decoder still held): what was held back.
  void finish(std::string_view tail, const Sink& out);

  bool stopped() const { return stops_.matched(); }  // a stop string ended the answer
  bool turn_ended() const { return harmony_ && parser_.turn_ended(); }
  // What closes a harmony reply that stops here (HarmonyParser::closing); "" otherwise.
  std::string closing() const { return harmony_ ? parser_.closing() : std::string(); }

 private:
  void route(const std::vector<HarmonyText>& parts, const Sink& out);
  void answer(std::string_view text, const Sink& out);

  bool harmony_;
  HarmonyParser parser_;
  StopStrings stops_;
};

// Whether conversations in `chat_template` on `model` use harmony: the
// vocabulary has its special tokens (<|start|>, <|channel|>, <|message|>,
// <|end|>, <|return|>, <|call|>) and the template writes an assistant message
// with <|channel|> and leaves a generation prompt at a <|start|> header. A
// gpt-oss model run with another format (--chat-template chatml) is not.
SINKSTREAM_API bool uses_harmony(const Model& model, const ChatTemplate& chat_template);

// The same decision from the template and a token lookup (no device needed).
SINKSTREAM_API bool uses_harmony(const ChatTemplate& chat_template,
                                 const std::function<bool(std::string_view)>& has_token);

// A rendered conversation as it stands in history: harmony templates end the
// last assistant message with <|return|> (the decode-time stop), but in a
// conversation that goes on every message ends with <|end|>, as OpenAI's
// harmony guide says. Other text is returned as is.
SINKSTREAM_API std::string harmony_history(std::string rendered);

}  // namespace sinkstream
