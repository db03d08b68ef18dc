// Kernel check of the integer-dot-product decode products (matvec.comp with
// -DINT_DOT): the activations are quantised to int8 per 16 (scale max|x| / 127,
// round to even), so the reference takes the same quantised activations and the
// products agree to float rounding; a quant that rounds the other way at a near
// tie (the GPU's division and inversesqrt are not the CPU's) moves one term by
// one step, hence the tolerance.
#include <algorithm>
#include <cmath>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "check/product_case.hpp"
#include "engine/forward_layer.hpp"
#include "engine/push_constants.hpp"

namespace sinkstream::check {
namespace {

// x as the kernel quantises it, back in float: per 16 values, q * max|x| / 127.
std::vector<float> quantised(const std::vector<float>& x) {
  std::vector<float> out(x.size());
  for (size_t u = 0; u < x.size(); u += 16) {
    float m = 0.0f;
    for (size_t i = u; i < u + 16; ++i) m = std::max(m, std::abs(x[i]));
    const float inv = m > 0.0f ? 127.0f / m : 0.0f, scale = m / 127.0f;
    for (size_t i = u; i < u + 16; ++i) out[i] = std::nearbyint(x[i] * inv) * scale;
  }
  return out;
}

double idot_case(vk::Context& ctx, std::string_view variant, uint32_t n, uint32_t k, int fusion, uint32_t seed) {
  const model::GgmlType t = weight_type(variant);
  const bool norm = fusion >= 1, glu = fusion == 2;
  ProductCase c = make_product(ctx, t, {1, n, k, fusion == 0, fusion == 0}, seed);
  const auto up_bytes = random_weights(t, n, k, seed + 7);
  const model::Tensor up{"up", t, n, k, up_bytes};
  const model::GpuTensor gpu_up = model::upload_tensor(ctx, up);
  const auto norm_w = random_floats(k, seed + 8, -2.0f, 2.0f);
  const auto norm_buf = device_buffer(ctx, norm_w, "norm weight");  // (k)
  const vk::KernelDesc desc = model::matvec_desc(ctx.info(), c.gpu_w, norm, glu, true);
  const vk::GpuBuffer* b[] = {&c.x_buf, &c.gpu_w.buffer, &c.bias_buf, &c.out_buf, &norm_buf, &gpu_up.buffer};
  const float eps = 1e-5f;
  const uint32_t groups = vk::ceil_div(n, model::kMatvecRows);
  dispatch_once(ctx, desc, b,
                model::MatvecPC{n, k, c.gpu_w.row_bytes, c.x_offset, c.out_offset, fusion == 0, fusion == 0, eps},
                {groups, 1, 1});
  std::vector<float> xin(c.x.begin() + c.x_offset, c.x.begin() + c.x_offset + k);
  if (norm) {
    double ss = 0;
    for (float v : xin) ss += double{v} * v;
    const double inv = 1.0 / std::sqrt(ss / k + eps);
    for (uint32_t i = 0; i < k; ++i) xin[i] = static_cast<float>(xin[i] * inv * norm_w[i]);
  }
  const auto xq = quantised(xin);
  const auto w = dequantized(c.w), u = dequantized(up);
  const auto got = read<float>(ctx, c.out_buf, c.out0.size());
  double err = 0;
  for (uint32_t row = 0; row < n; ++row) {
    const RefValue g = reference_dot(w, k, row, xq.data());
    double want = g.value, mag = g.magnitude;
    if (fusion == 0) {  // bias and residual
      want += c.bias[row] + c.out0[c.out_offset + row];
      mag += std::abs(c.bias[row]) + std::abs(c.out0[c.out_offset + row]);
    }
    if (glu) {
      const RefValue v = reference_dot(u, k, row, xq.data());
      const double silu = g.value / (1.0 + std::exp(-g.value));
      want = silu * v.value;
      mag = g.magnitude * (1.0 + std::abs(v.value)) + v.magnitude * (1.0 + std::abs(silu));
    }
    err = std::max(err, scaled_error(got[c.out_offset + row], want, mag));
  }
  return err;
}

}  // namespace

// matvec_idot_<type>: as check_matvec (plain with bias and residual, fused RMSNorm,
// fused SwiGLU; short and long rows), against the product of the quantised activations.
void check_matvec_idot(vk::Context& ctx, std::string_view variant, const CheckOptions& o, VariantResult& r) {
  if (!model::matvec_available(ctx.info()))
    throw NotApplicable("no subgroup arithmetic: one-token steps take matmul (MT = 1)");
  if (!ctx.info().integer_dot) throw NotApplicable("no integer dot products (VK_KHR_shader_integer_dot_product)");
  r.tolerance = 5e-4;  // |got - want| / (1 + sum |terms|): a near-tie quant may round the other way
  uint32_t seed = 700;
  for (uint32_t k : o.quick ? std::vector<uint32_t>{32, 96} : std::vector<uint32_t>{32, 96, 4160})
    for (int fusion : {0, 1, 2}) {
      r.max_error = std::max(r.max_error, idot_case(ctx, variant, fusion == 1 ? 1 : 67, k, fusion, seed += 10));
      ++r.cases;
    }
}

}  // namespace sinkstream::check
