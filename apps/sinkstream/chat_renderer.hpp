// How a conversation becomes the prompt text the model reads: a Jinja chat
// template rendered as Hugging Face renders it (`--chat-template FILE.jinja`),
// or one of the built-in formatters (the model's template family, or a name).
#pragma once
#include <memory>
#include <span>
#include <string>

#include "cli.hpp"
#include "text/chat_template.hpp"

namespace sinkstream::text::jinja {
class Template;
}

namespace sinkstream::app {

class ChatRenderer {
 public:
  explicit ChatRenderer(model::ChatFormat format);
  // Throws text::jinja::SyntaxError for a template that does not parse.
  static ChatRenderer jinja(const std::string& source, const std::string& name);
  ~ChatRenderer();
  ChatRenderer(ChatRenderer&&) noexcept;
  ChatRenderer& operator=(ChatRenderer&&) noexcept;

  // Throws the template's own error (raise_exception) when it refuses the messages.
  std::string render(std::span<const model::ChatMessage> messages, bool add_generation_prompt,
                     const std::string& bos, const std::string& eos) const;
  // Whether the rendered text already starts with `bos` (else the caller adds BOS).
  bool writes_bos(const std::string& bos) const;
  std::string name() const;

 private:
  model::ChatFormat format_ = model::ChatFormat::plain;
  std::shared_ptr<const text::jinja::Template> template_;  // set: Jinja
  std::string name_;
};

// --chat-template NAME picks a built-in format; --chat-template FILE renders the
// file's Jinja template as Hugging Face does; otherwise the built-in format of
// the model's template family (`chat` and `serve`).
ChatRenderer chat_renderer_from_args(const cli::Args& a, const std::string& model_template);

}  // namespace sinkstream::app
