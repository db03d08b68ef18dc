// `sinkstream chat`: a multi-turn conversation on one endless stream. Old turns
// leave the window and are forgotten; the attention sinks (and, with
// --pin-system, the whole system prompt) stay pinned.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "interrupt.hpp"
#include "line_input.hpp"
#include "model_args.hpp"
#include "sinkstream/chat.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/session.hpp"
#include "summary.hpp"
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
    "                      Face renders it (default: the model's own template from the\n"
    "                      GGUF; the built-in format of its family if it cannot render)\n"
    "  --tokens N          most tokens per reply (512; 0 = until end of turn)\n"
    "  --show-reasoning    harmony models (gpt-oss): print the reasoning (the analysis\n"
    "                      channel) before the answer, dimmed in a terminal, between\n"
    "                      [reasoning] and [/reasoning] lines otherwise (default: the\n"
    "                      answer alone, the final channel)\n"
    "  --stop S            end a reply where it produces S; repeatable\n"
    "  --temperature T ... sampling options as for `generate` (the seed is random\n"
    "                      unless --seed S)\n";

constexpr const char* kCommandsHelp =
    "/help    this list\n"
    "/clear   forget the conversation: a fresh stream (the system prompt stays)\n"
    "/stats   cache occupancy, evictions, speed\n"
    "/quit    leave (also /exit, /bye, Ctrl-D)\n"
    "To send a message that starts with /, start it with a space.\n";

void print_stats(std::FILE* out, const Stream& stream, const Chat& chat) {
  const StreamStats c = stream.stats();
  std::fprintf(out,
               "[cache %u/%u slots (%u pinned), %llu tokens streamed, %llu evicted; %.1f tokens/s; %.1f MiB on "
               "device]\n",
               c.slots_used, c.capacity, c.sinks, static_cast<unsigned long long>(c.tokens),
               static_cast<unsigned long long>(c.evicted),
               static_cast<double>(chat.generated_tokens()) / std::max(chat.decode_seconds(), 1e-9),
               static_cast<double>(c.device_bytes) / (1 << 20));
}

