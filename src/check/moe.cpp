// Kernel checks of the mixture-of-experts kernels (gpt-oss): the routing, the
// grouping of a chunk's pairs by expert, the expert products of every weight
// type, the weighted residual add.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "engine/forward_layer.hpp"
#include "engine/push_constants.hpp"
#include "format/quant_types.hpp"
#include "ref/model_ref.hpp"

namespace sinkstream::check {
// moe_route: each token's `used` highest scores (ties to the lower index) and a
// softmax over them; one expert used, all of them used, ties, a NaN score.
// Error: wrong experts, or a weight off by more than 1e-6.
void check_moe_route(vk::Context& ctx, std::string_view, const CheckOptions&, VariantResult& r) {
  r.tolerance = 0;
  struct Shape {
    uint32_t tokens, experts, used;
  };
  uint32_t seed = 70;
  for (const Shape s : {Shape{1, 1, 1}, Shape{5, 32, 4}, Shape{3, 8, 8}, Shape{9, 128, 4}, Shape{2, 7, 1}}) {
    auto scores = random_floats(uint64_t{s.tokens} * s.experts, seed++, -6.0f, 6.0f);
    if (s.experts > 4) scores[3] = scores[1] = 9.0f;  // a tie at the top of token 0: expert 1 first
    if (s.tokens > 1) scores[s.experts] = std::nanf("");  // token 1: a NaN score is never preferred
    const auto sb = device_buffer(ctx, scores, "scores");                            // (token, expert)
    const auto sel = zero_buffer(ctx, uint64_t{s.tokens} * s.used * 4, "sel");       // (token, slot)
    const auto wt = zero_buffer(ctx, uint64_t{s.tokens} * s.used * 4, "weights");   // (token, slot)
    const vk::GpuBuffer* b[] = {&sb, &sel, &wt};
    dispatch_once(ctx, {"moe_route", 3, sizeof(model::MoeRoutePC), {model::kElementwiseGroup, 1, 1}, {}}, b,
                  model::MoeRoutePC{s.tokens, s.experts, s.used, 0},
                  {vk::ceil_div(s.tokens, model::kElementwiseGroup), 1, 1});
    const auto got_sel = read<uint32_t>(ctx, sel, uint64_t{s.tokens} * s.used);
    const auto got_w = read<float>(ctx, wt, uint64_t{s.tokens} * s.used);
    double wrong = 0;
    for (uint32_t t = 0; t < s.tokens; ++t) {
      const float* row = scores.data() + uint64_t{t} * s.experts;
      std::vector<uint32_t> order(s.experts);
      std::iota(order.begin(), order.end(), 0u);
      const auto key = [&](uint32_t e) { return std::isnan(row[e]) ? -INFINITY : row[e]; };
      std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t c) { return key(a) > key(c); });
      double sum = 0;
      for (uint32_t j = 0; j < s.used; ++j) sum += std::exp(static_cast<double>(key(order[j])) - key(order[0]));
      for (uint32_t j = 0; j < s.used; ++j) {
        const double want = std::exp(static_cast<double>(key(order[j])) - key(order[0])) / sum;
        wrong += got_sel[t * s.used + j] != order[j];
        wrong += std::abs(got_w[t * s.used + j] - want) > 1e-6;
      }
    }
    add_case(r, wrong);
  }
}

namespace {

// Groups sel (pair -> expert) into tiles on the GPU, as a chunk's step does:
// the buffer moe_group.comp writes, (tile, 2) then the pair order from 2 * tiles.
vk::GpuBuffer group_pairs(vk::Context& ctx, const vk::GpuBuffer& sel, uint32_t pairs, uint32_t experts,
                          uint32_t tiles) {
  auto grp = zero_buffer(ctx, (2ull * tiles + pairs) * 4, "tiles");
  const vk::GpuBuffer* b[] = {&sel, &grp};
  dispatch_once(ctx, {"moe_group", 2, sizeof(model::MoeGroupPC), {256, 1, 1}, {}}, b,
                model::MoeGroupPC{pairs, experts, model::kMoeTilePairs, tiles}, {1, 1, 1});
  return grp;
}

}  // namespace

