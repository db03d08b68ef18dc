// libFuzzer target: the Jinja engine on arbitrary templates. Input: the
// template, then after a NUL byte the text of a user message. Parsing and
// rendering may fail only with jinja::Error; work, output and nesting are
// bounded so that no template hangs or exhausts memory.
#include <cstdint>
#include <string>

#include "text/jinja/jinja.hpp"

namespace jinja = sinkstream::text::jinja;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string source = in.substr(0, nul);
  const std::string content = nul == std::string::npos ? "Hi" : in.substr(nul + 1);
  jinja::RenderOptions opt;
  opt.date = "2026-01-15";
  opt.limits.max_steps = 200000;
  opt.limits.max_output_bytes = 1 << 20;
  opt.limits.max_depth = 32;
  try {
    const jinja::Template t(source, opt.limits);
    jinja::ChatInputs chat;
    chat.messages =
        nlohmann::ordered_json::array({{{"role", "system"}, {"content", "Be brief."}},
                                       {{"role", "user"}, {"content", content}},
                                       {{"role", "assistant"},
                                        {"content", "Hello."},
                                        {"tool_calls", nlohmann::ordered_json::array()}}});
    chat.add_generation_prompt = true;
    chat.bos_token = "<s>";
    chat.eos_token = "</s>";
    (void)jinja::render_chat(t, chat, opt);
  } catch (const jinja::Error&) {
    // Syntax errors, raise_exception, type errors and limits are expected outcomes.
  }
  return 0;
}
