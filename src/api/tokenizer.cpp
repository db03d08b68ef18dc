#include "sinkstream/tokenizer.hpp"

#include "api/model_impl.hpp"
#include "text/utf8.hpp"

namespace sinkstream {

using detail::TokenizerImpl;

Tokenizer::Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::load(const std::string& path) {
  return Tokenizer(std::make_shared<const TokenizerImpl>(TokenizerImpl{model::Tokenizer(model::vocab_from_file(path))}));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->tokenizer.encode(text, add_bos, parse_special);
}
std::string Tokenizer::piece(int32_t token) const { return impl_->tokenizer.piece(token); }
std::string Tokenizer::decode(std::span<const int32_t> tokens, bool render_special) const {
  return impl_->tokenizer.decode(tokens, render_special);
}
int32_t Tokenizer::bos() const { return impl_->tokenizer.bos(); }
int32_t Tokenizer::eos() const { return impl_->tokenizer.eos(); }
bool Tokenizer::is_end_of_generation(int32_t token) const {
  return token >= 0 && static_cast<size_t>(token) < size() && impl_->tokenizer.is_eog(token);
}
size_t Tokenizer::size() const { return impl_->tokenizer.size(); }
std::string Tokenizer::kind() const { return impl_->tokenizer.vocab().kind == model::VocabKind::spm ? "spm" : "bpe"; }
std::string Tokenizer::chat_template() const { return impl_->tokenizer.vocab().chat_template; }

bool is_gguf_file(const std::string& path) { return model::is_gguf_file(path); }
size_t utf8_sequence_length(unsigned char lead) { return model::utf8_lead_length(lead); }
size_t utf8_valid_length(std::string_view s, size_t i) { return model::utf8_valid_length(s, i); }

namespace {

// Every tensor the model's forward pass reads, in file order of roles.
std::vector<const model::Tensor*> used_tensors(const model::ModelFile& m) {
  std::vector<const model::Tensor*> out = {&m.tok_embd};
  for (const auto& l : m.layers) {
    for (const auto* t : l.tensors()) out.push_back(t);
    for (const auto* t : l.optional_tensors())
      if (*t) out.push_back(&**t);
  }
  out.push_back(&m.output_norm);
  if (!m.tied_output) out.push_back(&m.output);
  return out;
}

}  // namespace

ModelFileInfo inspect_model(const std::string& path, const std::string& tokenizer) {
  const auto [file, tok] = detail::load_file_and_tokenizer(path, tokenizer);
  const model::ModelFile& m = *file;
  const model::HParams& h = m.hp;
  ModelFileInfo i;
  i.path = m.path;
  i.format = m.format;
  i.arch = model::arch_name(h.arch);
  i.vocab = h.vocab;
  i.dim = h.dim;
  i.layers = h.layers;
  i.heads = h.heads;
  i.kv_heads = h.kv_heads;
  i.head_dim = h.head_dim;
  i.ffn = h.ffn;
  i.context = h.context;
  i.rope_theta = h.rope.theta;
  i.rope_style = h.rope.style == RopeStyle::neox ? "neox" : "adjacent pairs";
  i.rope_freq_factors = !h.rope.freq_factors.empty();
  i.tied_output = m.tied_output;
  i.learned_sinks = h.attn_sinks;
  i.sliding_window = h.sliding_window;
  i.sliding_layers = h.sliding_layers();
  i.sliding_rope_theta = h.sliding.empty() ? 0.0 : h.rope_sliding.theta;
  i.attn_softcap = h.attn_softcap;
  i.final_softcap = h.final_softcap;
  i.experts = h.experts;
  i.experts_used = h.experts_used;
  i.active_weight_bytes = m.active_weight_bytes();
  i.weight_bytes = m.weight_bytes();
  i.tokenizer_kind = tok->tokenizer.vocab().kind == model::VocabKind::spm ? "spm" : "bpe";
  i.chat_template = tok->tokenizer.vocab().chat_template;
  for (const model::Tensor* t : used_tensors(m))
    i.tensors.push_back({t->name, model::ggml_type_name(t->type), t->cols, t->rows, t->data.size()});
  return i;
}

}  // namespace sinkstream
