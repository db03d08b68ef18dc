// `sinkstream chat`: a multi-turn conversation on one endless stream. Old turns
// leave the window and are forgotten; the attention sinks (and, with
// --pin-system, the whole system prompt) stay pinned.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "interrupt.hpp"
#include "model/chat_template.hpp"
#include "model_cli.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream chat --model PATH [options]\n"
    "Chat on one endless stream in constant memory. Commands at the prompt:\n"
    "/stats (cache occupancy, evictions, speed), /quit. Ctrl-D also quits.\n"
    "Turns older than the window are forgotten: the model no longer sees them.\n"
    "  --system TEXT       system prompt\n"
    "  --pin-system        pin BOS + the system prompt next to the sinks: never evicted\n"
    "  --tokens N          most tokens per reply (512)\n"
    "  --temperature T ... sampling options as for `generate`\n";

struct Chat {
  const model::Tokenizer& tok;
  model::Engine& engine;
  model::Sampler& sampler;
  model::ChatFormat format;
  std::vector<model::ChatMessage> messages;
  std::string fed;  // the rendered conversation fed so far
  uint64_t generated = 0;
  double decode_s = 0;

  std::string special(int32_t id) const { return id >= 0 ? tok.piece(id) : std::string(); }

  void feed_text(const std::string& text, bool with_bos, std::vector<float>& logits) {
    std::vector<int32_t> ids;
    if (with_bos && tok.bos() >= 0 && !model::writes_bos(format)) ids.push_back(tok.bos());
    const auto enc = tok.encode(text, false, true);
    ids.insert(ids.end(), enc.begin(), enc.end());
    if (ids.empty()) return;
    for (int32_t t : ids) sampler.accept(t);
    const auto l = engine.feed(ids);
    logits.assign(l.begin(), l.end());
    fed += text;
  }

  // Feeds what the new turn adds to the rendered conversation.
  void add_user_turn(const std::string& user, std::vector<float>& logits) {
    messages.push_back({"user", user});
    const std::string full = model::render_chat(format, messages, true, special(tok.bos()), special(tok.eos()));
    const bool first = fed.empty();
    if (full.compare(0, fed.size(), fed) == 0) {
      feed_text(full.substr(fed.size()), first, logits);
    } else {  // the template rewrote earlier turns: feed this turn on its own
      const std::vector<model::ChatMessage> turn = {messages.back()};
      feed_text(model::render_chat(format, turn, true, special(tok.bos()), special(tok.eos())), false, logits);
    }
  }

  std::string reply(uint64_t max_tokens, std::vector<float>& logits) {
    model::StreamingDecoder decoder(tok);
    std::string text;
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < max_tokens && !interrupted(); ++i) {
      const int32_t next = sampler.sample(logits);
      sampler.accept(next);
      const auto l = engine.feed({&next, 1});  // the end-of-turn token too: it closes the turn in the stream
      logits.assign(l.begin(), l.end());
      ++generated;
      if (tok.is_eog(next)) break;
      const std::string piece = decoder.push(next);
      text += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    const std::string rest = decoder.flush();
    text += rest;
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    decode_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    messages.push_back({"assistant", text});
    fed = model::render_chat(format, messages, false, special(tok.bos()), special(tok.eos()));
    return text;
  }

  void print_stats() const {
    const auto c = engine.counters();
    std::printf("[cache %u/%u slots (%u pinned), %llu tokens streamed, %llu evicted; %.1f tokens/s; %.1f MiB on device]\n",
                c.slots_used, c.capacity, engine.cache_config().sinks, static_cast<unsigned long long>(c.tokens),
                static_cast<unsigned long long>(c.evicted), static_cast<double>(generated) / std::max(decode_s, 1e-9),
                static_cast<double>(c.device_bytes) / (1 << 20));
  }
};

}  // namespace

int cmd_chat(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"system", "tokens", "temperature", "top-k", "top-p", "min-p", "repeat-penalty", "seed"});
  const cli::Args a(argv, {"help", "pin-system"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  LoadedModel lm = load_model_and_tokenizer(a);
  std::string warning;
  const auto format = model::choose_chat_format(lm.tokenizer->vocab().chat_template, warning);
  if (!warning.empty()) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  model::EngineConfig ec = engine_config(a);
  const std::string system = a.str("system", "");
  std::vector<model::ChatMessage> preamble;
  if (!system.empty()) preamble.push_back({"system", system});
  if (a.has("pin-system") && !system.empty()) {
    // The pinned slots are the first tokens of the stream: make them cover BOS + the system prompt.
    const auto& tok = *lm.tokenizer;
    const std::string text = model::render_chat(format, preamble, false, tok.bos() >= 0 ? tok.piece(tok.bos()) : "",
                                                tok.eos() >= 0 ? tok.piece(tok.eos()) : "");
    const auto n = static_cast<uint32_t>(tok.encode(text, false, true).size() + 1);
    ec.sinks = std::max(ec.sinks, n);
  }
  Gpu gpu(gpu_options(a));
  model::Engine engine(gpu, *lm.file, ec);
  model::Sampler sampler(sampler_config(a));
  Chat chat{*lm.tokenizer, engine, sampler, format, preamble, "", 0, 0};
  std::fprintf(stderr, "chat format %s, %u sink slots + %u window slots on %s. /stats, /quit.\n",
               model::chat_format_name(format), engine.cache_config().sinks, engine.cache_config().window,
               gpu.device_name().c_str());
  install_interrupt_handler();
  const uint64_t max_tokens = a.u64("tokens", 512, 1, ~uint64_t{0});
  std::vector<float> logits;
  std::string line;
  while (!interrupted()) {
    std::printf("> ");
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line == "/quit") break;
    if (line == "/stats") {
      chat.print_stats();
      continue;
    }
    if (line.empty()) continue;
    chat.add_user_turn(line, logits);
    chat.reply(max_tokens, logits);
    std::printf("\n");
  }
  chat.print_stats();
  return 0;
}

}  // namespace sinkstream::app
