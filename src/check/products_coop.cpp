// Kernel checks of the chunk product on cooperative matrices (matmul_coop.comp,
// VK_NV_cooperative_matrix): every tile variant and weight type, partial token
// and row tiles, two tiles, bias and residual, and a product split along K whose
// partial sums must add up to the product. Not applicable on devices without
// the 16x16x16 float16 shape (the portable matmul runs there).
#include <algorithm>
#include <cmath>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "check/product_case.hpp"
#include "engine/coop_tiles.hpp"
#include "engine/forward_layer.hpp"
#include "format/quant_types.hpp"

namespace sinkstream::check {
namespace {

// The tile geometry each compiled variant was built with (shaders/CMakeLists.txt).
model::CoopTile tile_of(std::string_view family, std::string_view variant) {
  const std::string shader = shader_name(family, variant);
  if (family == "matmul_coop64") return {shader, 64, 64, false};
  if (family == "matmul_coop128" || family == "matmul_coop128_glu")
    return {shader, 128, 128, false};
  return {shader, 64, 128, false};
}

void require_coop(vk::Context& ctx, const model::CoopTile& tile, model::GgmlType t) {
  if (!ctx.info().coopmat_prefill)
    throw NotApplicable("no NV cooperative matrices (16x16x16 float16, 32-wide subgroups)");
  if (model::coop_shared_bytes(t, tile) > ctx.info().max_shared_bytes)
    throw NotApplicable("the tile needs more shared memory than this device has");
}

// One product through the tile; splits > 1 writes partial sums (no bias, no
// residual) that are added here before the comparison.
double coop_case(vk::Context& ctx, const model::CoopTile& tile, model::GgmlType t, ProductShape s,
                 uint32_t splits, uint32_t seed) {
  if (splits > 1) s.accumulate = s.bias = false;
  ProductCase c = make_product(ctx, t, s, seed);
  model::MatmulPC pc{};
  pc.m_rows = s.m;
  pc.n_rows = s.n;
  pc.k_cols = s.k;
  pc.row_bytes = c.gpu_w.row_bytes;
  pc.x_offset = c.x_offset;
  pc.x_stride = c.x_stride;
  pc.out_offset = splits > 1 ? 0 : c.out_offset;
  pc.out_stride = splits > 1 ? s.n : c.out_stride;
  pc.accumulate = s.accumulate;
  pc.has_bias = s.bias;
  pc.k_splits = splits;
  vk::GpuBuffer part;
  if (splits > 1)
    part = zero_buffer(ctx, uint64_t{splits} * s.m * s.n * 4, "partial sums");  // (split, token, n)
  const vk::GpuBuffer* b[] = {&c.x_buf, &c.gpu_w.buffer, &c.bias_buf,
                              splits > 1 ? &part : &c.out_buf};
  const uint32_t tiles = vk::ceil_div(s.n, tile.rows);
  dispatch_once(ctx, {tile.shader, 4, sizeof(model::MatmulPC), {tile.threads(), 1, 1}, {}}, b, pc,
                {tiles, 1, vk::ceil_div(s.m, tile.tokens) * splits});
  if (splits > 1) {
    // out = the sum of the shares, written where the case's reference expects it.
    const auto p = read<float>(ctx, part, uint64_t{splits} * s.m * s.n);
    std::vector<float> out = c.out0;
    for (uint32_t m = 0; m < s.m; ++m)
      for (uint32_t n = 0; n < s.n; ++n) {
        float sum = 0;
        for (uint32_t k = 0; k < splits; ++k) sum += p[(uint64_t{k} * s.m + m) * s.n + n];
        out[c.out_offset + uint64_t{m} * c.out_stride + n] = sum;
      }
    ctx.upload(c.out_buf, out.data(), out.size() * 4);
  }
  return product_error(ctx, c);
}

// The fused gate/up + SwiGLU variant: out = silu(x W^T) * (x U^T).
double coop_glu_case(vk::Context& ctx, const model::CoopTile& tile, model::GgmlType t,
                     ProductShape s, uint32_t seed) {
  ProductCase c = make_product(ctx, t, s, seed);
  const auto up_bytes = random_weights(t, s.n, s.k, seed + 7);
  const model::Tensor up{"up", t, s.n, s.k, up_bytes};
  const model::GpuTensor gpu_up = model::upload_tensor(ctx, up);
  model::MatmulPC pc{};
  pc.m_rows = s.m;
  pc.n_rows = s.n;
  pc.k_cols = s.k;
  pc.row_bytes = c.gpu_w.row_bytes;
  pc.x_offset = c.x_offset;
  pc.x_stride = c.x_stride;
  pc.out_offset = c.out_offset;
  pc.out_stride = c.out_stride;
  pc.k_splits = 1;
  const vk::GpuBuffer* b[] = {&c.x_buf, &c.gpu_w.buffer, &c.bias_buf, &c.out_buf, &gpu_up.buffer};
  const uint32_t tiles = vk::ceil_div(s.n, tile.rows / 2);
  dispatch_once(ctx, {tile.shader, 5, sizeof(model::MatmulPC), {tile.threads(), 1, 1}, {}}, b, pc,
                {tiles, 1, vk::ceil_div(s.m, tile.tokens)});
  const auto got = read<float>(ctx, c.out_buf, c.out0.size());
  const auto w = dequantized(c.w), u = dequantized(up);
  double err = 0;
  for (uint32_t m = 0; m < s.m; ++m) {
    const float* x = c.x.data() + c.x_offset + uint64_t{m} * c.x_stride;
    for (uint32_t n = 0; n < s.n; ++n) {
      const RefValue g = reference_dot(w, s.k, n, x), v = reference_dot(u, s.k, n, x);
      const double silu = g.value / (1.0 + std::exp(-g.value));
      const double mag =
          g.magnitude * (1.0 + std::abs(v.value)) + v.magnitude * (1.0 + std::abs(silu));
      err = std::max(err, scaled_error(got[c.out_offset + uint64_t{m} * c.out_stride + n],
                                       silu * v.value, mag));
    }
  }
  return err;
}

uint32_t coop_k(model::GgmlType t, uint32_t times) {
  return std::max(model::block_weights(t), model::kCoopK) * times;
}

void run_coop(vk::Context& ctx, std::string_view family, std::string_view variant,
              const CheckOptions& o, VariantResult& r) {
  const model::GgmlType t = weight_type(variant);
  const model::CoopTile tile = tile_of(family, variant);
  require_coop(ctx, tile, t);
  const bool glu = family.find("glu") != std::string_view::npos;
  // float16 operands split in a head and a remainder: about 22 bits per operand.
  r.tolerance = 2e-5;  // |got - want| / (1 + sum |terms|)
  uint32_t seed = 500;
  std::vector<ProductShape> shapes = {{5, 17, coop_k(t, 1), true, true},
                                      {tile.tokens + 3, tile.rows + 16, coop_k(t, 3), false, true}};
  if (!o.quick) shapes.push_back({2 * tile.tokens, 2 * tile.rows, coop_k(t, 8), true, false});
  for (const ProductShape& s : shapes) {
    r.max_error = std::max(r.max_error, glu ? coop_glu_case(ctx, tile, t, s, seed += 10)
                                            : coop_case(ctx, tile, t, s, 1, seed += 10));
    ++r.cases;
  }
  if (!glu) {  // split along K in 2 and 4: shares of 512 and 256 columns (the engine's floor)
    for (uint32_t splits : {2u, 4u}) {
      r.max_error = std::max(
          r.max_error, coop_case(ctx, tile, t, {7, 33, 1024, false, false}, splits, seed += 10));
      ++r.cases;
    }
  }
}

}  // namespace

void check_matmul_coop(vk::Context& ctx, std::string_view v, const CheckOptions& o,
                       VariantResult& r) {
  run_coop(ctx, "matmul_coop", v, o, r);
}
void check_matmul_coop_glu(vk::Context& ctx, std::string_view v, const CheckOptions& o,
                           VariantResult& r) {
  run_coop(ctx, "matmul_coop_glu", v, o, r);
}
void check_matmul_coop64(vk::Context& ctx, std::string_view v, const CheckOptions& o,
                         VariantResult& r) {
  run_coop(ctx, "matmul_coop64", v, o, r);
}
void check_matmul_coop128(vk::Context& ctx, std::string_view v, const CheckOptions& o,
                          VariantResult& r) {
  run_coop(ctx, "matmul_coop128", v, o, r);
}
void check_matmul_coop128_glu(vk::Context& ctx, std::string_view v, const CheckOptions& o,
                              VariantResult& r) {
  run_coop(ctx, "matmul_coop128_glu", v, o, r);
}

}  // namespace sinkstream::check
