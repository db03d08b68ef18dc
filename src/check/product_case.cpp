#include "check/product_case.hpp"

#include <algorithm>
#include <cmath>

#include "check/harness.hpp"
#include "ref/model_ref.hpp"

namespace sinkstream::check {

ProductCase make_product(vk::Context& ctx, model::GgmlType t, const ProductShape& s,
                         uint32_t seed) {
  ProductCase c;
  c.s = s;
  c.x_stride = s.k + 4;  // gaps between tokens the kernel must skip
  c.out_stride = s.n + 2;
  c.w_bytes = random_weights(t, s.n, s.k, seed);
  c.w = {"w", t, s.n, s.k, c.w_bytes};
  c.x = random_floats(c.x_offset + uint64_t{s.m} * c.x_stride, seed + 1);
  c.bias = random_floats(s.n, seed + 2);
  c.out0 = random_floats(c.out_offset + uint64_t{s.m} * c.out_stride, seed + 3);
  c.gpu_w = model::upload_tensor(ctx, c.w);
  c.x_buf = device_buffer(ctx, c.x, "x");           // (token, x_stride) from x_offset
  c.bias_buf = device_buffer(ctx, c.bias, "bias");  // (n)
  c.out_buf = device_buffer(ctx, c.out0, "out");    // (token, out_stride) from out_offset
  return c;
}

std::vector<double> dequantized(const model::Tensor& w) {
  std::vector<double> out;
  out.reserve(w.rows * w.cols);
  for (uint64_t r = 0; r < w.rows; ++r) {
    const auto row = ref::dequantize_row(w, r);
    out.insert(out.end(), row.begin(), row.end());
  }
  return out;
}

RefValue reference_dot(const std::vector<double>& w, uint32_t k_cols, uint32_t n, const float* x) {
  RefValue r{0, 0};
  for (uint32_t k = 0; k < k_cols; ++k) {
    const double t = w[uint64_t{n} * k_cols + k] * x[k];
    r.value += t;
    r.magnitude += std::abs(t);
  }
  return r;
}

double product_error(vk::Context& ctx, const ProductCase& c) {
  const auto got = read<float>(ctx, c.out_buf, c.out0.size());
  const auto w = dequantized(c.w);
  double err = 0;
  for (uint32_t m = 0; m < c.s.m; ++m)
    for (uint32_t n = 0; n < c.s.n; ++n) {
      RefValue r = reference_dot(w, c.s.k, n, c.x.data() + c.x_offset + uint64_t{m} * c.x_stride);
      const size_t at = c.out_offset + uint64_t{m} * c.out_stride + n;
      if (c.s.bias) r.value += c.bias[n], r.magnitude += std::abs(c.bias[n]);
      if (c.s.accumulate) r.value += c.out0[at], r.magnitude += std::abs(c.out0[at]);
      err = std::max(err, scaled_error(got[at], r.value, r.magnitude));
    }
  // The gaps between output rows stay as they were.
  for (uint32_t m = 0; m < c.s.m; ++m)
    for (uint32_t n = c.s.n; n < c.out_stride; ++n) {
      const size_t at = c.out_offset + uint64_t{m} * c.out_stride + n;
      if (at < got.size() && got[at] != c.out0[at]) err = std::max(err, 1.0);
    }
  return err;
}

}  // namespace sinkstream::check
