#include "ref/attention_ref.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "format/quant_types.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::ref {

void rope_rotate(std::span<double> x, double position, const RopeConfig& rope) {
  const size_t dims = rope.rotary_dims ? rope.rotary_dims : x.size();
  const size_t half = dims / 2;
  for (size_t p = 0; p < half; ++p) {
    double inv_freq = 1.0 / std::pow(rope.theta, 2.0 * static_cast<double>(p) / static_cast<double>(dims));
    if (!rope.freq_factors.empty()) inv_freq /= rope.freq_factors[p];
    const double c = std::cos(position * inv_freq), s = std::sin(position * inv_freq);
    const size_t a = rope.style == RopeStyle::neox ? p : 2 * p;
    const size_t b = rope.style == RopeStyle::neox ? p + half : 2 * p + 1;
    const double x0 = x[a], x1 = x[b];
    x[a] = x0 * c - x1 * s;
    x[b] = x0 * s + x1 * c;
  }
}

void q8_0_round_trip(std::span<double> row) {
  for (size_t b = 0; b < row.size(); b += 32) {
    const size_t n = std::min<size_t>(32, row.size() - b);
    float x[32], amax = 0.0f;
    for (size_t j = 0; j < n; ++j)
      amax = std::max(amax, std::abs(x[j] = static_cast<float>(row[b + j])));
    const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    const double stored = model::half_to_float(model::float_to_half(d));
    for (size_t j = 0; j < n; ++j) row[b + j] = stored * std::round(x[j] * id);
  }
}

ReferenceStream::ReferenceStream(const StreamConfig& cfg, uint64_t start)
    : cfg_(cfg),
      scale_(cfg.scale != 0.0f ? cfg.scale : 1.0 / std::sqrt(static_cast<double>(cfg.head_dim))),
      layers_(cfg.layers),
      sink_logits_(uint64_t{cfg.layers} * cfg.heads, 0.0f),
      start_(start) {
  validate(cfg_);
}

void ReferenceStream::set_sink_logits(std::span<const float> logits) {
  if (logits.size() != sink_logits_.size()) throw InvalidArgument("reference: sink logits must be (layer, head)");
  sink_logits_.assign(logits.begin(), logits.end());
}

// The GPU quantises a key as it stores it: rotated by its slot (a sink) or by its
// stream index (a window key). The reference keeps keys unrotated, so it
// quantises the key at that rotation and rotates it back (in double: exact to
// rounding), and quantises values as they come.
void ReferenceStream::quantise_as_stored(Token& token, bool sink, size_t sink_slot) const {
  const uint32_t hd = cfg_.head_dim;
  const double angle = sink ? static_cast<double>(sink_slot) : static_cast<double>(start_ + seen_);
  for (uint32_t h = 0; h < cfg_.kv_heads; ++h) {
    const std::span<double> k(token.k.data() + h * hd, hd), v(token.v.data() + h * hd, hd);
    rope_rotate(k, angle, cfg_.rope);
    for (double& x : k) x = static_cast<float>(x);  // the GPU rotates in float
    q8_0_round_trip(k);
    rope_rotate(k, -angle, cfg_.rope);
    q8_0_round_trip(v);
  }
}

void ReferenceStream::append(Layer& layer, Token token) const {
  if (cfg_.kv_type == KvType::q8_0)
    quantise_as_stored(token, layer.sinks.size() < cfg_.sinks, layer.sinks.size());
  if (layer.sinks.size() < cfg_.sinks) {
    layer.sinks.push_back(std::move(token));
    return;
  }
  layer.window.push_back(std::move(token));
  if (layer.window.size() > cfg_.window) layer.window.pop_front();  // evict the oldest
}

