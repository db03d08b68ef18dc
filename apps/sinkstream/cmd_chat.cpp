// `sinkstream chat`: a multi-turn conversation on one endless stream. Old turns
// leave the window and are forgotten; the attention sinks (and, with
// --pin-system, the whole system prompt) stay pinned.
#include <cstdio>
#include <string>
#include <vector>

#include "chat_session.hpp"
#include "commands.hpp"
#include "files.hpp"
#include "interrupt.hpp"
#include "line_input.hpp"
#include "model_cli.hpp"
#include "sinkstream/error.hpp"
#include "warnings.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream chat --model PATH [options]\n"
    "Chat on one endless stream in constant memory, with line editing and history\n"
    "in a terminal. End a line with \\ to continue it, or wrap several lines in \"\"\".\n"
    "Turns older than the window are forgotten: the model no longer sees them.\n"
    "Ctrl-C stops a reply; at the prompt, Ctrl-C or Ctrl-D quits.\n"
    "  --system TEXT       system prompt\n"
    "  --pin-system        pin BOS + the system prompt next to the sinks: never evicted\n"
    "  --chat-template T   a chat format by name (chatml, llama2, llama3, mistral, phi3,\n"
    "                      gemma, zephyr, plain), or a .jinja file rendered as Hugging\n"
    "                      Face renders it (default: the built-in format of the model's\n"
    "                      template family)\n"
    "  --tokens N          most tokens per reply (512; 0 = until end of turn)\n"
    "  --stop S            end a reply where it produces S; repeatable\n"
    "  --temperature T ... sampling options as for `generate` (the seed is random\n"
    "                      unless --seed S)\n";

constexpr const char* kCommandsHelp =
    "/help    this list\n"
    "/clear   forget the conversation: a fresh stream (the system prompt stays)\n"
    "/stats   cache occupancy, evictions, speed\n"
    "/quit    leave (also /exit, /bye, Ctrl-D)\n"
    "To send a message that starts with /, start it with a space.\n";

// Slash commands at the prompt; false when the chat should end.
bool slash_command(const std::string& line, ChatSession& chat) {
  const std::string cmd = line.substr(0, line.find_first_of(" \t"));
  if (cmd == "/quit" || cmd == "/exit" || cmd == "/bye") return false;
  if (cmd == "/help" || cmd == "/?") {
    std::fputs(kCommandsHelp, stdout);
  } else if (cmd == "/stats") {
    chat.print_stats(stdout);
  } else if (cmd == "/clear") {
    chat.clear();
    std::printf("[conversation cleared: a fresh stream]\n");
  } else {
    std::fprintf(stderr, "unknown command %s: /help lists them (start a message with a space to send a /)\n",
                 cmd.c_str());
  }
  std::fflush(stdout);
  return true;
}

// With --pin-system, the sinks grow to cover BOS + the system prompt.
uint32_t pinned_tokens(const model::Tokenizer& tok, const ChatRenderer& format,
                       const std::vector<model::ChatMessage>& preamble) {
  const std::string text = format.render(preamble, false, tok.bos() >= 0 ? tok.piece(tok.bos()) : "",
                                         tok.eos() >= 0 ? tok.piece(tok.eos()) : "");
  return static_cast<uint32_t>(tok.encode(text, false, true).size() + 1);
}

}  // namespace

int cmd_chat(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"system", "tokens", "temperature", "top-k", "top-p", "min-p", "repeat-penalty", "seed", "stop",
                  "chat-template"});
  const cli::Args a(argv, {"help", "pin-system"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  LoadedModel lm = load_model_and_tokenizer(a);
  ChatRenderer format = chat_renderer_from_args(a, lm.tokenizer->vocab().chat_template);
  model::EngineConfig ec = engine_config(a);
  const uint32_t default_sinks = ec.sinks, context = lm.file->hp.context;
  const std::string system = a.str("system", "");
  std::vector<model::ChatMessage> preamble;
  if (!system.empty()) preamble.push_back({"system", system});
  const bool pin = a.has("pin-system") && !system.empty();
  if (pin) {
    const uint32_t ctx = ec.sinks + ec.window;  // --ctx-size: the whole cache stays that size
    ec.sinks = std::max(ec.sinks, pinned_tokens(*lm.tokenizer, format, preamble));
    if (a.has("ctx-size")) ec.window = ctx > ec.sinks ? ctx - ec.sinks : 1;
  }
  const uint64_t max_tokens = token_limit(a, "tokens", 512);
  const model::SamplerConfig sampling = sampler_config(a);
  Gpu gpu(gpu_options(a));
  model::Engine engine(gpu, *lm.file, ec);
  const auto& cc = engine.cache_config();
  if (pin) warn_pinned_system(cc.sinks, default_sinks, cc, context);
  warn_cache_beyond_context(cc, context);
  const std::string format_name = format.name();
  ChatSession chat(*lm.tokenizer, engine, sampling, std::move(format), preamble, a.all("stop"), context);
  std::fprintf(stderr, "chat format %s, %u sink slots + %u window slots on %s, seed %llu. /help lists commands.\n",
               format_name.c_str(), cc.sinks, cc.window, gpu.device_name().c_str(),
               static_cast<unsigned long long>(sampling.seed));
  install_interrupt_handler();
  LineInput input;
  int status = 0;
  for (;;) {
    const auto line = input.message();
    if (!line) {  // Ctrl-D, or Ctrl-C at the prompt: leave on a line of its own
      if (interrupted()) status = kInterruptedExit;
      if (input.terminal()) std::printf("\n");
      break;
    }
    if (!line->empty() && (*line)[0] == '/') {
      if (!slash_command(*line, chat)) break;
      continue;
    }
    if (line->find_first_not_of(" \t\n") == std::string::npos) continue;
    chat.add_user_turn(*line);
    const StopReason why = chat.reply(max_tokens);
    std::printf("\n");
    if (why == StopReason::interrupted) {
      std::fprintf(stderr, "[reply stopped]\n");
      clear_interrupt();
    }
    std::fflush(stdout);
  }
  std::fflush(stdout);
  chat.print_stats(stderr);
  return status;
}

}  // namespace sinkstream::app
