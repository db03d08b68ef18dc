// `sinkstream info`: what a model file holds.
#include <cstdio>
#include <map>
#include <string>

#include "commands.hpp"
#include "json.hpp"
#include "model_cli.hpp"
#include "model/chat_template.hpp"

namespace sinkstream::app {

int cmd_info(const std::vector<std::string>& argv) {
  const cli::Args a(argv, {"help", "json"}, {"model", "tokenizer"});
  if (a.has("help")) {
    std::printf("usage: sinkstream info --model PATH [--tokenizer PATH] [--json]\n"
                "Prints the architecture, shapes, tensor types and tokenizer of a model.\n");
    return 0;
  }
  const LoadedModel lm = load_model_and_tokenizer(a);
  const auto& m = *lm.file;
  const auto& h = m.hp;
  std::map<std::string, uint64_t> types;  // tensor type -> bytes
  const auto count = [&](const model::Tensor& t) { types[model::ggml_type_name(t.type)] += t.data.size(); };
  // Every tensor weight_bytes() counts, norms and biases (F32) included, so the
  // breakdown adds up to the total.
  count(m.tok_embd);
  count(m.output_norm);
  if (!m.tied_output) count(m.output);
  for (const auto& l : m.layers) {
    for (const auto* t : {&l.attn_norm, &l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_norm, &l.w_gate, &l.w_up, &l.w_down})
      count(*t);
    for (const auto* t : {&l.bq, &l.bk, &l.bv, &l.sinks})
      if (*t) count(**t);
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
    JsonWriter t;
    for (const auto& [name, bytes] : types) t.field(name, bytes);
    j.raw("tensor_bytes_by_type", t.str());
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
  for (const auto& [name, bytes] : types) std::printf(" %s %.2f MiB", name.c_str(), static_cast<double>(bytes) / (1 << 20));
  std::printf("\n  chat format   %s\n", chat.c_str());
  return 0;
}

}  // namespace sinkstream::app
