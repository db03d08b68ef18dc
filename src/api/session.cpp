#include <chrono>

#include "api/model_impl.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream {

struct Stream::Impl {
  Model model;  // declared first: the engine runs on its device
  std::unique_ptr<model::Engine> engine;
  std::span<const float> logits;  // the engine's, after the last feed
};

Stream::Stream(const Model& m, const StreamSettings& s) : impl_(std::make_unique<Impl>(Impl{m, nullptr, {}})) {
  const model::EngineConfig ec = detail::engine_config(s);
  impl_->engine = std::make_unique<model::Engine>(m.impl()->weights_for(ec), ec);
}

Stream::~Stream() = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;

std::span<const float> Stream::feed(std::span<const int32_t> tokens) {
  if (tokens.empty()) return impl_->logits;
  impl_->logits = {};  // stale once the engine records again, whatever happens
  impl_->logits = impl_->engine->feed(tokens);
  return impl_->logits;
}

std::span<const float> Stream::feed_all_logits(std::span<const int32_t> tokens) {
  impl_->logits = {};
  if (tokens.empty()) return {};
  const std::span<const float> all = impl_->engine->feed(tokens, true);
  const size_t vocab = impl_->engine->hparams().vocab;
  impl_->logits = all.subspan(all.size() - vocab);
  return all;
}

uint64_t Stream::feed(std::span<const int32_t> tokens, const FeedProgress& progress) {
  const size_t chunk = impl_->engine->cache_config().max_chunk;
  size_t fed = 0;
  while (fed < tokens.size()) {
    const size_t n = std::min(chunk, tokens.size() - fed);
    feed(tokens.subspan(fed, n));
    fed += n;
    if (progress && !progress(fed, tokens.size())) break;
  }
  return fed;
}

std::span<const float> Stream::feed_text(std::string_view text, const TokenizeOptions& options) {
  TokenizeOptions o = options;
  o.add_bos = o.add_bos && impl_->engine->counters().tokens == 0;
  const std::vector<int32_t> ids = impl_->model.tokenize(text, o);
  return feed(ids);
}

std::span<const float> Stream::logits() const { return impl_->logits; }

int32_t Stream::sample(Sampler& sampler) const {
  if (impl_->logits.empty()) throw InvalidArgument("sample() on a stream with no logits: feed it first");
  return sampler.sample(impl_->logits);
}

StreamStats Stream::stats() const {
  const model::EngineCounters c = impl_->engine->counters();
  const StreamConfig& cc = impl_->engine->cache_config();
  return {c.tokens, c.evicted, c.slots_used, c.capacity, cc.sinks, cc.window, c.device_bytes};
}

const StreamConfig& Stream::cache_config() const { return impl_->engine->cache_config(); }

void Stream::reset() {
  impl_->engine->reset();
  impl_->logits = {};
}

const Model& Stream::model() const { return impl_->model; }

namespace {

// One generation's bookkeeping: text through the UTF-8-safe decoder and the
// stop strings, the stop conditions, in the order the CLI has always applied them.
class Emitter {
 public:
  Emitter(const Model& m, Sampler& sampler, const GenerateOptions& o, const TokenCallback& cb, bool strip_first)
      : tok_(m.impl()->tokenizer()), sampler_(sampler), o_(o), cb_(cb), decoder_(tok_), stops_(o.stop_strings),
        strip_(strip_first) {}

  // False once generation should stop; reason() says why.
  bool operator()(int32_t next) {
    if (tok_.is_eog(next) && !o_.ignore_eos) {
      reason_ = StopReason::end_of_generation;
      return false;
    }
    sampler_.accept(next);
    tokens_.push_back(next);
    std::string piece = decoder_.push(next);
    if (strip_ && tokens_.size() == 1 && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    const bool keep = cb_ ? cb_(next, stops_.push(piece)) : (stops_.push(piece), true);
    if (stops_.matched()) reason_ = StopReason::stop_string;
    else if (o_.max_tokens && tokens_.size() >= o_.max_tokens) reason_ = StopReason::max_tokens;
    else if (!keep) reason_ = StopReason::callback;
    return reason_ == StopReason::none;
  }

  // Hands over what the decoder and the stop strings still hold.
  void finish() {
    const std::string rest = stops_.push(decoder_.flush()) + stops_.flush();
    if (cb_) cb_(kNoToken, rest);
  }

  StopReason reason() const { return reason_; }
  std::vector<int32_t>& tokens() { return tokens_; }

 private:
  const model::Tokenizer& tok_;
  Sampler& sampler_;
  const GenerateOptions& o_;
  const TokenCallback& cb_;
  model::StreamingDecoder decoder_;
  StopStrings stops_;
  bool strip_;
  StopReason reason_ = StopReason::none;
  std::vector<int32_t> tokens_;
};

}  // namespace

GenerateResult Stream::generate(Sampler& sampler, const GenerateOptions& o, const TokenCallback& on_token) {
  if (impl_->logits.empty()) throw InvalidArgument("generate() on a stream with no logits: feed a prompt first");
  model::Engine& engine = *impl_->engine;
  Emitter emit(impl_->model, sampler, o, on_token, o.strip_space_after_bos && engine.counters().tokens == 1);
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t limit = o.max_tokens ? o.max_tokens : ~uint64_t{0};
  int32_t next = sampler.sample(impl_->logits);
  if (emit(next)) {
    if (sampler.params().plain_greedy()) {
      // Tokens past an end of generation may reach the cache; nothing reads it afterwards.
      impl_->logits = {};
      engine.decode_greedy(next, limit - emit.tokens().size(), [&](std::span<const int32_t> batch) {
        for (int32_t t : batch)
          if (!emit(t)) return false;
        return true;
      });
      impl_->logits = engine.last_logits();
    } else {
      do {
        impl_->logits = {};
        impl_->logits = engine.feed({&next, 1});
        next = sampler.sample(impl_->logits);
      } while (emit(next));
    }
  }
  GenerateResult r;
  r.decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  emit.finish();
  r.reason = emit.reason();
  r.tokens = std::move(emit.tokens());
  return r;
}

}  // namespace sinkstream
