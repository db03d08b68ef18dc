#include "api/model_impl.hpp"

namespace sinkstream {

void validate(const SamplerParams& p) { model::validate(detail::sampler_config(p)); }

struct Sampler::Impl {
  SamplerParams params;
  model::Sampler sampler;
};

Sampler::Sampler(const SamplerParams& p) : impl_(new Impl{p, model::Sampler(detail::sampler_config(p))}) {}
Sampler::~Sampler() = default;
Sampler::Sampler(const Sampler& o) : impl_(new Impl(*o.impl_)) {}
Sampler& Sampler::operator=(const Sampler& o) {
  if (this != &o) impl_ = std::make_unique<Impl>(*o.impl_);
  return *this;
}
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

int32_t Sampler::sample(std::span<const float> logits) { return impl_->sampler.sample(logits); }
void Sampler::accept(int32_t token) { impl_->sampler.accept(token); }
void Sampler::accept(std::span<const int32_t> tokens) {
  for (int32_t t : tokens) impl_->sampler.accept(t);
}
void Sampler::reset() { impl_->sampler = model::Sampler(detail::sampler_config(impl_->params)); }
const SamplerParams& Sampler::params() const { return impl_->params; }

}  // namespace sinkstream
