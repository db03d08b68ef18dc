#include "chat_renderer.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "files.hpp"
#include "sinkstream/error.hpp"

#include "text/jinja/jinja.hpp"

namespace sinkstream::app {

ChatRenderer::ChatRenderer(model::ChatFormat format) : format_(format) {}
ChatRenderer::~ChatRenderer() = default;
ChatRenderer::ChatRenderer(ChatRenderer&&) noexcept = default;
ChatRenderer& ChatRenderer::operator=(ChatRenderer&&) noexcept = default;

ChatRenderer ChatRenderer::jinja(const std::string& source, const std::string& name) {
  ChatRenderer r(model::ChatFormat::plain);
  r.template_ = std::make_shared<const text::jinja::Template>(source);
  r.name_ = name;
  return r;
}

std::string ChatRenderer::render(std::span<const model::ChatMessage> messages, bool add_generation_prompt,
                                 const std::string& bos, const std::string& eos) const {
  if (!template_) return model::render_chat(format_, messages, add_generation_prompt, bos, eos);
  text::jinja::ChatInputs in;
  for (const auto& m : messages) in.messages.push_back({{"role", m.role}, {"content", m.content}});
  in.add_generation_prompt = add_generation_prompt;
  in.bos_token = bos;
  in.eos_token = eos;
  return text::jinja::render_chat(*template_, in);
}

bool ChatRenderer::writes_bos(const std::string& bos) const {
  if (!template_) return model::writes_bos(format_);
  if (bos.empty()) return true;
  const model::ChatMessage probe[] = {{"user", "hi"}};
  return render(probe, true, bos, "").rfind(bos, 0) == 0;
}

std::string ChatRenderer::name() const { return template_ ? name_ : model::chat_format_name(format_); }

ChatRenderer chat_renderer_from_args(const cli::Args& a, const std::string& model_template) {
  std::string warning;
  if (a.has("chat-template")) {
    const std::string t = a.str("chat-template", "");
    for (int f = 0; f <= static_cast<int>(model::ChatFormat::plain); ++f)
      if (t == model::chat_format_name(static_cast<model::ChatFormat>(f)))
        return ChatRenderer(static_cast<model::ChatFormat>(f));
    const std::string name = t.substr(t.find_last_of('/') + 1);
    try {
      return ChatRenderer::jinja(read_text_file(t), name);
    } catch (const text::jinja::Error& e) {
      throw InvalidArgument("--chat-template '" + t + "' is not a template sinkstream can render: " + e.what());
    }
  }
  ChatRenderer r(model::choose_chat_format(model_template, warning));
  if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  return r;
}

}  // namespace sinkstream::app
