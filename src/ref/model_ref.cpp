#include "ref/model_ref.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "format/quant_types.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::ref {
namespace {

StreamConfig attention_config(const model::HParams& h, uint32_t sinks, uint32_t window, KvType kv) {
  StreamConfig c;
  c.kv_type = kv;
  c.layers = h.layers;
  c.heads = h.heads;
  c.kv_heads = h.kv_heads;
  c.head_dim = h.head_dim;
  c.sinks = sinks;
  c.window = window;
  model::set_cache_rope(h, c);
  c.learned_sinks = h.attn_sinks;
  return c;
}

}  // namespace

// Every weight type through model::dequantize, ggml's decoding bit for bit.
std::vector<float> dequantize_row(const model::Tensor& t, uint64_t row) {
  if (!model::can_dequantize(t.type))
    throw Error(std::string("reference: unsupported weight type ") + model::ggml_type_name(t.type));
  const uint64_t row_bytes = model::ggml_type_bytes(t.type, t.cols);
  std::vector<float> out(t.cols);
  model::dequantize(t.type, t.data.subspan(row * row_bytes, row_bytes), out);
  return out;
}

std::vector<float> matvec(const model::Tensor& w, std::span<const float> x) {
  std::vector<float> out(w.rows);
  for (uint64_t n = 0; n < w.rows; ++n) {
    const auto row = dequantize_row(w, n);
    double s = 0;
    for (uint64_t k = 0; k < w.cols; ++k) s += static_cast<double>(row[k]) * x[k];
    out[n] = static_cast<float>(s);
  }
  return out;
}

std::vector<float> rmsnorm(std::span<const float> x, const model::Tensor& weight, float eps) {
  const auto w = dequantize_row(weight, 0);
  double ss = 0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i] * inv * w[i]);
  return out;
}

void head_norm(std::vector<float>& x, const model::Tensor& weight, uint32_t head_dim, float eps) {
  for (size_t at = 0; at < x.size(); at += head_dim) {
    const std::span<const float> head(x.data() + at, head_dim);
    const auto n = rmsnorm(head, weight, eps);
    std::copy(n.begin(), n.end(), x.begin() + static_cast<std::ptrdiff_t>(at));
  }
}

ReferenceModel::ReferenceModel(const model::ModelFile& m, uint32_t sinks, uint32_t window,
                               KvType kv)
    : m_(m), attn_(attention_config(m.hp, sinks, window, kv)) {
  if (m.hp.attn_sinks) {
    std::vector<float> logits;
    for (const auto& l : m.layers) {
      const auto s = dequantize_row(*l.sinks, 0);
      logits.insert(logits.end(), s.begin(), s.end());
    }
    attn_.set_sink_logits(logits);
  }
}

std::vector<float> ReferenceModel::forward(int32_t token) {
  const auto& h = m_.hp;
  if (token < 0 || static_cast<uint32_t>(token) >= h.vocab) throw InvalidArgument("reference: token out of range");
  std::vector<float> x = dequantize_row(m_.tok_embd, static_cast<uint64_t>(token));
  const auto add_bias = [](std::vector<float>& v, const std::optional<model::Tensor>& b) {
    if (!b) return;
    const auto bias = dequantize_row(*b, 0);
    for (size_t i = 0; i < v.size(); ++i) v[i] += bias[i];
  };
  for (uint32_t l = 0; l < h.layers; ++l) {
    const auto& w = m_.layers[l];
    const auto xn = rmsnorm(x, w.attn_norm, h.rms_eps);
    auto q = matvec(w.wq, xn), k = matvec(w.wk, xn), v = matvec(w.wv, xn);
    add_bias(q, w.bq);
    add_bias(k, w.bk);
    add_bias(v, w.bv);
    if (w.q_norm) {  // qwen3: each head normalised before RoPE
      head_norm(q, *w.q_norm, h.head_dim, h.rms_eps);
      head_norm(k, *w.k_norm, h.head_dim, h.rms_eps);
    }
    const auto att = attn_.append_and_attend(l, q, k, v);
    const std::vector<float> att_f(att.begin(), att.end());
    const auto o = matvec(w.wo, att_f);
    for (size_t i = 0; i < x.size(); ++i) x[i] += o[i];
    const auto xn2 = rmsnorm(x, w.ffn_norm, h.rms_eps);
    auto gate = matvec(w.w_gate, xn2);
    const auto up = matvec(w.w_up, xn2);
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
    const auto down = matvec(w.w_down, gate);
    for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  }
  return matvec(m_.output, rmsnorm(x, m_.output_norm, h.rms_eps));
}

}  // namespace sinkstream::ref
