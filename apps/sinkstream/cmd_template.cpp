// `sinkstream template`: renders a chat template (a model's own
// `tokenizer.chat_template`, or a file) the way Hugging Face's
// apply_chat_template does and prints exactly that text, so users see what
// the model is fed and tests can compare it with Python's jinja2.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "files.hpp"
#include "format/gguf.hpp"
#include "text/vocab.hpp"
#include "sinkstream/error.hpp"
#include "text/jinja/jinja.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream template (--model M.gguf | --template-file T.jinja) --messages M.json "
    "[options]\n"
    "Prints the chat template rendered for the messages, nothing added (no newline).\n"
    "  --model PATH             GGUF file: its tokenizer.chat_template, BOS and EOS token texts\n"
    "  --template-file PATH     or: a Jinja template file\n"
    "  --bos-token S            the text bos_token stands for (default: the model's, or empty)\n"
    "  --eos-token S            the text eos_token stands for (default: the model's, or empty)\n"
    "  --messages PATH          JSON: a list of {\"role\", \"content\", ...} messages, or an "
    "object\n"
    "                           with \"messages\", optional \"tools\" and other template "
    "variables\n"
    "                           (e.g. \"enable_thinking\": false)\n"
    "  --tools PATH             JSON list of tool (function) schemas\n"
    "  --add-generation-prompt  end with the opening of the assistant's turn\n"
    "  --date YYYY-MM-DD        the day strftime_now() reports (default: today)\n"
    "A template that raises an exception exits with status 1 and its message.\n";

nlohmann::ordered_json read_json(const std::string& path) {
  try {
    return nlohmann::ordered_json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument("'" + path + "' is not valid JSON: " + e.what());
  }
}

struct TemplateSource {
  std::string text, bos, eos;
};

TemplateSource load_template(const cli::Args& args) {
  if (args.has("model") == args.has("template-file"))
    throw InvalidArgument("give exactly one of --model and --template-file (see --help)");
  TemplateSource src;
  if (args.has("template-file")) {
    src.text = read_text_file(args.str("template-file", ""));
  } else {
    const std::string path = args.str("model", "");
    if (!model::is_gguf_file(path)) throw InvalidArgument("'" + path + "' is not a GGUF file");
    const model::Vocab vocab = model::vocab_from_file(path);
    if (vocab.chat_template.empty())
      throw InvalidArgument("'" + path + "' has no tokenizer.chat_template");
    src.text = vocab.chat_template;
    auto token = [&](int32_t id) {
      return id >= 0 && static_cast<size_t>(id) < vocab.tokens.size()
                 ? vocab.tokens[static_cast<size_t>(id)]
                 : std::string();
    };
    src.bos = token(vocab.bos_id);
    src.eos = token(vocab.eos_id);
  }
  src.bos = args.str("bos-token", src.bos);
  src.eos = args.str("eos-token", src.eos);
  return src;
}

text::jinja::ChatInputs load_inputs(const cli::Args& args) {
  if (!args.has("messages")) throw InvalidArgument("--messages is required (see --help)");
  text::jinja::ChatInputs in;
  nlohmann::ordered_json m = read_json(args.str("messages", ""));
  if (m.is_object()) {
    for (auto& [k, v] : m.items()) {
      if (k == "messages")
        in.messages = v;
      else if (k == "tools")
        in.tools = v;
      else
        in.extra[k] = v;
    }
  } else {
    in.messages = std::move(m);
  }
  if (!in.messages.is_array())
    throw InvalidArgument("--messages must hold a JSON list of messages");
  if (args.has("tools")) in.tools = read_json(args.str("tools", ""));
  if (!in.tools.is_null() && !in.tools.is_array())
    throw InvalidArgument("tools must be a JSON list");
  in.add_generation_prompt = args.has("add-generation-prompt");
  return in;
}

}  // namespace

int cmd_template(const std::vector<std::string>& argv) {
  const cli::Args args(
      argv, {"add-generation-prompt", "help"},
      {"model", "template-file", "bos-token", "eos-token", "messages", "tools", "date"});
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const TemplateSource src = load_template(args);
  text::jinja::ChatInputs in = load_inputs(args);
  in.bos_token = src.bos;
  in.eos_token = src.eos;
  text::jinja::RenderOptions opt;
  if (args.has("date")) opt.date = args.str("date", "");
  const text::jinja::Template tmpl(src.text);
  const std::string out = text::jinja::render_chat(tmpl, in, opt);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace sinkstream::app
