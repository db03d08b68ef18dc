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
  c.layers = h.layers - h.sliding_layers();
  c.heads = h.heads;
  c.kv_heads = h.kv_heads;
  c.head_dim = h.head_dim;
  c.sinks = sinks;
  c.window = window;
  model::set_cache_rope(h, c);
  c.learned_sinks = h.attn_sinks;
  return c;
}

// The sliding-window layers' cache: no sinks, the trained window, their own RoPE.
StreamConfig ring_config(const model::HParams& h, KvType kv) {
  StreamConfig c = attention_config(h, 0, h.sliding_window, kv);
  c.layers = h.sliding_layers();
  c.rope = h.rope_sliding;
  return c;
}

float gelu(float a) {  // the tanh form, as gelu_pytorch_tanh
  const double x = a;
  return static_cast<float>(0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))));
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
  return matvec_rows(w, 0, w.rows, x);
}

std::vector<float> matvec_rows(const model::Tensor& w, uint64_t first, uint64_t count, std::span<const float> x) {
  std::vector<float> out(count);
  for (uint64_t n = 0; n < count; ++n) {
    const auto row = dequantize_row(w, first + n);
    double s = 0;
    for (uint64_t k = 0; k < w.cols; ++k) s += static_cast<double>(row[k]) * x[k];
    out[n] = static_cast<float>(s);
  }
  return out;
}

std::vector<float> moe_ffn(const model::HParams& h, const model::LayerWeights& w, std::span<const float> x) {
  auto scores = matvec(*w.router, x);
  const auto rb = dequantize_row(*w.router_b, 0);
  for (size_t e = 0; e < scores.size(); ++e) scores[e] += rb[e];
  std::vector<uint32_t> order(scores.size());
  for (uint32_t e = 0; e < order.size(); ++e) order[e] = e;
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return scores[a] > scores[b]; });
  double sum = 0;
  for (uint32_t s = 0; s < h.experts_used; ++s) sum += std::exp(static_cast<double>(scores[order[s]]) - scores[order[0]]);
  std::vector<float> out(h.dim, 0.0f);
  for (uint32_t s = 0; s < h.experts_used; ++s) {
    const uint32_t e = order[s];
    const double weight = std::exp(static_cast<double>(scores[e]) - scores[order[0]]) / sum;
    auto gate = matvec_rows(w.w_gate, uint64_t{e} * h.ffn, h.ffn, x);
    const auto up = matvec_rows(w.w_up, uint64_t{e} * h.ffn, h.ffn, x);
    const auto gb = dequantize_row(*w.gate_b, e), ub = dequantize_row(*w.up_b, e), db = dequantize_row(*w.down_b, e);
    for (uint32_t i = 0; i < h.ffn; ++i) {
      const double g = std::min<double>(gate[i] + gb[i], h.swiglu_limit);
      const double u = std::clamp<double>(up[i] + ub[i], -h.swiglu_limit, h.swiglu_limit);
      gate[i] = static_cast<float>(g / (1.0 + std::exp(-h.swiglu_alpha * g)) * (u + 1.0));
    }
    const auto y = matvec_rows(w.w_down, uint64_t{e} * h.dim, h.dim, gate);
    for (uint32_t d = 0; d < h.dim; ++d) out[d] += static_cast<float>(weight * (y[d] + db[d]));
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
  if (m.hp.sliding_layers() > 0) ring_.emplace(ring_config(m.hp, kv));
  uint32_t full = 0, sliding = 0;
  std::vector<float> logits, ring_logits;  // (layer, head) of each cache's layers
  for (uint32_t l = 0; l < m.hp.layers; ++l) {
    const bool s = m.hp.is_sliding(l);
    local_.push_back(s ? sliding++ : full++);
    if (!m.hp.attn_sinks) continue;
    const auto row = dequantize_row(*m.layers[l].sinks, 0);
    (s ? ring_logits : logits).insert((s ? ring_logits : logits).end(), row.begin(), row.end());
  }
  if (m.hp.attn_sinks) attn_.set_sink_logits(logits);
  if (m.hp.attn_sinks && ring_) ring_->set_sink_logits(ring_logits);
}

std::vector<float> ReferenceModel::forward(int32_t token) {
  const auto& h = m_.hp;
  if (token < 0 || static_cast<uint32_t>(token) >= h.vocab) throw InvalidArgument("reference: token out of range");
  std::vector<float> x = dequantize_row(m_.tok_embd, static_cast<uint64_t>(token));
  for (float& v : x) v *= h.embed_scale;
  // x += the product, or (gemma) x += RMSNorm of it.
  const auto residual = [&](const std::vector<float>& y, const std::optional<model::Tensor>& post) {
    const auto add = post ? rmsnorm(y, *post, h.rms_eps) : y;
    for (size_t i = 0; i < x.size(); ++i) x[i] += add[i];
  };
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
    ReferenceStream& cache = h.is_sliding(l) ? *ring_ : attn_;
    const auto att = cache.append_and_attend(local_[l], q, k, v);
    const std::vector<float> att_f(att.begin(), att.end());
    auto o = matvec(w.wo, att_f);
    add_bias(o, w.bo);
    residual(o, w.post_attn_norm);
    const auto xn2 = rmsnorm(x, w.ffn_norm, h.rms_eps);
    if (h.experts) {
      residual(moe_ffn(h, w, xn2), std::nullopt);
      continue;
    }
    auto gate = matvec(w.w_gate, xn2);
    const auto up = matvec(w.w_up, xn2);
    for (size_t i = 0; i < gate.size(); ++i)
      gate[i] = (h.gelu_ffn ? gelu(gate[i]) : gate[i] / (1.0f + std::exp(-gate[i]))) * up[i];
    residual(matvec(w.w_down, gate), w.post_ffn_norm);
  }
  auto logits = matvec(m_.output, rmsnorm(x, m_.output_norm, h.rms_eps));
  if (h.final_softcap != 0.0f)  // gemma2
    for (float& v : logits) v = static_cast<float>(h.final_softcap * std::tanh(static_cast<double>(v) / h.final_softcap));
  return logits;
}

}  // namespace sinkstream::ref
