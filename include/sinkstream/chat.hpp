// A multi-turn conversation on one endless Stream: each user turn is fed as the
// chat template renders it (only what is new since the last turn), the reply is
// sampled until its end-of-turn token, a stop string, the token limit or the
// callback's stop, and every turn is closed in the cache (also one cut short),
// so the next turn follows a well-formed conversation. Old turns leave the
// window and are forgotten; the sinks stay pinned.
//
// With a harmony template (gpt-oss, uses_harmony()), the reply is parsed into
// its messages: the answer (final channel) is the reply's text, the analysis
// channel its reasoning; <|end|> between messages does not end the turn,
// <|return|> and <|call|> do.
//
// Thread safety: as the Stream it runs on (one thread at a time).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sinkstream/export.hpp"
#include "sinkstream/harmony.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"
#include "sinkstream/session.hpp"

namespace sinkstream {

struct ChatOptions {
  SamplerParams sampler;
  std::vector<ChatMessage> preamble;      // e.g. the system message; kept by clear()
  std::vector<std::string> stop_strings;  // end a reply where it produces one
  // Called before each piece of the conversation is fed, with its length in
  // tokens and what the stream already holds (to warn when it cannot all be kept).
  std::function<void(uint64_t tokens, uint64_t held)> before_feed;
};

struct ChatReply {
  StopReason reason = StopReason::none;  // end_of_generation: the model ended its turn
  std::string text;                      // the reply as shown (stop string excluded)
  std::string reasoning;                 // harmony: the analysis channel (not in `text`)
  uint64_t tokens = 0;                   // generated, end-of-turn token included
  double seconds = 0;
};

class SINKSTREAM_API Chat {
 public:
  // The stream must outlive the Chat (and be used only through it meanwhile).
  Chat(Stream& stream, ChatTemplate chat_template, ChatOptions options);
  ~Chat();
  Chat(Chat&&) noexcept;
  Chat& operator=(Chat&&) noexcept;

  // Feeds the user's message as the template renders it, up to the reply's start.
  void add_user_turn(const std::string& text);
  // Generates the reply, handing each piece of showable text to `on_text`
  // (false stops the reply after that token); max_tokens 0: until end of turn.
  ChatReply reply(uint64_t max_tokens, const std::function<bool(std::string_view text)>& on_text);
  // The same, handing out every part of the reply with the channel it belongs
  // to: reasoning and tool calls too (harmony); other formats give only answer.
  // Stop strings apply to the answer alone.
  ChatReply reply_channels(uint64_t max_tokens,
                           const std::function<bool(std::string_view text, ReplyChannel channel)>& on_text);
  // Whether replies are read as harmony (see above).
  bool harmony() const;
  // Forgets the conversation (the preamble stays): a fresh stream.
  void clear();

  const std::vector<ChatMessage>& messages() const;
  const ChatTemplate& chat_template() const;
  uint64_t generated_tokens() const;  // over all replies
  double decode_seconds() const;      // over all replies

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hugging Face's apply_chat_template, byte for byte (`sinkstream template`):
// the variables a Jinja chat template is rendered with, as JSON text.
struct TemplateVariables {
  std::string messages = "[]";  // JSON list of {"role", "content", ...} messages
  std::string tools;            // JSON list of tool (function) schemas; "": none (None)
  std::string extra = "{}";     // JSON object of further variables, e.g. {"enable_thinking": false}
  bool add_generation_prompt = false;
  std::string bos_token, eos_token;
  std::string date;  // "YYYY-MM-DD": the day strftime_now() reports; "": today
};

// Renders a Jinja chat template's source. Throws InvalidArgument for JSON of
// other shapes, and Error with the template's own message when it fails (a
// syntax error, raise_exception). Thread-safe.
SINKSTREAM_API std::string render_chat_template(const std::string& source, const TemplateVariables& variables);

struct FileChatTemplate {
  std::string source;               // tokenizer.chat_template
  std::string bos_token, eos_token;  // the texts of the file's BOS and EOS tokens ("": none)
};

// A GGUF file's chat template, read without a device. Throws InvalidArgument
// when the file is not a GGUF or has no template. Thread-safe.
SINKSTREAM_API FileChatTemplate read_chat_template(const std::string& gguf_path);

}  // namespace sinkstream