void ReferenceStream::attend(Layer& layer, uint32_t layer_index, const float* q, double* out) const {
  const uint32_t hd = cfg_.head_dim, group = cfg_.heads / cfg_.kv_heads;
  std::vector<const Token*> kept;
  for (const Token& t : layer.sinks) kept.push_back(&t);
  for (const Token& t : layer.window) kept.push_back(&t);
  const double q_pos = static_cast<double>(kept.size() - 1);  // the newest token is last

  std::vector<double> qr(hd), kr(hd), scores(kept.size());
  layer.last_probs.assign(uint64_t{cfg_.heads} * kept.size(), 0.0);
  for (uint32_t h = 0; h < cfg_.heads; ++h) {
    const uint32_t kvh = h / group;
    std::copy(q + h * hd, q + (h + 1) * hd, qr.begin());
    rope_rotate(qr, q_pos, cfg_.rope);
    double m = cfg_.learned_sinks ? sink_logits_[layer_index * cfg_.heads + h] : -std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < kept.size(); ++j) {
      std::copy(kept[j]->k.begin() + kvh * hd, kept[j]->k.begin() + (kvh + 1) * hd, kr.begin());
      rope_rotate(kr, static_cast<double>(j), cfg_.rope);  // re-rotated by its cache position, every step
      double dot = 0;
      for (uint32_t d = 0; d < hd; ++d) dot += qr[d] * kr[d];
      scores[j] = dot * scale_;
      if (cfg_.softcap != 0.0f) scores[j] = cfg_.softcap * std::tanh(scores[j] / cfg_.softcap);  // gemma2
      m = std::max(m, scores[j]);
    }
    double sum = cfg_.learned_sinks ? std::exp(sink_logits_[layer_index * cfg_.heads + h] - m) : 0.0;
    for (double& s : scores) sum += (s = std::exp(s - m));
    double* o = out + h * hd;
    std::fill(o, o + hd, 0.0);
    for (size_t j = 0; j < kept.size(); ++j) {
      layer.last_probs[h * kept.size() + j] = scores[j] / sum;
      for (uint32_t d = 0; d < hd; ++d) o[d] += scores[j] / sum * kept[j]->v[kvh * hd + d];
    }
  }
}

std::vector<double> ReferenceStream::append_and_attend(uint32_t layer, std::span<const float> q,
                                                      std::span<const float> k, std::span<const float> v) {
  const uint64_t q_row = uint64_t{cfg_.heads} * cfg_.head_dim, kv_row = uint64_t{cfg_.kv_heads} * cfg_.head_dim;
  if (layer >= cfg_.layers || q.size() != q_row || k.size() != kv_row || v.size() != kv_row)
    throw InvalidArgument("reference: one token's q/k/v do not match the configuration");
  append(layers_[layer], Token{{k.begin(), k.end()}, {v.begin(), v.end()}});
  std::vector<double> out(q_row);
  attend(layers_[layer], layer, q.data(), out.data());
  if (layer == cfg_.layers - 1) ++seen_;
  return out;
}

std::vector<double> ReferenceStream::step(std::span<const float> q, std::span<const float> k,
                                          std::span<const float> v, uint32_t n) {
  const uint64_t q_row = uint64_t{cfg_.heads} * cfg_.head_dim, kv_row = uint64_t{cfg_.kv_heads} * cfg_.head_dim;
  if (q.size() != cfg_.layers * n * q_row || k.size() != cfg_.layers * n * kv_row || v.size() != k.size())
    throw InvalidArgument("reference: q/k/v sizes do not match the configuration");
  std::vector<double> out(q.size());
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t l = 0; l < cfg_.layers; ++l) {
      const uint64_t kv_at = (uint64_t{l} * n + i) * kv_row, q_at = (uint64_t{l} * n + i) * q_row;
      Token t{{k.begin() + kv_at, k.begin() + kv_at + kv_row}, {v.begin() + kv_at, v.begin() + kv_at + kv_row}};
      append(layers_[l], std::move(t));
      attend(layers_[l], l, q.data() + q_at, out.data() + q_at);
    }
    ++seen_;
  }
  return out;
}

}  // namespace sinkstream::ref