// moe_group: the pairs of each expert in their order, experts in theirs, cut
// into tiles of at most kMoeTilePairs pairs of one expert, then empty tiles;
// one pair, one expert for all, experts with no pair, more pairs than one
// staging pass holds, 256 experts. Error: misplaced pairs and wrong tiles.
void check_moe_group(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  r.tolerance = 0;
  struct Shape {
    uint32_t pairs, experts;
  };
  std::vector<Shape> shapes = {{1, 1}, {7, 1}, {40, 3}, {130, 32}, {300, 256}};
  if (!o.quick) shapes.push_back({2500, 32});  // three staging passes of 1024
  uint32_t seed = 85;
  for (const Shape s : shapes) {
    std::vector<uint32_t> sel(s.pairs);
    for (uint32_t p = 0; p < s.pairs; ++p) sel[p] = (p * 2654435761u + seed) % s.experts % (s.experts / 2 + 1);
    ++seed;
    const uint32_t tiles = model::moe_max_tiles(s.pairs, s.experts);
    const auto sb = device_buffer(ctx, sel, "sel");
    const auto got = read<uint32_t>(ctx, group_pairs(ctx, sb, s.pairs, s.experts, tiles), 2ull * tiles + s.pairs);
    std::vector<uint32_t> order(s.pairs);  // what a stable sort by expert gives
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return sel[a] < sel[b]; });
    double wrong = 0;
    for (uint32_t i = 0; i < s.pairs; ++i) wrong += got[2 * tiles + i] != order[i];
    uint32_t t = 0;  // the tiles, expert by expert
    for (uint32_t i = 0; i < s.pairs; ++t) {
      uint32_t n = 1;
      while (n < model::kMoeTilePairs && i + n < s.pairs && sel[order[i + n]] == sel[order[i]]) ++n;
      wrong += t >= tiles || got[2 * t] != i || got[2 * t + 1] != n;
      i += n;
    }
    for (; t < tiles; ++t) wrong += got[2 * t + 1] != 0;
    add_case(r, wrong);
  }
}

// moe_matmul_<type>: out[p] = W[e(p)] x[row(p)] + bias[e(p)] for every (token,
// slot) pair, input rows per token (gate/up) or per pair (down); odd row counts,
// the last expert, repeated experts, no bias. Each pair alone (one-token steps)
// and in tiles of one expert's pairs grouped by moe_group (chunks).
void check_moe_matmul(vk::Context& ctx, std::string_view variant, const CheckOptions& o, VariantResult& r) {
  const model::GgmlType t = weight_type(variant);
  const uint32_t block = std::max<uint32_t>(model::block_weights(t), 32);
  r.tolerance = 2e-5;  // |got - want| / (1 + sum of |terms|)
  struct Shape {
    uint32_t experts, rows, tokens, slots;
    bool per_pair, bias;
  };
  // The last: tiles of 8 pairs and part-filled ones.
  std::vector<Shape> shapes = {{4, 5, 3, 2, false, true}, {3, 2, 2, 3, true, false}, {3, 3, 11, 2, false, true}};
  if (!o.quick) shapes.push_back({8, 67, 9, 4, true, true});
  uint32_t seed = 80;
  for (const Shape& s : shapes) {
    const uint32_t k = (o.quick ? 1 : 2) * block, pairs = s.tokens * s.slots;
    const auto bytes = random_weights(t, uint64_t{s.experts} * s.rows, k, seed++);
    const model::Tensor w{"experts", t, uint64_t{s.experts} * s.rows, k, bytes};
    const model::GpuTensor g = model::upload_tensor(ctx, w);
    const auto x = random_floats(uint64_t{s.per_pair ? pairs : s.tokens} * k, seed++);
    const auto bias = random_floats(uint64_t{s.experts} * s.rows, seed++);
    std::vector<uint32_t> sel(pairs);
    for (uint32_t p = 0; p < pairs; ++p) sel[p] = (p * 7 + p / s.slots) % s.experts;
    sel[pairs - 1] = s.experts - 1;
    // x (token | pair, k), bias (expert, row), out (pair, row), sel (pair)
    const auto xb = device_buffer(ctx, x, "x"), bb = device_buffer(ctx, bias, "bias"),
               sb = device_buffer(ctx, sel, "sel");
    std::vector<double> want(uint64_t{pairs} * s.rows), mag(want.size());
    for (uint32_t p = 0; p < pairs; ++p) {
      const uint32_t row = s.per_pair ? p : p / s.slots;
      const std::span<const float> xr(x.data() + uint64_t{row} * k, k);
      for (uint32_t n = 0; n < s.rows; ++n) {
        const auto wr = ref::dequantize_row(w, uint64_t{sel[p]} * s.rows + n);
        double& y = want[uint64_t{p} * s.rows + n];
        y = s.bias ? bias[uint64_t{sel[p]} * s.rows + n] : 0.0;
        double& m = mag[uint64_t{p} * s.rows + n];
        m = std::abs(y);
        for (uint32_t c = 0; c < k; ++c) {
          y += static_cast<double>(wr[c]) * xr[c];
          m += std::abs(static_cast<double>(wr[c]) * xr[c]);
        }
      }
    }
    for (const uint32_t tile_pairs : {1u, model::kMoeTilePairs}) {
      const uint32_t tiles = tile_pairs == 1 ? pairs : model::moe_max_tiles(pairs, s.experts);
      const auto grp = tile_pairs == 1 ? zero_buffer(ctx, 4, "tiles") : group_pairs(ctx, sb, pairs, s.experts, tiles);
      const auto out = zero_buffer(ctx, uint64_t{pairs} * s.rows * 4, "out");
      const vk::GpuBuffer* b[] = {&xb, &g.buffer, &bb, &out, &sb, &grp};
      dispatch_once(ctx,
                    {shader_name("moe_matmul", variant), 6, sizeof(model::MoeMatmulPC), {model::matmul_group(k), 1, 1},
                     {{3, model::kMatmulRows}, {4, tile_pairs}}},
                    b, model::MoeMatmulPC{s.rows, k, g.row_bytes, s.slots, s.per_pair, s.bias, 2 * tiles, 0},
                    {vk::ceil_div(s.rows, model::kMatmulRows), tiles, 1});
      const auto got = read<float>(ctx, out, uint64_t{pairs} * s.rows);
      double err = 0;
      for (size_t i = 0; i < want.size(); ++i) err = std::max(err, scaled_error(got[i], want[i], mag[i]));
      add_case(r, err);
    }
  }
}

