// `sinkstream info`: what a model file holds.
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "json.hpp"
#include "sinkstream/config.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/model.hpp"

namespace sinkstream::app {
namespace {

// What `chat` and `serve` use by default: "jinja" for the file's own template,
// else the built-in format of its family.
std::string chat_format(const std::string& model_template) {
  if (model_template.empty()) return "none";
  try {
    ChatTemplate::jinja(model_template);
    return "jinja";
  } catch (const InvalidArgument&) {
    return ChatTemplate::detect(model_template).name();
  }
}

// Cache bytes one token takes: K and V rows of every layer and KV head.
// K and V bytes of one slot of the stream's window (the layers that keep it: a
// sliding-window layer keeps its own fixed ring instead, ring_bytes()).
uint64_t kv_token_bytes(const ModelFileInfo& m, KvType t) {
  return 2ull * (m.layers - m.sliding_layers) * m.kv_heads * kv_row_bytes(t, m.head_dim);
}

uint64_t ring_bytes(const ModelFileInfo& m, KvType t) {
  return 2ull * m.sliding_layers * m.sliding_window * m.kv_heads * kv_row_bytes(t, m.head_dim);
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  const cli::Args a(argv, {"help", "json", "tensors"}, {"model", "tokenizer"});
  if (a.has("help")) {
    std::printf("usage: sinkstream info --model PATH [--tokenizer PATH] [--tensors] [--json]\n"
                "Prints the architecture, shapes, tensor types and tokenizer of a model: the bytes and\n"
                "count of tensors of each type, and with --tensors (always in --json) every tensor the\n"
                "model uses with its type and shape.\n"
                "Architectures sinkstream runs: llama, qwen2, qwen3, phi3, gemma2, gemma3 (GGUF), and llama2.c checkpoints.\n");
    return 0;
  }
  if (!a.has("model")) throw InvalidArgument("--model PATH is required");
  const ModelFileInfo m = inspect_model(a.str("model", ""), a.str("tokenizer", ""));
  std::map<std::string, std::pair<uint64_t, uint32_t>> types;  // tensor type -> bytes, tensors
  for (const TensorInfo& t : m.tensors) {
    auto& [bytes, n] = types[t.type];
    bytes += t.bytes;
    ++n;
  }
  const std::string chat = chat_format(m.chat_template);
  const char* arch = m.arch.c_str();
  const char* rope = m.rope_style.c_str();
  if (a.has("json")) {
    JsonWriter j;
    j.field("path", m.path).field("format", m.format).field("architecture", arch).field("vocab", m.vocab);
    j.field("dim", m.dim).field("layers", m.layers).field("heads", m.heads).field("kv_heads", m.kv_heads);
    j.field("head_dim", m.head_dim).field("ffn", m.ffn).field("context", m.context).field("rope_theta", m.rope_theta);
    j.field("rope_style", rope).field("tied_output", m.tied_output).field("learned_sinks", m.learned_sinks);
    j.field("weight_bytes", m.weight_bytes).field("tokenizer", m.tokenizer_kind);
    j.field("chat_format", chat);
    JsonWriter t, c;
    for (const auto& [name, bn] : types) {
      t.field(name, bn.first);
      c.field(name, bn.second);
    }
    j.raw("tensor_bytes_by_type", t.str());
    JsonWriter kv;
    for (KvType type : {KvType::f16, KvType::f32, KvType::q8_0})
      kv.field(kv_type_name(type), kv_token_bytes(m, type));
    j.raw("kv_bytes_per_token", kv.str());
    j.field("sliding_window", m.sliding_window).field("sliding_layers", m.sliding_layers);
    j.field("sliding_kv_bytes", ring_bytes(m, KvType::f16)).field("attn_softcap", m.attn_softcap);
    j.field("final_softcap", m.final_softcap);
    j.field("experts", m.experts).field("experts_used", m.experts_used);
    j.field("active_weight_bytes", m.active_weight_bytes);
    j.raw("tensor_count_by_type", c.str());
    std::string list = "[";
    for (size_t i = 0; i < m.tensors.size(); ++i) {
      JsonWriter e;
      e.field("name", m.tensors[i].name).field("type", m.tensors[i].type);
      e.field("shape", std::vector<uint64_t>{m.tensors[i].cols, m.tensors[i].rows});
      append_item(list, i == 0, e.str());
    }
    j.raw("tensors", list + "]");
    std::printf("%s\n", j.str().c_str());
    return 0;
  }
  std::printf("%s (%s)\n", m.path.c_str(), m.format.c_str());
  std::printf("  architecture  %s, %u layers, dim %u, FFN %u\n", arch, m.layers, m.dim, m.ffn);
  std::printf("  attention     %u heads, %u KV heads, head dim %u%s\n", m.heads, m.kv_heads, m.head_dim,
              m.learned_sinks ? ", learned sink logits" : "");
  std::printf("  RoPE          %s, theta %g%s\n", rope, m.rope_theta,
              !m.rope_freq_factors ? "" : ", per-frequency factors");
  std::printf("  context       %u tokens (trained)\n", m.context);
  std::printf("  vocabulary    %u tokens, %s tokenizer, output %s\n", m.vocab,
              m.tokenizer_kind == "spm" ? "SentencePiece BPE" : "byte-level BPE",
              m.tied_output ? "tied to the embedding" : "separate");
  std::printf("  weights       %.2f MiB:", static_cast<double>(m.weight_bytes) / (1 << 20));
  for (const auto& [name, bn] : types)
    std::printf(" %s %.2f MiB (%u tensors)", name.c_str(), static_cast<double>(bn.first) / (1 << 20), bn.second);
  const auto kib = [&](KvType t) { return static_cast<double>(kv_token_bytes(m, t)) / 1024; };
  std::printf("\n  KV cache      per token: f16 %.2f KiB, q8_0 %.2f KiB, f32 %.2f KiB (--kv-type)",
              kib(KvType::f16), kib(KvType::q8_0), kib(KvType::f32));
  if (m.sliding_layers)
    std::printf("\n  sliding       %u of %u layers trained with a window of %u tokens keep a ring of their own\n"
                "                (RoPE theta %g; f16 %.1f KiB, fixed); the others the --sinks + --window cache",
                m.sliding_layers, m.layers, m.sliding_window, m.sliding_rope_theta,
                static_cast<double>(ring_bytes(m, KvType::f16)) / 1024);
  if (m.attn_softcap != 0 || m.final_softcap != 0)
    std::printf("\n  soft-caps     attention scores %g, final logits %g", m.attn_softcap, m.final_softcap);
  if (m.experts)
    std::printf("\n  experts       %u of %u per token (FFN %u each): a token reads %.2f of %.2f MiB of weights",
                m.experts_used, m.experts, m.ffn, static_cast<double>(m.active_weight_bytes) / (1 << 20),
                static_cast<double>(m.weight_bytes) / (1 << 20));
  std::printf("\n  chat format   %s\n", chat.c_str());
  if (a.has("tensors")) {
    std::printf("  tensors\n");
    for (const TensorInfo& t : m.tensors)
      std::printf("    %-32s %-6s [%llu, %llu]\n", t.name.c_str(), t.type.c_str(),
                  static_cast<unsigned long long>(t.cols), static_cast<unsigned long long>(t.rows));
  }
  return 0;
}

}  // namespace sinkstream::app
