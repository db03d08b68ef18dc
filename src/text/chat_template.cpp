#include "text/chat_template.hpp"

#include <cctype>

namespace sinkstream::model {
namespace {

bool has(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

// Jinja's `| trim` / Python's strip(): whitespace at both ends.
std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string capitalised(std::string role) {
  if (!role.empty()) role[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(role[0])));
  return role;
}

// The system message, if the conversation opens with one; `rest` gets the others.
std::string split_system(std::span<const ChatMessage> m, std::span<const ChatMessage>& rest) {
  if (!m.empty() && m[0].role == "system") {
    rest = m.subspan(1);
    return m[0].content;
  }
  rest = m;
  return {};
}

std::string render_llama2(std::span<const ChatMessage> all, const std::string& bos,
                          const std::string& eos) {
  std::span<const ChatMessage> msgs;
  const std::string system = split_system(all, msgs);
  std::string out;
  bool first_user = true;
  for (const auto& m : msgs) {
    if (m.role == "assistant") {
      out.append(" ").append(trim(m.content)).append(" ").append(eos);
      continue;
    }
    // The template strips the user turn with the system block already in front of it.
    std::string turn = m.content;
    if (first_user && !system.empty()) turn = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + turn;
    out.append(bos).append("[INST] ").append(trim(turn)).append(" [/INST]");
    first_user = false;
  }
  return out;
}

std::string render_mistral(std::span<const ChatMessage> all, const std::string& bos,
                           const std::string& eos) {
  std::span<const ChatMessage> msgs;
  const std::string system = split_system(all, msgs);
  size_t last_user = msgs.size();
  for (size_t i = 0; i < msgs.size(); ++i)
    if (msgs[i].role != "assistant") last_user = i;
  std::string out = bos;
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (msgs[i].role == "assistant") {
      out += msgs[i].content + eos;
    } else {
      const bool with_system = i == last_user && !system.empty();
      out +=
          "[INST]" + (with_system ? system + "\n\n" : std::string()) + msgs[i].content + "[/INST]";
    }
  }
  return out;
}

std::string render_gemma(std::span<const ChatMessage> all, bool gen, const std::string& bos) {
  std::span<const ChatMessage> msgs;
  std::string system = split_system(all, msgs);
  std::string out = bos;
  for (const auto& m : msgs) {
    const bool model = m.role == "assistant";
    std::string content = trim(m.content);
    if (!model && !system.empty()) content = trim(system) + "\n\n" + content, system.clear();
    out += "<start_of_turn>" + std::string(model ? "model" : m.role) + "\n" + content +
           "<end_of_turn>\n";
  }
  if (gen) out += "<start_of_turn>model\n";
  return out;
}

std::string render_tagged(ChatFormat f, std::span<const ChatMessage> msgs, bool gen,
                          const std::string& bos, const std::string& eos) {
  std::string out;
  switch (f) {
    case ChatFormat::chatml:
      for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (gen) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::llama3:
      out = bos;
      for (const auto& m : msgs)
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) +
               "<|eot_id|>";
      if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::phi3:
      for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
      if (gen) out += "<|assistant|>\n";
      break;
    case ChatFormat::zephyr:
      for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + eos + "\n";
      if (gen) out += "<|assistant|>\n";
      break;
    default:  // plain
      for (const auto& m : msgs) out += capitalised(m.role) + ": " + m.content + "\n";
      if (gen) out += "Assistant:";
      break;
  }
  return out;
}

}  // namespace

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::chatml:
      return "chatml";
    case ChatFormat::llama2:
      return "llama2";
    case ChatFormat::llama3:
      return "llama3";
    case ChatFormat::mistral:
      return "mistral";
    case ChatFormat::phi3:
      return "phi3";
    case ChatFormat::gemma:
      return "gemma";
    case ChatFormat::zephyr:
      return "zephyr";
    case ChatFormat::plain:
      return "plain";
  }
  return "plain";
}

// Marker strings in the order llama.cpp's llm_chat_detect_template checks
// them (a template can mention several, e.g. Phi-3 has <|user|> and <|end|>).
ChatFormat detect_chat_format(std::string_view t) {
  if (has(t, "<|im_start|>")) return ChatFormat::chatml;
  if (has(t, "[INST]")) {
    // Llama 2 and Mistral v0.1/v0.2 write "[INST] " with a space; Mistral v3/Tekken "[INST]" +
    // content.
    if (has(t, "<<SYS>>") || has(t, "'[INST] '") || has(t, "\"[INST] \""))
      return ChatFormat::llama2;
    return ChatFormat::mistral;
  }
  if (has(t, "<|assistant|>") && has(t, "<|end|>")) return ChatFormat::phi3;
  if (has(t, "<|user|>") && has(t, "<|assistant|>")) return ChatFormat::zephyr;
  if (has(t, "<start_of_turn>")) return ChatFormat::gemma;
  if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>")) return ChatFormat::llama3;
  return ChatFormat::plain;
}

ChatFormat choose_chat_format(std::string_view t, std::string& warning) {
  const ChatFormat f = detect_chat_format(t);
  warning.clear();
  if (f == ChatFormat::plain)
    warning =
        t.empty()
            ? "the model has no chat template; using the plain \"User: ...\\nAssistant:\" format"
            : "unrecognised chat template; using the plain \"User: ...\\nAssistant:\" format";
  return f;
}

bool writes_bos(ChatFormat f) {
  return f == ChatFormat::llama2 || f == ChatFormat::llama3 || f == ChatFormat::mistral ||
         f == ChatFormat::gemma;
}

std::string render_chat(ChatFormat f, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const std::string& bos,
                        const std::string& eos) {
  switch (f) {
    case ChatFormat::llama2:
      return render_llama2(messages, bos, eos);
    case ChatFormat::mistral:
      return render_mistral(messages, bos, eos);
    case ChatFormat::gemma:
      return render_gemma(messages, add_generation_prompt, bos);
    default:
      return render_tagged(f, messages, add_generation_prompt, bos, eos);
  }
}

}  // namespace sinkstream::model
