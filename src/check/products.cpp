// Kernel checks of the portable chunk product (matmul.comp) and the fused
// one-token product (matvec.comp), every weight type, against plain dot
// products in double of the same dequantised weights; and the integer-dot
// variant of matvec.comp (Q8_0, Q4_0) against the quantised activations.
#include <algorithm>
#include <cmath>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "check/product_case.hpp"
#include "engine/forward_layer.hpp"
#include "format/quant_types.hpp"

namespace sinkstream::check {
namespace {

// Columns the weight kernels take for a type: whole blocks (and for float
// types multiples of 8): one, three (odd) and, in full runs, a long row.
std::vector<uint32_t> k_sizes(model::GgmlType t, bool quick) {
  const uint32_t b = std::max(model::block_weights(t), 8u);
  if (quick) return {b, 3 * b};
  return {b, 3 * b, b * (4160 / b)};
}

}  // namespace

// matmul_<type>: the MT = 1 (decode) and MT = 8 (chunk) kernels; one weight row
// or an odd count, partial token tiles, bias, the residual add, strided rows.
void check_matmul(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                  VariantResult& r) {
  const model::GgmlType t = weight_type(variant);
  r.tolerance = 2e-6;  // |got - want| / (1 + sum |w x|): float sums in any order
  uint32_t seed = 100;
  for (uint32_t k : k_sizes(t, o.quick)) {
    for (const ProductShape s :
         {ProductShape{1, 3, k, false, true}, ProductShape{13, 65, k, true, true},
          ProductShape{8, 1, k, true, false}}) {
      ProductCase c = make_product(ctx, t, s, seed += 10);
      const uint32_t mt = s.m == 1 ? 1 : model::kMatmulTokens;
      model::MatmulPC pc{};
      pc.m_rows = s.m;
      pc.n_rows = s.n;
      pc.k_cols = s.k;
      pc.row_bytes = c.gpu_w.row_bytes;
      pc.x_offset = c.x_offset;
      pc.x_stride = c.x_stride;
      pc.out_offset = c.out_offset;
      pc.out_stride = c.out_stride;
      pc.accumulate = s.accumulate;
      pc.has_bias = s.bias;
      pc.k_splits = 1;
      const vk::GpuBuffer* b[] = {&c.x_buf, &c.gpu_w.buffer, &c.bias_buf, &c.out_buf};
      dispatch_once(ctx,
                    {shader_name("matmul", variant),
                     4,
                     sizeof(model::MatmulPC),
                     {model::matmul_group(s.k), 1, 1},
                     {{3, model::kMatmulRows}, {4, mt}}},
                    b, pc, {vk::ceil_div(s.n, model::kMatmulRows), 1, vk::ceil_div(s.m, mt)});
      ++r.cases;
      r.max_error = std::max(r.max_error, product_error(ctx, c));
    }
  }
}

namespace {

// x as the integer-dot kernels quantise it, back in float: per 16 values, q * max|x| / 127.
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

// One matvec.comp case: plain (bias, residual), fused RMSNorm, or fused RMSNorm +
// the up matrix and SwiGLU; int_dot: the integer-dot variant, whose reference takes
// the activations quantised as the kernel does. Returns its worst scaled error.
double matvec_case(vk::Context& ctx, std::string_view variant, uint32_t n, uint32_t k, int fusion,
                   uint32_t seed, bool int_dot = false) {
  const model::GgmlType t = weight_type(variant);
  const bool norm = fusion >= 1, glu = fusion == 2;
  ProductCase c = make_product(ctx, t, {1, n, k, fusion == 0, fusion == 0}, seed);
  const auto up_bytes = random_weights(t, n, k, seed + 7);
  const model::Tensor up{"up", t, n, k, up_bytes};
  const model::GpuTensor gpu_up = model::upload_tensor(ctx, up);
  const auto norm_w = random_floats(k, seed + 8, -2.0f, 2.0f);
  const auto norm_buf = device_buffer(ctx, norm_w, "norm weight");  // (k)
  if (!model::matvec_fits(c.gpu_w))
    throw Error("internal error: a matvec case K the kernel does not take");
  const vk::KernelDesc desc = model::matvec_desc(ctx.info(), c.gpu_w, norm, glu, int_dot);
  const vk::GpuBuffer* b[] = {&c.x_buf,   &c.gpu_w.buffer, &c.bias_buf,
                              &c.out_buf, &norm_buf,       &gpu_up.buffer};
  const float eps = 1e-5f;
  const uint32_t groups = vk::ceil_div(n, model::kMatvecRows);
  const uint32_t gx = std::min(groups, ctx.info().max_workgroup_count[0]);
  dispatch_once(ctx, desc, b,
                model::MatvecPC{n, k, c.gpu_w.row_bytes, c.x_offset, c.out_offset, fusion == 0,
                                fusion == 0, eps},
                {gx, vk::ceil_div(groups, gx), 1});
  if (!norm && !int_dot) return product_error(ctx, c);
  // The kernel's input: x, or x / rms(x) * norm_w; quantised for the integer dots.
  std::vector<float> xin(c.x.begin() + c.x_offset, c.x.begin() + c.x_offset + k);
  if (norm) {
    double ss = 0;
    for (float v : xin) ss += double{v} * v;
    const double inv = 1.0 / std::sqrt(ss / k + eps);
    for (uint32_t i = 0; i < k; ++i) xin[i] = static_cast<float>(xin[i] * inv * norm_w[i]);
  }
  if (int_dot) xin = quantised(xin);
  const auto w = dequantized(c.w), u = dequantized(up);
  const auto got = read<float>(ctx, c.out_buf, c.out0.size());
  double err = 0;
  for (uint32_t row = 0; row < n; ++row) {
    const RefValue g = reference_dot(w, k, row, xin.data());
    double want = g.value, mag = g.magnitude;
    if (fusion == 0) {  // bias and residual
      want += c.bias[row] + c.out0[c.out_offset + row];
      mag += std::abs(c.bias[row]) + std::abs(c.out0[c.out_offset + row]);
    }
    if (glu) {
      const RefValue v = reference_dot(u, k, row, xin.data());
      const double silu = g.value / (1.0 + std::exp(-g.value));
      want = silu * v.value;
      // Each sum's rounding, carried through the other factor (silu' <= 1.1).
      mag = g.magnitude * (1.0 + std::abs(v.value)) + v.magnitude * (1.0 + std::abs(silu));
    }
    err = std::max(err, scaled_error(got[c.out_offset + row], want, mag));
  }
  return err;
}

}  // namespace

// matvec_<type>: the fused decode product (where the device has subgroup
// arithmetic); one or an odd count of rows, short and long rows (the workgroup
// grows past 128 threads), with bias and residual, fused RMSNorm, fused SwiGLU.
void check_matvec(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                  VariantResult& r) {
  if (!model::matvec_available(ctx.info()))
    throw NotApplicable("no subgroup arithmetic: one-token steps take matmul (MT = 1)");
  const model::GgmlType t = weight_type(variant);
  r.tolerance = 2e-5;  // |got - want| / (1 + sum |terms|); RMSNorm in float first
  uint32_t seed = 300;
  for (uint32_t k : k_sizes(t, o.quick))
    for (int fusion : {0, 1, 2}) {
      const uint32_t n = fusion == 1 ? 1 : 67;
      add_case(r, matvec_case(ctx, variant, n, k, fusion, seed += 10));
    }
}

// matvec_idot_<type>: the same cases through the integer-dot variant (activations
// quantised to int8 per 16, round to even), against the product of the quantised
// activations: equal to float rounding, but a quant that rounds the other way at a
// near tie (the GPU's division and inversesqrt are not the CPU's) moves one term by
// one step of max|x| / 127, hence the tolerance.
void check_matvec_idot(vk::Context& ctx, std::string_view variant, const CheckOptions& o, VariantResult& r) {
  if (!model::matvec_available(ctx.info()))
    throw NotApplicable("no subgroup arithmetic: one-token steps take matmul (MT = 1)");
  if (!ctx.info().integer_dot) throw NotApplicable("no integer dot products (VK_KHR_shader_integer_dot_product)");
  r.tolerance = 5e-4;  // |got - want| / (1 + sum |terms|)
  uint32_t seed = 700;
  for (uint32_t k : k_sizes(weight_type(variant), o.quick))
    for (int fusion : {0, 1, 2}) {
      add_case(r, matvec_case(ctx, variant, fusion == 1 ? 1 : 67, k, fusion, seed += 10, true));
    }
}

}  // namespace sinkstream::check
