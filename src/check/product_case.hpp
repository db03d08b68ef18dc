// One matrix product's inputs and its CPU reference, shared by the checks of
// matmul.comp, matvec.comp and matmul_coop.comp: out[m][n] (+)= sum_k x[m][k] W[n][k]
// (+ bias[n]), x and out strided with offsets, in double on the CPU.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/gpu_model.hpp"

namespace sinkstream::check {

struct ProductShape {
  uint32_t m, n, k;  // tokens, weight rows, columns
  bool accumulate = false, bias = false;
};

struct ProductCase {
  ProductShape s;
  uint32_t x_offset = 4, x_stride = 0, out_offset = 5, out_stride = 0;  // floats (x: whole vec4s)
  std::vector<uint8_t> w_bytes;
  model::Tensor w;
  std::vector<float> x, bias, out0;  // out0: what out holds before (accumulate)
  model::GpuTensor gpu_w;
  vk::GpuBuffer x_buf, bias_buf, out_buf;
};

// Random inputs of type t (weights of `up_seed` for a second matrix when not 0).
ProductCase make_product(vk::Context& ctx, model::GgmlType t, const ProductShape& s, uint32_t seed);

// out[m][n] of the reference, and the sum of the magnitudes of its terms.
struct RefValue {
  double value, magnitude;
};
// Dequantised weight rows (n, k) of the case, in double.
std::vector<double> dequantized(const model::Tensor& w);
RefValue reference_dot(const std::vector<double>& w, uint32_t k_cols, uint32_t n, const float* x);

// The worst scaled error of the GPU's out buffer against the plain product.
double product_error(vk::Context& ctx, const ProductCase& c);

}  // namespace sinkstream::check