// Slash commands at the prompt; false when the chat should end.
bool slash_command(const std::string& line, const Stream& stream, Chat& chat) {
  const std::string cmd = line.substr(0, line.find_first_of(" \t"));
  if (cmd == "/quit" || cmd == "/exit" || cmd == "/bye") return false;
  if (cmd == "/help" || cmd == "/?") {
    std::fputs(kCommandsHelp, stdout);
  } else if (cmd == "/stats") {
    print_stats(stdout, stream, chat);
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
uint32_t pinned_tokens(const Model& model, const ChatTemplate& format, const std::vector<ChatMessage>& preamble) {
  const std::string text = model.apply_chat_template(format, preamble, false);
  return static_cast<uint32_t>(model.tokenize(text, {false, true}).size() + 1);
}

// Prints a reply as it streams: the answer as it comes; with --show-reasoning
// the reasoning and tool calls too, set apart from it (dimmed in a terminal;
// in a pipe, between label lines that need no escape codes to read).
class ReplyPrinter {
 public:
  ReplyPrinter(bool show_reasoning, bool dim) : show_(show_reasoning), dim_(dim) {}

  bool operator()(std::string_view s, ReplyChannel ch) {
    if (!s.empty() && (ch == ReplyChannel::answer || show_)) {
      if (ch != block_) {
        close_block();
        open_block(ch);
      }
      write(s);
    }
    return !interrupted();
  }
  // The reply is over: a reasoning block still open is closed.
  void end() { close_block(); }

 private:
  static const char* label(ReplyChannel ch) { return ch == ReplyChannel::tool_call ? "tool call" : "reasoning"; }
  void write(std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
    at_line_start_ = s.back() == '\n';
  }
  void open_block(ReplyChannel ch) {
    block_ = ch;
    if (ch == ReplyChannel::answer) return;
    if (dim_)
      std::fputs("\033[2m", stdout);
    else
      std::printf("[%s]\n", label(ch));
  }
  void close_block() {
    if (block_ == ReplyChannel::answer) return;
    if (dim_) std::fputs("\033[0m", stdout);
    if (!at_line_start_) std::fputs("\n", stdout);
    if (!dim_) std::printf("[/%s]\n", label(block_));
    at_line_start_ = true;
    block_ = ReplyChannel::answer;
    std::fflush(stdout);
  }

  bool show_, dim_;
  ReplyChannel block_ = ReplyChannel::answer;
  bool at_line_start_ = true;
};

// Streams a reply to stdout; says why it ended.
StopReason reply(Chat& chat, uint64_t max_tokens, bool show_reasoning) {
  const char* no_color = std::getenv("NO_COLOR");
  ReplyPrinter print(show_reasoning, isatty(STDOUT_FILENO) && !(no_color && *no_color));
  const ChatReply r = chat.reply_channels(max_tokens, std::ref(print));
  print.end();
  switch (r.reason) {
    case sinkstream::StopReason::end_of_generation: return StopReason::eos;
    case sinkstream::StopReason::stop_string: return StopReason::stop_string;
    case sinkstream::StopReason::callback: return StopReason::interrupted;
    default: return StopReason::token_limit;
  }
}

}  // namespace

int cmd_chat(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"system", "tokens", "temperature", "top-k", "top-p", "min-p", "repeat-penalty", "seed", "stop",
                  "chat-template"});
  const cli::Args a(argv, {"help", "pin-system", "show-reasoning"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  Model model = load_model(a);
  ChatTemplate format = chat_template_option(a, model);
  StreamSettings ss = stream_settings(a);
  const uint32_t default_sinks = ss.sinks, context = model.info().context;
  const std::string system = a.str("system", "");
  std::vector<ChatMessage> preamble;
  if (!system.empty()) preamble.push_back({"system", system});
  const bool pin = a.has("pin-system") && !system.empty();
  if (pin) {
    const uint32_t ctx = ss.sinks + ss.window;  // --ctx-size: the whole cache stays that size
    ss.sinks = std::max(ss.sinks, pinned_tokens(model, format, preamble));
    if (a.has("ctx-size")) ss.window = ctx > ss.sinks ? ctx - ss.sinks : 1;
  }
  const uint64_t max_tokens = token_limit(a, "tokens", 512);
  const SamplerParams sampling = sampler_params(a);
  Stream stream(model, ss);
  const auto& cc = stream.cache_config();
  if (pin) warn_pinned_system(cc.sinks, default_sinks, cc, context);
  warn_cache_beyond_context(cc, context);
  const std::string format_name = format.name();
  ChatOptions co;
  co.sampler = sampling;
  co.preamble = preamble;
  co.stop_strings = a.all("stop");
  co.before_feed = [&](uint64_t tokens, uint64_t held) {
    warn_dropped_input("the message", tokens, held, stream.cache_config(), context);
  };
  Chat chat(stream, std::move(format), std::move(co));
  std::fprintf(stderr, "chat format %s, %u sink slots + %u window slots on %s, seed %llu. /help lists commands.\n",
               format_name.c_str(), cc.sinks, cc.window, model.device_name().c_str(),
               static_cast<unsigned long long>(sampling.seed));
  const bool show_reasoning = a.has("show-reasoning");
  if (chat.harmony())
    std::fprintf(stderr, "harmony replies: %s\n",
                 show_reasoning ? "the reasoning, then the answer" : "the answer (--show-reasoning adds the reasoning)");
  else if (show_reasoning)
    std::fprintf(stderr, "warning: --show-reasoning: this chat format has no reasoning channel (only harmony "
                         "templates, gpt-oss's, do); replies are shown whole\n");
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
      if (!slash_command(*line, stream, chat)) break;
      continue;
    }
    if (line->find_first_not_of(" \t\n") == std::string::npos) continue;
    chat.add_user_turn(*line);
    const StopReason why = reply(chat, max_tokens, show_reasoning);
    std::printf("\n");
    if (why == StopReason::interrupted) {
      std::fprintf(stderr, "[reply stopped]\n");
      clear_interrupt();
    }
    std::fflush(stdout);
  }
  std::fflush(stdout);
  print_stats(stderr, stream, chat);
  return status;
}

}  // namespace sinkstream::app
