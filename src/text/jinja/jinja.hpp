// A Jinja template engine for Hugging Face chat templates
// (`tokenizer.chat_template`), rendering byte for byte what transformers'
// apply_chat_template renders with Python's jinja2: an immutable sandbox with
// trim_blocks and lstrip_blocks, loop controls, raise_exception(msg),
// strftime_now(fmt) and a tojson that keeps non-ASCII text (ensure_ascii off).
//
//   jinja::Template t(gguf_chat_template);               // throws SyntaxError
//   jinja::ChatInputs in;
//   in.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])");
//   in.add_generation_prompt = true;
//   in.bos_token = "<s>";
//   std::string prompt = jinja::render_chat(t, in);      // throws RaisedError, Error
//
// Work, output size and nesting are bounded (Limits), so a hostile template
// ends with an Error instead of hanging or exhausting memory.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "text/jinja/value.hpp"

namespace sinkstream::text::jinja {

struct Node;

struct Limits {
  size_t max_output_bytes = size_t{64} << 20;  // any one string the template builds, too
  uint64_t max_steps = 50'000'000;             // statements and expressions evaluated
  int max_depth = 128;                         // macro call nesting; syntax nesting is 4x this
};

struct RenderOptions {
  std::optional<std::string> date;  // "YYYY-MM-DD": the day strftime_now reports (at 00:00:00)
  Limits limits;
};

class Template {
 public:
  explicit Template(std::string_view source, const Limits& limits = {});
  // `variables` is a JSON object (key order is kept, as Python's dicts keep it).
  std::string render(const nlohmann::ordered_json& variables, const RenderOptions& opt = {}) const;

 private:
  std::shared_ptr<const std::vector<std::unique_ptr<Node>>> body_;
};

// The variables apply_chat_template passes: messages, tools (None when
// absent), documents (None), add_generation_prompt, bos_token, eos_token,
// plus `extra` (e.g. {"enable_thinking": false}).
struct ChatInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null: no tools
  bool add_generation_prompt = false;
  std::string bos_token, eos_token;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

std::string render_chat(const Template& t, const ChatInputs& in, const RenderOptions& opt = {});

// JSON to template values: objects keep their key order, null is None.
Value from_json(const nlohmann::ordered_json& j);

}  // namespace sinkstream::text::jinja
