// Chat templates: real Jinja templates are recognised, and the built-in
// formatters write what those templates write for plain conversations.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "text/chat_template.hpp"
#include "format/gguf.hpp"
#include "text/tokenizer.hpp"
#include "text/vocab.hpp"

namespace sinkstream::test {
namespace {

using model::ChatFormat;
using model::ChatMessage;

std::string read_template(const std::string& name) {
  std::ifstream in(fixture("templates/" + name + ".jinja"), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::vector<ChatMessage> kChat = {
    {"system", "Be brief."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "Why?"}};

std::string render(ChatFormat f, bool gen = true) {
  return model::render_chat(f, kChat, gen, "<s>", "</s>");
}

// Llama 2 and Zephyr templates are not among the fixtures; these are the
// published ones (meta-llama/Llama-2-7b-chat-hf, HuggingFaceH4/zephyr-7b-beta).
constexpr const char* kLlama2 =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "
    "system_message = "
    "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = "
    "false %}{% endif "
    "%}{% for message in loop_messages %}{% if loop.index0 == 0 and system_message != false %}{% "
    "set content = "
    "'<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set "
    "content = "
    "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + "
    "content.strip() + "
    "' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + "
    "eos_token }}{% endif "
    "%}{% endfor %}";
constexpr const char* kZephyr =
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + "
    "message['content'] + "
    "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] "
    "+ eos_token }}\n{% "
    "elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + "
    "eos_token }}\n{% endif "
    "%}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% "
    "endfor %}";

}  // namespace

TEST_SUITE("chat") {
  TEST_CASE("the fixture templates are recognised") {
    REQUIRE_FIXTURE("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    const std::pair<const char*, ChatFormat> cases[] = {
        {"Qwen-Qwen2.5-7B-Instruct", ChatFormat::chatml},
        {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", ChatFormat::chatml},
        {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use", ChatFormat::chatml},
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B",
         ChatFormat::plain},  // DeepSeek's <｜User｜>: no built-in
        {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B", ChatFormat::plain},
        {"llama-cpp-deepseek-r1", ChatFormat::plain},
        {"CohereForAI-c4ai-command-r-plus-tool_use", ChatFormat::plain},
        {"CohereForAI-c4ai-command-r7b-12-2024-tool_use", ChatFormat::plain},
        {"meta-llama-Llama-3.1-8B-Instruct", ChatFormat::llama3},
        {"meta-llama-Llama-3.2-3B-Instruct", ChatFormat::llama3},
        {"meta-llama-Llama-3.3-70B-Instruct", ChatFormat::llama3},
        {"fireworks-ai-llama-3-firefunction-v2", ChatFormat::llama3},
        {"meetkai-functionary-medium-v3.1", ChatFormat::llama3},
        {"meetkai-functionary-medium-v3.2", ChatFormat::llama3},
        {"google-gemma-2-2b-it", ChatFormat::gemma},
        {"microsoft-Phi-3.5-mini-instruct", ChatFormat::phi3},
        {"mistralai-Mistral-Nemo-Instruct-2407", ChatFormat::mistral},
    };
    for (const auto& [name, want] : cases) {
      const std::string t = read_template(name);
      REQUIRE_MESSAGE(!t.empty(), name);
      CHECK_MESSAGE(model::detect_chat_format(t) == want,
                    name << " -> " << model::chat_format_name(model::detect_chat_format(t)));
    }
    CHECK(model::detect_chat_format(kLlama2) == ChatFormat::llama2);
    CHECK(model::detect_chat_format(kZephyr) == ChatFormat::zephyr);
    CHECK(model::detect_chat_format("") == ChatFormat::plain);
  }

  TEST_CASE("unknown templates fall back to plain with a warning") {
    std::string warning;
    CHECK(model::choose_chat_format("{{ messages }}", warning) == ChatFormat::plain);
    CHECK(warning.find("plain") != std::string::npos);
    CHECK(model::choose_chat_format("<|im_start|>", warning) == ChatFormat::chatml);
    CHECK(warning.empty());
    CHECK(render(ChatFormat::plain) ==
          "System: Be brief.\nUser: Hi!\nAssistant: Hello.\nUser: Why?\nAssistant:");
  }

  TEST_CASE("each family renders what its template writes") {
    CHECK(render(ChatFormat::chatml) ==
          "<|im_start|>system\nBe "
          "brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"
          "Hello.<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n");
    CHECK(render(ChatFormat::llama3) ==
          "<s><|start_header_id|>system<|end_header_id|>\n\nBe "
          "brief.<|eot_id|><|start_header_id|>user<|end_header_id|>"
          "\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|><|"
          "start_header_id|>user"
          "<|end_header_id|>\n\nWhy?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    CHECK(
        render(ChatFormat::llama2) ==
        "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] Why? [/INST]");
    CHECK(render(ChatFormat::mistral) ==
          "<s>[INST]Hi![/INST]Hello.</s>[INST]Be brief.\n\nWhy?[/INST]");
    CHECK(
        render(ChatFormat::phi3) ==
        "<|system|>\nBe "
        "brief.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nWhy?<|end|>\n"
        "<|assistant|>\n");
    CHECK(render(ChatFormat::gemma) ==
          "<s><start_of_turn>user\nBe "
          "brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
          "<start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n");
    CHECK(render(ChatFormat::zephyr) ==
          "<|system|>\nBe "
          "brief.</s>\n<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>\n<|user|>\nWhy?</s>\n"
          "<|assistant|>\n");
    CHECK(render(ChatFormat::chatml, false).ends_with("Why?<|im_end|>\n"));
    CHECK(model::writes_bos(ChatFormat::llama3));
    CHECK_FALSE(model::writes_bos(ChatFormat::chatml));
  }

  TEST_CASE("a rendered Phi-3 prompt tokenizes into its control tokens") {
    REQUIRE_FIXTURE("tokenizers/ggml-vocab-phi-3.gguf");
    const model::Tokenizer tok(
        model::vocab_from_gguf(model::GgufFile::open(fixture("tokenizers/ggml-vocab-phi-3.gguf"))));
    CHECK(model::detect_chat_format(tok.vocab().chat_template) == ChatFormat::phi3);
    const std::vector<ChatMessage> chat = {{"user", "Hello"}};
    const auto ids =
        tok.encode(model::render_chat(ChatFormat::phi3, chat, true, "<s>", "</s>"), true, true);
    const std::vector<int32_t> want = {1, *tok.find("<|user|>"), *tok.find("\xE2\x96\x81Hello"),
                                       *tok.find("<|end|>"), *tok.find("<|assistant|>")};
    CHECK(ids == want);
  }
}

}  // namespace sinkstream::test
