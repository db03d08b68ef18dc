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
#include "sinkstream/chat.hpp"
#include "sinkstream/error.hpp"

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

TemplateVariables load_template(const cli::Args& args, std::string& source) {
  if (args.has("model") == args.has("template-file"))
    throw InvalidArgument("give exactly one of --model and --template-file (see --help)");
  TemplateVariables v;
  if (args.has("template-file")) {
    source = read_text_file(args.str("template-file", ""));
  } else {
    FileChatTemplate t = read_chat_template(args.str("model", ""));
    source = std::move(t.source);
    v.bos_token = std::move(t.bos_token);
    v.eos_token = std::move(t.eos_token);
  }
  v.bos_token = args.str("bos-token", v.bos_token);
  v.eos_token = args.str("eos-token", v.eos_token);
  return v;
}

// --messages (a list, or an object with "messages", "tools" and other
// variables) and --tools, checked here so the errors name the options.
void load_inputs(const cli::Args& args, TemplateVariables& v) {
  if (!args.has("messages")) throw InvalidArgument("--messages is required (see --help)");
  nlohmann::ordered_json messages = nlohmann::ordered_json::array(), tools,
                         extra = nlohmann::ordered_json::object();
  nlohmann::ordered_json m = read_json(args.str("messages", ""));
  if (m.is_object()) {
    for (auto& [k, x] : m.items()) {
      if (k == "messages")
        messages = x;
      else if (k == "tools")
        tools = x;
      else
        extra[k] = x;
    }
  } else {
    messages = std::move(m);
  }
  if (!messages.is_array())
    throw InvalidArgument("--messages must hold a JSON list of messages");
  if (args.has("tools")) tools = read_json(args.str("tools", ""));
  if (!tools.is_null() && !tools.is_array())
    throw InvalidArgument("tools must be a JSON list");
  v.messages = messages.dump();
  if (!tools.is_null()) v.tools = tools.dump();
  v.extra = extra.dump();
  v.add_generation_prompt = args.has("add-generation-prompt");
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
  std::string source;
  TemplateVariables v = load_template(args, source);
  load_inputs(args, v);
  if (args.has("date")) v.date = args.str("date", "");
  const std::string out = render_chat_template(source, v);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace sinkstream::app