// moe_combine: x[t] += sum over t's slots of weight * y[t, slot]; odd dims.
void check_moe_combine(vk::Context& ctx, std::string_view, const CheckOptions&, VariantResult& r) {
  r.tolerance = 1e-6;  // |got - want| / (1 + sum of |terms|)
  uint32_t seed = 90;
  for (const auto [tokens, dim, slots] : {std::array<uint32_t, 3>{1, 4, 1}, {3, 130, 4}, {5, 67, 2}}) {
    const auto x = random_floats(uint64_t{tokens} * dim, seed++), y = random_floats(uint64_t{tokens} * slots * dim, seed++),
               wt = random_floats(uint64_t{tokens} * slots, seed++, 0.0f, 1.0f);
    // x (token, dim), y (token, slot, dim), wt (token, slot)
    const auto xb = device_buffer(ctx, x, "x"), yb = device_buffer(ctx, y, "y"), wb = device_buffer(ctx, wt, "w");
    const vk::GpuBuffer* b[] = {&xb, &yb, &wb};
    dispatch_once(ctx, {"moe_combine", 3, sizeof(model::MoeCombinePC), {model::kElementwiseGroup, 1, 1}, {}}, b,
                  model::MoeCombinePC{tokens, dim, slots, 0}, {vk::ceil_div(tokens * dim, model::kElementwiseGroup), 1, 1});
    const auto got = read<float>(ctx, xb, uint64_t{tokens} * dim);
    double err = 0;
    for (uint32_t t = 0; t < tokens; ++t)
      for (uint32_t d = 0; d < dim; ++d) {
        double want = x[t * dim + d], mag = std::abs(want);
        for (uint32_t j = 0; j < slots; ++j) {
          const double term = static_cast<double>(wt[t * slots + j]) * y[(uint64_t{t} * slots + j) * dim + d];
          want += term;
          mag += std::abs(term);
        }
        err = std::max(err, scaled_error(got[t * dim + d], want, mag));
      }
    add_case(r, err);
  }
}

}  // namespace sinkstream::check
