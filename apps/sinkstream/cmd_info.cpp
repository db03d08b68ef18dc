// `sinkstream info`: what a model file holds.
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "json.hpp"
#include "model_cli.hpp"
#include "text/chat_template.hpp"

namespace sinkstream::app {
namespace {

// Every tensor the model's forward pass reads, in file order of roles.
std::vector<const model::Tensor*> used_tensors(const model::ModelFile& m) {
  std::vector<const model::Tensor*> out = {&m.tok_embd};
  for (const auto& l : m.layers) {
    for (const auto* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down})
      out.push_back(t);
    for (const auto* t : {&l.bq, &l.bk, &l.bv, &l.sinks})
      if (*t) out.push_back(&**t);
  }
  out.push_back(&m.output_norm);
  if (!m.tied_output) out.push_back(&m.output);
  return out;
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  const cli::Args a(argv, {"help", "json", "tensors"}, {"model", "tokenizer"});
  if (a.has("help")) {
    std::printf("usage: sinkstream info --model PATH [--tokenizer PATH] [--tensors] [--json]\n"
                "Prints the architecture, shapes, tensor types and tokenizer of a model: the bytes and\n"
                "count of tensors of each type, and with --tensors (always in --json) every tensor the\n"
                "model uses with its type and shape.\n");
    return 0;
  }
  const LoadedModel lm = load_model_and_tokenizer(a);
  const auto& m = *lm.file;
  const auto& h = m.hp;
  const std::vector<const model::Tensor*> tensors = used_tensors(m);
  std::map<std::string, std::pair<uint64_t, uint32_t>> types;  // tensor type -> bytes, tensors
  for (const auto* t : tensors) {
    auto& [bytes, n] = types[model::ggml_type_name(t->type)];
    bytes += t->data.size();
    ++n;
  }
  const auto& vocab = lm.tokenizer->vocab();
  const std::string tmpl = vocab.chat_template;
  const std::string chat = tmpl.empty() ? "none" : model::chat_format_name(model::detect_chat_format(tmpl));
  const char* arch = h.arch == model::Arch::llama ? "llama" : "qwen2";
  const char* rope = h.rope.style == RopeStyle::neox ? "neox" : "adjacent pairs";
  if (a.has("json")) {
    JsonWriter j;
    j.field("path", m.path).field("format", m.format).field("architecture", arch).field("vocab", h.vocab);
    j.field("dim", h.dim).field("layers", h.layers).field("heads", h.heads).field("kv_heads", h.kv_heads);
    j.field("head_dim", h.head_dim).field("ffn", h.ffn).field("context", h.context).field("rope_theta", h.rope.theta);
    j.field("rope_style", rope).field("tied_output", m.tied_output).field("learned_sinks", h.attn_sinks);
    j.field("weight_bytes", m.weight_bytes()).field("tokenizer", vocab.kind == model::VocabKind::spm ? "spm" : "bpe");
    j.field("chat_format", chat);
    JsonWriter t, c;
    for (const auto& [name, bn] : types) {
      t.field(name, bn.first);
      c.field(name, bn.second);
    }
    j.raw("tensor_bytes_by_type", t.str());
    j.raw("tensor_count_by_type", c.str());
    std::string list = "[";
    for (size_t i = 0; i < tensors.size(); ++i) {
      JsonWriter e;
      e.field("name", tensors[i]->name).field("type", model::ggml_type_name(tensors[i]->type));
      e.field("shape", std::vector<uint64_t>{tensors[i]->cols, tensors[i]->rows});
      append_item(list, i == 0, e.str());
    }
    j.raw("tensors", list + "]");
    std::printf("%s\n", j.str().c_str());
    return 0;
  }
  std::printf("%s (%s)\n", m.path.c_str(), m.format.c_str());
  std::printf("  architecture  %s, %u layers, dim %u, FFN %u\n", arch, h.layers, h.dim, h.ffn);
  std::printf("  attention     %u heads, %u KV heads, head dim %u%s\n", h.heads, h.kv_heads, h.head_dim,
              h.attn_sinks ? ", learned sink logits" : "");
  std::printf("  RoPE          %s, theta %g%s\n", rope, h.rope.theta,
              h.rope.freq_factors.empty() ? "" : ", per-frequency factors");
  std::printf("  context       %u tokens (trained)\n", h.context);
  std::printf("  vocabulary    %u tokens, %s tokenizer, output %s\n", h.vocab,
              vocab.kind == model::VocabKind::spm ? "SentencePiece BPE" : "byte-level BPE",
              m.tied_output ? "tied to the embedding" : "separate");
  std::printf("  weights       %.2f MiB:", static_cast<double>(m.weight_bytes()) / (1 << 20));
  for (const auto& [name, bn] : types)
    std::printf(" %s %.2f MiB (%u tensors)", name.c_str(), static_cast<double>(bn.first) / (1 << 20), bn.second);
  std::printf("\n  chat format   %s\n", chat.c_str());
  if (a.has("tensors")) {
    std::printf("  tensors\n");
    for (const auto* t : tensors)
      std::printf("    %-32s %-6s [%llu, %llu]\n", t->name.c_str(), model::ggml_type_name(t->type),
                  static_cast<unsigned long long>(t->cols), static_cast<unsigned long long>(t->rows));
  }
  return 0;
}

}  // namespace sinkstream::app
