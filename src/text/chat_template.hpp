// Chat prompts without a Jinja engine: the GGUF `tokenizer.chat_template` is
// only inspected to recognise its family, and a built-in formatter writes the
// prompt the way that family's template does for plain text messages (no
// tools, no default system prompts that some templates inject: Qwen 2.5's
// "You are Qwen..." and Llama 3.1's "Cutting Knowledge Date" block are not
// reproduced).
//
// Formats (each message's content as given; `bos`/`eos` are the token texts):
//   chatml   <|im_start|>{role}\n{content}<|im_end|>\n ... <|im_start|>assistant\n
//   llama2   {bos}[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} {eos}
//            {bos}[INST] ... (also Mistral 7B v0.1/v0.2: their templates space "[INST] " alike)
//   llama3   {bos}<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|> ...
//            <|start_header_id|>assistant<|end_header_id|>\n\n
//   mistral  {bos}[INST]{user}[/INST]{assistant}{eos}[INST]... (v3/Tekken: Nemo, Small, ...;
//            the system message goes before the last user message, then "\n\n")
//   phi3     <|{role}|>\n{content}<|end|>\n ... <|assistant|>\n
//   gemma    {bos}<start_of_turn>{user|model}\n{content}<end_of_turn>\n ... <start_of_turn>model\n
//            (no system role: the system text opens the first user turn, then "\n\n")
//   zephyr   <|{role}|>\n{content}{eos}\n ... <|assistant|>\n
//   plain    the fallback for unknown or missing templates, with a warning:
//            "System: {system}\n" "User: {user}\n" "Assistant: {assistant}\n" ... "Assistant:"
//            (roles other than system/user/assistant are capitalised the same way).
//
// Tokenize the result with parse_special = true, and add BOS yourself only
// when !writes_bos(format) and the vocabulary wants one.
#pragma once
#include <span>
#include <string>
#include <string_view>

namespace sinkstream::model {

enum class ChatFormat { chatml, llama2, llama3, mistral, phi3, gemma, zephyr, plain };

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (others are passed through)
  std::string content;
};

const char* chat_format_name(ChatFormat f);

// Recognises the family from marker strings of the template; plain when
// nothing matches (or the template is empty).
ChatFormat detect_chat_format(std::string_view jinja_template);

// detect_chat_format, plus the warning to show the user when it falls back to
// plain (empty when it does not).
ChatFormat choose_chat_format(std::string_view jinja_template, std::string& warning);

// Whether render_chat writes `bos` itself for this format.
bool writes_bos(ChatFormat f);

std::string render_chat(ChatFormat f, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const std::string& bos, const std::string& eos);

}  // namespace sinkstream::model
