#include "warnings.hpp"

#include <cstdio>
#include <set>

namespace sinkstream::app {
namespace {
std::string n(uint64_t v) { return std::to_string(v); }

std::string trained(uint32_t context) {
  return context ? " (the model was trained on " + n(context) + " tokens)" : "";
}
}  // namespace

void warn_once(const std::string& kind, const std::string& message) {
  static std::set<std::string> said;
  if (!said.insert(kind).second) return;
  std::fprintf(stderr, "warning: %s\n", message.c_str());
  std::fflush(stderr);
}

void warn_cache_beyond_context(const StreamConfig& c, uint32_t context) {
  if (!context || uint64_t{c.sinks} + c.window <= context) return;
  warn_once("context", n(c.sinks) + " sinks + " + n(c.window) + " window slots exceed the model's training context of " +
                           n(context) +
                           " tokens: cache positions past it were never trained, so quality may drop "
                           "(a window of " +
                           n(context > c.sinks ? context - c.sinks : 1) + " fits)");
}

void warn_dropped_input(const std::string& what, uint64_t tokens, uint64_t held, const StreamConfig& c,
                        uint32_t context) {
  const uint64_t S = c.sinks, W = c.window;
  if (held == 0 && tokens > S + W) {
    warn_once("dropped", what + " is " + n(tokens) + " tokens but the cache holds " + n(S) + " sinks + " + n(W) +
                             " window slots: the model keeps its first " + n(S) +
                             " tokens (the attention sinks, pinned) and its last " + n(W) + "; the " +
                             n(tokens - S - W) +
                             " between them are evicted before the first generated token. A larger --window "
                             "keeps more" +
                             trained(context));
  } else if (held > 0 && tokens > W) {
    warn_once("dropped", what + " is " + n(tokens) + " tokens but the window holds " + n(W) +
                             ": the model keeps the " + n(S) +
                             " pinned tokens of the conversation's start and the message's last " + n(W) +
                             " tokens; its first " + n(tokens - W) +
                             " are evicted before the reply. A larger --window keeps more" + trained(context));
  }
}

void warn_pinned_system(uint32_t pinned, uint32_t default_sinks, const StreamConfig& c, uint32_t context) {
  if (!context || pinned * 2 < context) return;
  warn_once("pinned", "the pinned system prompt takes " + n(pinned) + " tokens of the model's " + n(context) +
                          "-token training context: the sinks grew from " + n(default_sinks) + " to " + n(c.sinks) +
                          ", leaving " + n(c.window) +
                          " window slots for the conversation. Shorten the system prompt, or drop --pin-system "
                          "(it is then an ordinary turn, forgotten once it leaves the window)");
}

}  // namespace sinkstream::app
