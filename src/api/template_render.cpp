// Rendering a Jinja chat template from JSON variables, and a GGUF file's own
// template: `sinkstream template`, for comparing with Python's jinja2.
#include <nlohmann/json.hpp>

#include "sinkstream/chat.hpp"
#include "sinkstream/error.hpp"
#include "text/jinja/jinja.hpp"
#include "text/vocab.hpp"

namespace sinkstream {
namespace {

nlohmann::ordered_json parse(const std::string& text, const char* what) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(std::string(what) + " is not valid JSON: " + e.what());
  }
}

}  // namespace

std::string render_chat_template(const std::string& source, const TemplateVariables& v) {
  text::jinja::ChatInputs in;
  in.messages = parse(v.messages, "messages");
  if (!in.messages.is_array()) throw InvalidArgument("messages must be a JSON list");
  if (!v.tools.empty()) in.tools = parse(v.tools, "tools");
  if (!in.tools.is_null() && !in.tools.is_array()) throw InvalidArgument("tools must be a JSON list");
  in.extra = parse(v.extra.empty() ? "{}" : v.extra, "the extra variables");
  if (!in.extra.is_object()) throw InvalidArgument("the extra variables must be a JSON object");
  in.add_generation_prompt = v.add_generation_prompt;
  in.bos_token = v.bos_token;
  in.eos_token = v.eos_token;
  text::jinja::RenderOptions opt;
  if (!v.date.empty()) opt.date = v.date;
  try {
    const text::jinja::Template tmpl(source);
    return text::jinja::render_chat(tmpl, in, opt);
  } catch (const text::jinja::Error& e) {
    throw Error(e.what());
  }
}

FileChatTemplate read_chat_template(const std::string& path) {
  if (!model::is_gguf_file(path)) throw InvalidArgument("'" + path + "' is not a GGUF file");
  const model::Vocab vocab = model::vocab_from_file(path);
  if (vocab.chat_template.empty()) throw InvalidArgument("'" + path + "' has no tokenizer.chat_template");
  auto token = [&](int32_t id) {
    return id >= 0 && static_cast<size_t>(id) < vocab.tokens.size() ? vocab.tokens[static_cast<size_t>(id)]
                                                                    : std::string();
  };
  return {vocab.chat_template, token(vocab.bos_id), token(vocab.eos_id)};
}

}  // namespace sinkstream
