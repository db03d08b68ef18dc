// The public ReferenceStream: the paper-literal CPU reference (ref/attention_ref.hpp).
#include "check/harness.hpp"
#include "ref/attention_ref.hpp"
#include "sinkstream/stream.hpp"

namespace sinkstream {

struct ReferenceStream::Impl {
  ref::ReferenceStream stream;
};

ReferenceStream::ReferenceStream(const StreamConfig& cfg) : impl_(std::make_unique<Impl>(Impl{ref::ReferenceStream(cfg)})) {}
ReferenceStream::~ReferenceStream() = default;
ReferenceStream::ReferenceStream(ReferenceStream&&) noexcept = default;

std::vector<double> ReferenceStream::step(std::span<const float> q, std::span<const float> k,
                                          std::span<const float> v, uint32_t n_tokens) {
  return impl_->stream.step(q, k, v, n_tokens);
}

void ReferenceStream::set_sink_logits(std::span<const float> logits) { impl_->stream.set_sink_logits(logits); }

double ReferenceStream::tolerance(KvType t) { return check::kv_tolerance(t); }

}  // namespace sinkstream
