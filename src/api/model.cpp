#include "api/model_impl.hpp"

#include "sinkstream/error.hpp"
#include "sinkstream/version.hpp"

#include <tuple>

namespace sinkstream {

using detail::TokenizerImpl;

namespace detail {

std::shared_ptr<const model::GpuModel> ModelImpl::weights_for(const model::EngineConfig& first) {
  std::lock_guard lock(mutex_);
  if (!weights_) weights_ = model::upload_for_stream(gpu->context(), *file, first);
  return weights_;
}

std::shared_ptr<const model::GpuModel> ModelImpl::weights() {
  std::lock_guard lock(mutex_);
  if (!weights_) weights_ = std::make_shared<const model::GpuModel>(gpu->context(), *file);
  return weights_;
}

const model::Tokenizer& ModelImpl::tokenizer() const {
  if (!tok) throw InvalidArgument("'" + file->path + "' was loaded without its tokenizer (ModelOptions::load_tokenizer)");
  return tok->tokenizer;
}

model::EngineConfig engine_config(const StreamSettings& s) {
  model::EngineConfig c;
  c.sinks = s.sinks;
  c.window = s.window;
  c.kv_type = s.kv_type;
  c.max_chunk = s.chunk;
  c.check_finite = s.check_finite;
  return c;
}

model::SamplerConfig sampler_config(const SamplerParams& p) {
  return {p.temperature, p.top_k, p.top_p, p.min_p, p.repeat_penalty, p.repeat_last_n, p.seed};
}

}  // namespace detail

const char* version() { return SINKSTREAM_VERSION_STRING; }

Model::Model(std::shared_ptr<detail::ModelImpl> impl) : impl_(std::move(impl)) {}

std::pair<std::unique_ptr<model::ModelFile>, std::shared_ptr<const TokenizerImpl>> detail::load_file_and_tokenizer(
    const std::string& path, const std::string& tokenizer_path, bool load_tokenizer) {
  auto file = model::load_model(path);
  std::shared_ptr<const TokenizerImpl> tok;
  if (!load_tokenizer) return {std::move(file), nullptr};
  if (!tokenizer_path.empty()) {
    tok = std::make_shared<const TokenizerImpl>(TokenizerImpl{model::Tokenizer(model::vocab_from_file(tokenizer_path))});
  } else if (file->gguf) {
    tok = std::make_shared<const TokenizerImpl>(TokenizerImpl{model::Tokenizer(model::vocab_from_gguf(*file->gguf))});
  } else {
    throw InvalidArgument("'" + file->path + "' is a llama2.c checkpoint: give its tokenizer with --tokenizer tok.bin");
  }
  if (tok->tokenizer.size() != file->hp.vocab)
    throw InvalidArgument("the tokenizer has " + std::to_string(tok->tokenizer.size()) + " tokens but the model has " +
                          std::to_string(file->hp.vocab));
  return {std::move(file), std::move(tok)};
}

Model Model::load(const std::string& path, const ModelOptions& options) {
  auto m = std::make_shared<detail::ModelImpl>();
  std::tie(m->file, m->tok) = detail::load_file_and_tokenizer(path, options.tokenizer, options.load_tokenizer);
  m->gpu = std::make_unique<Gpu>(options.gpu);
  return Model(std::move(m));
}

ModelInfo Model::info() const {
  const model::ModelFile& f = *impl_->file;
  const model::HParams& h = f.hp;
  ModelInfo i;
  i.path = f.path;
  i.format = f.format;
  i.arch = model::arch_name(h.arch);
  i.name = impl_->tok ? impl_->tokenizer().vocab().name : "";
  i.device = impl_->gpu->device_name();
  i.vocab = h.vocab;
  i.dim = h.dim;
  i.layers = h.layers;
  i.heads = h.heads;
  i.kv_heads = h.kv_heads;
  i.head_dim = h.head_dim;
  i.ffn = h.ffn;
  i.context = h.context;
  i.weight_bytes = f.weight_bytes();
  i.learned_sinks = h.attn_sinks;
  i.chat_template = impl_->tok ? impl_->tokenizer().vocab().chat_template : "";
  return i;
}

int32_t Model::vocab_size() const { return static_cast<int32_t>(impl_->file->hp.vocab); }
int32_t Model::bos() const { return impl_->tokenizer().bos(); }
bool Model::adds_bos() const { return impl_->tokenizer().vocab().add_bos; }
bool Model::chat_needs_bos(const ChatTemplate& t) const {
  return adds_bos() && bos() >= 0 && !t.writes_bos(piece(bos()));
}
int32_t Model::eos() const { return impl_->tokenizer().eos(); }
bool Model::is_end_of_generation(int32_t token) const {
  return token >= 0 && token < vocab_size() && impl_->tokenizer().is_eog(token);
}

std::vector<int32_t> Model::end_of_generation_tokens() const {
  std::vector<int32_t> out;
  for (int32_t i = 0; i < vocab_size(); ++i)
    if (impl_->tokenizer().is_eog(i)) out.push_back(i);
  return out;
}

Tokenizer Model::tokenizer() const {
  impl_->tokenizer();  // throws when there is none
  return Tokenizer(impl_->tok);
}

std::vector<int32_t> Model::tokenize(std::string_view text, const TokenizeOptions& o) const {
  const model::Tokenizer& tok = impl_->tokenizer();
  std::vector<int32_t> ids;
  if (o.add_bos && tok.bos() >= 0) ids.push_back(tok.bos());
  const auto enc = tok.encode(text, false, o.parse_special);
  ids.insert(ids.end(), enc.begin(), enc.end());
  return ids;
}

std::string Model::detokenize(std::span<const int32_t> tokens, bool render_special) const {
  return impl_->tokenizer().decode(tokens, render_special);
}

std::string Model::piece(int32_t token) const { return impl_->tokenizer().piece(token); }

int32_t Model::find_token(std::string_view text) const { return impl_->tokenizer().find(text).value_or(-1); }

// The file's own Jinja template, rendered as Hugging Face renders it, when the
// engine takes it and it renders a plain conversation; otherwise the built-in
// format of its family, with a warning that says why.
ChatTemplate Model::chat_template(std::string* warning) const {
  const std::string& source = impl_->tokenizer().vocab().chat_template;
  if (source.empty()) return ChatTemplate::detect(source, warning);
  try {
    ChatTemplate t = ChatTemplate::jinja(source, "the model's template");
    const ChatMessage probe[] = {{"user", "Hello"}};
    const auto special = [&](int32_t id) { return id >= 0 ? piece(id) : std::string(); };
    t.render(probe, true, special(impl_->tokenizer().bos()), special(impl_->tokenizer().eos()));
    if (warning) warning->clear();
    return t;
  } catch (const Error& e) {
    std::string fallback;
    ChatTemplate b = ChatTemplate::detect(source, &fallback);
    if (warning)
      *warning = "the model's chat template cannot be rendered (" + std::string(e.what()) +
                 "); using the built-in format '" + b.name() + "'" + (fallback.empty() ? "" : ": " + fallback);
    return b;
  }
}

std::string Model::apply_chat_template(const ChatTemplate& t, std::span<const ChatMessage> messages,
                                       bool add_generation_prompt) const {
  const model::Tokenizer& tok = impl_->tokenizer();
  const std::string bos = tok.bos() >= 0 ? tok.piece(tok.bos()) : "";
  const std::string eos = tok.eos() >= 0 ? tok.piece(tok.eos()) : "";
  return t.render(messages, add_generation_prompt, bos, eos);
}

uint64_t Model::device_bytes() const { return impl_->gpu->allocated_bytes(); }
std::string Model::device_name() const { return impl_->gpu->device_name(); }

struct TextDecoder::Impl {
  Model model;  // keeps the tokenizer alive
  model::StreamingDecoder decoder;
};

TextDecoder::TextDecoder(const Model& m, bool render_special)
    : impl_(new Impl{m, model::StreamingDecoder(m.impl()->tokenizer(), render_special)}) {}
TextDecoder::~TextDecoder() = default;
TextDecoder::TextDecoder(TextDecoder&&) noexcept = default;
TextDecoder& TextDecoder::operator=(TextDecoder&&) noexcept = default;
std::string TextDecoder::push(int32_t token) { return impl_->decoder.push(token); }
std::string TextDecoder::flush() { return impl_->decoder.flush(); }

}  // namespace sinkstream
