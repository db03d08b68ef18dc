// Kernel checks of the elementwise and row kernels: embedding lookup, RMSNorm,
// SwiGLU, argmax, the NaN/Inf guard, copy and the split-K reduction.
#include <algorithm>
#include <cmath>
#include <limits>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "engine/forward_layer.hpp"
#include "engine/push_constants.hpp"
#include "format/quant_types.hpp"
#include "ref/model_ref.hpp"

namespace sinkstream::check {
namespace {

model::Tensor f32_tensor(const std::vector<float>& w, uint64_t rows, uint64_t cols) {
  return {"w",
          model::GgmlType::f32,
          rows,
          cols,
          {reinterpret_cast<const uint8_t*>(w.data()), w.size() * 4}};
}

}  // namespace

// embed_<type>: out[m] = dequantised row ids[m]. Exact: the reference decodes the same bytes.
void check_embed(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                 VariantResult& r) {
  const model::GgmlType t = weight_type(variant);
  const uint32_t block = model::block_weights(t) < 32 ? 32 : model::block_weights(t);
  r.tolerance = 0;
  for (uint32_t blocks : o.quick ? std::vector<uint32_t>{1} : std::vector<uint32_t>{1, 3}) {
    const uint32_t vocab = 37, dim = blocks * block, n = 5;
    const auto bytes = random_weights(t, vocab, dim, 11 + blocks);
    const model::Tensor w{"embd", t, vocab, dim, bytes};
    const model::GpuTensor g = model::upload_tensor(ctx, w);
    const std::vector<uint32_t> ids = {0, vocab - 1, 17, 17, 3};      // first, last, repeated rows
    const auto id_buf = device_buffer(ctx, ids, "ids");               // (token)
    const auto out = zero_buffer(ctx, uint64_t{n} * dim * 4, "out");  // (token, dim)
    const vk::GpuBuffer* b[] = {&id_buf, &g.buffer, &out};
    dispatch_once(ctx,
                  {shader_name("embed", variant),
                   3,
                   sizeof(model::EmbedPC),
                   {model::kElementwiseGroup, 1, 1},
                   {}},
                  b, model::EmbedPC{n, dim, g.row_bytes, 1.0f},
                  {vk::ceil_div(n * dim / 4, model::kElementwiseGroup), 1, 1});
    const auto got = read<float>(ctx, out, uint64_t{n} * dim);
    double err = 0;
    for (uint32_t m = 0; m < n; ++m) {
      const auto want = ref::dequantize_row(w, ids[m]);
      for (uint32_t c = 0; c < dim; ++c)
        err = std::max<double>(err, std::abs(got[m * dim + c] - want[c]));
    }
    add_case(r, err);
  }
}

// rmsnorm: out = x / sqrt(mean(x^2) + eps) * w per row, with and without the row gather;
// odd dims, one element, rows of large and of tiny values; fewer workgroups than
// rows (the kernel loops: qwen3's per-head norms of a long chunk), in place, and
// added into the output (gemma's post-norms into the residual).
void check_rmsnorm(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  struct Shape {
    uint32_t rows, dim;
    float scale;
    bool gather;
    uint32_t groups = 0;  // 0: one per row
    bool in_place = false;
    bool accumulate = false;
  };
  std::vector<Shape> shapes = {{3, 130, 1.0f, false},     {1, 1, 1.0f, false},
                               {4, 7, 3000.0f, true},     {2, 33, 1e-3f, false},
                               {37, 32, 1.0f, false, 5, true}, {5, 64, 1.0f, false, 0, false, true}};
  if (!o.quick) shapes.push_back({9, 4096, 1.0f, true});
  r.tolerance = 1e-5;  // |got - want| / (1 + |want|)
  uint32_t seed = 1;
  for (const Shape& s : shapes) {
    const auto x = random_floats(uint64_t{s.rows} * s.dim, seed++, -s.scale, s.scale);
    const auto w = random_floats(s.dim, seed++, -2.0f, 2.0f);
    std::vector<uint32_t> rows(s.rows);
    for (uint32_t i = 0; i < s.rows; ++i) rows[i] = s.gather ? s.rows - 1 - i : i;
    // x (row, dim), w (dim), rows (out row): the x row each output row normalises
    const auto xb = device_buffer(ctx, x, "x"), wb = device_buffer(ctx, w, "w"),
               rb = device_buffer(ctx, rows, "rows");
    // (row, dim): zero, or the residual that accumulate adds to
    const auto residual = s.accumulate ? random_floats(uint64_t{s.rows} * s.dim, seed++, -4.0f, 4.0f)
                                       : std::vector<float>(uint64_t{s.rows} * s.dim, 0.0f);
    const auto out = device_buffer(ctx, residual, "out");
    const vk::GpuBuffer& dst = s.in_place ? xb : out;
    const vk::GpuBuffer* b[] = {&xb, &wb, &dst, &rb};
    const float eps = 1e-5f;
    model::RmsNormPC pc{s.rows, s.dim, eps, s.gather};
    pc.accumulate = s.accumulate;
    dispatch_once(ctx, {"rmsnorm", 4, sizeof(model::RmsNormPC), {model::kMatmulGroup, 1, 1}, {}}, b, pc,
                  {s.groups ? s.groups : s.rows, 1, 1});
    const auto got = read<float>(ctx, dst, uint64_t{s.rows} * s.dim);
    const model::Tensor wt = f32_tensor(w, 1, s.dim);
    double err = 0;
    for (uint32_t i = 0; i < s.rows; ++i) {
      const auto want =
          ref::rmsnorm(std::span(x).subspan(uint64_t{rows[i]} * s.dim, s.dim), wt, eps);
      for (uint32_t c = 0; c < s.dim; ++c) {
        const double base = s.in_place ? 0.0 : residual[uint64_t{i} * s.dim + c];
        err = std::max(err, scaled_error(got[uint64_t{i} * s.dim + c], base + want[c], std::abs(base + want[c])));
      }
    }
    add_case(r, err);
  }
}

// swiglu: gate = silu(gate) * up, or gelu(gate) * up (gemma's GeGLU, tanh form),
// or gpt-oss's clamped form (limit 7, alpha 1.702; ups past the limit both ways);
// a lone element, odd counts, gates where exp() overflows.
void check_swiglu(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  r.tolerance = 1e-5;  // |got - want| / (1 + |want|)
  uint32_t seed = 20;
  for (uint32_t n : o.quick ? std::vector<uint32_t>{1, 67} : std::vector<uint32_t>{1, 67, 4099}) {
    for (uint32_t gelu : {0u, 1u, 2u})  // 2: gpt-oss's clamped SwiGLU
    for (float range : {4.0f, 120.0f}) {
      const auto g = random_floats(n, seed++, -range, range),
                 u = random_floats(n, seed++, gelu == 2 ? -10.0f : -2.0f, gelu == 2 ? 10.0f : 2.0f);
      const auto gb = device_buffer(ctx, g, "gate"), ub = device_buffer(ctx, u, "up");  // (n) each
      const vk::GpuBuffer* b[] = {&gb, &ub};
      dispatch_once(ctx,
                    {"swiglu", 2, sizeof(model::SwigluPC), {model::kElementwiseGroup, 1, 1}, {}}, b,
                    model::SwigluPC{n, gelu == 1, gelu == 2 ? 7.0f : 0.0f, 1.702f},
                    {vk::ceil_div(n, model::kElementwiseGroup), 1, 1});
      const auto got = read<float>(ctx, gb, n);
      double err = 0;
      for (uint32_t i = 0; i < n; ++i) {
        const double a = g[i];
        const double act = gelu ? 0.5 * a * (1.0 + std::tanh(0.7978845608028654 * (a + 0.044715 * a * a * a)))
                                : a / (1.0 + std::exp(-a));
        const double g7 = std::min(a, 7.0), u7 = std::clamp<double>(u[i], -7.0, 7.0);
        const double want = gelu == 2 ? g7 / (1.0 + std::exp(-1.702 * g7)) * (u7 + 1.0) : act * u[i];
        err = std::max(err, scaled_error(got[i], want, std::abs(want)));
      }
      add_case(r, err);
    }
  }
}

// softcap: x = cap * tanh(x / cap) in place; values far past the cap both ways.
void check_softcap(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  r.tolerance = 1e-5;  // |got - want| / (1 + |want|)
  uint32_t seed = 30;
  for (uint32_t n : o.quick ? std::vector<uint32_t>{1, 67} : std::vector<uint32_t>{1, 67, 4099}) {
    for (float cap : {30.0f, 0.5f}) {
      const auto x = random_floats(n, seed++, -200.0f, 200.0f);
      const auto xb = device_buffer(ctx, x, "x");  // (n)
      const vk::GpuBuffer* b[] = {&xb};
      dispatch_once(ctx, {"softcap", 1, sizeof(model::SoftcapPC), {model::kElementwiseGroup, 1, 1}, {}}, b,
                    model::SoftcapPC{n, cap, 0, 0}, {vk::ceil_div(n, model::kElementwiseGroup), 1, 1});
      const auto got = read<float>(ctx, xb, n);
      double err = 0;
      for (uint32_t i = 0; i < n; ++i) {
        const double want = cap * std::tanh(static_cast<double>(x[i]) / cap);
        err = std::max(err, scaled_error(got[i], want, std::abs(want)));
      }
      add_case(r, err);
    }
  }
}

// argmax: the index of the largest logit of a row, the lowest on ties; one logit,
// odd vocabularies, the maximum first or last, huge negative logits.
// Error: wrong indices (tolerance 0).
void check_argmax(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  r.tolerance = 0;
  uint32_t seed = 40;
  std::vector<uint32_t> sizes = {1, 255, 257};
  if (!o.quick) sizes.push_back(50001);
  for (uint32_t n : sizes) {
    const uint32_t rows = 3;  // the middle row is read: logit_row offsets must hold
    auto logits = random_floats(uint64_t{rows} * n, seed++, -30.0f, 30.0f);
    float* row = logits.data() + n;
    const uint32_t where[] = {0, n - 1, n / 2};
    const uint32_t at = where[seed % 3];
    row[at] = 1e30f;
    if (at + 7 < n) row[at + 7] = 1e30f;  // a tie: the lower index wins
    if (n > 1) row[(at + 1) % n] = -1e30f;
    const auto lb = device_buffer(ctx, logits, "logits");  // (row, vocab)
    const auto ids = zero_buffer(ctx, 16, "ids"),
               history = zero_buffer(ctx, 16, "history");  // (4) uint32 each
    const vk::GpuBuffer* b[] = {&lb, &ids, &history};
    dispatch_once(ctx, {"argmax", 3, sizeof(model::ArgmaxPC), {256, 1, 1}, {}}, b,
                  model::ArgmaxPC{n, 2, 1, 1}, {1, 1, 1});
    const auto id = read<uint32_t>(ctx, ids, 4), hist = read<uint32_t>(ctx, history, 4);
    const auto want = static_cast<uint32_t>(std::max_element(row, row + n) - row);
    add_case(r, (id[1] != want) + (hist[2] != want) + (id[0] != 0) + (hist[0] != 0));
  }
}

// check_finite: status = max(status, tag) when the data hold a NaN or an Inf
// anywhere (the first, the last float, past the grid's stride); untouched when
// all are finite, large and subnormal values included. Error: wrong verdicts.
void check_finite(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  r.tolerance = 0;
  struct Case {
    uint32_t n, bad_at;  // bad_at == n: none
    float bad;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(),
              inf = std::numeric_limits<float>::infinity();
  std::vector<Case> cases = {
      {1, 0, nan}, {1, 1, 0}, {1000, 999, -inf}, {1000, 1000, 0}, {70000, 69999, nan}};
  if (!o.quick) cases.push_back({300000, 280001, inf});
  for (const Case& c : cases) {
    auto data = random_floats(c.n, c.n, -1e38f, 1e38f);  // (b - a must stay finite)
    data[0] = 1e-40f;                                    // subnormal: finite
    if (c.bad_at < c.n) data[c.bad_at] = c.bad;
    const auto db = device_buffer(ctx, data, "data");       // (n)
    const std::vector<uint32_t> status0 = {5, 0, 0, 0};     // an earlier op's tag, lower than ours
    const auto sb = device_buffer(ctx, status0, "status");  // (4) uint32, [0] read
    const vk::GpuBuffer* b[] = {&db, &sb};
    const uint32_t groups =
        std::min<uint32_t>(vk::ceil_div(c.n, 256), 64);  // a grid-stride loop past 64 groups
    dispatch_once(ctx, {"check_finite", 2, sizeof(model::CheckFinitePC), {256, 1, 1}, {}}, b,
                  model::CheckFinitePC{c.n, 9, 0, 0}, {groups, 1, 1});
    const uint32_t want = c.bad_at < c.n ? 9 : 5;
    add_case(r, read<uint32_t>(ctx, sb, 1)[0] != want);
  }
}

// copy (the benchmarks' bandwidth yardstick): bit-exact, grid-stride past the groups.
void check_copy(vk::Context& ctx, std::string_view, const CheckOptions&, VariantResult& r) {
  r.tolerance = 0;
  for (uint32_t vec4s : {1u, 1000u, 70001u}) {
    std::vector<uint32_t> src(uint64_t{vec4s} * 4);
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint32_t>(i * 2654435761u);
    const auto sb = device_buffer(ctx, src, "src"),
               db = zero_buffer(ctx, src.size() * 4, "dst");  // (vec4s, 4) each
    const vk::GpuBuffer* b[] = {&sb, &db};
    const uint32_t pc[4] = {vec4s, 0, 0, 0};
    dispatch_once(ctx, {"copy", 2, 16, {256, 1, 1}, {}}, b, pc,
                  {std::min(vk::ceil_div(vec4s, 256), 64u), 1, 1});
    const auto got = read<uint32_t>(ctx, db, src.size());
    add_case(r, static_cast<double>(std::mismatch(got.begin(), got.end(), src.begin()).first !=
                                    got.end()));
  }
}

// matmul_reduce: out (+)= sum over splits of the partial sums (+ bias), strided output.
void check_matmul_reduce(vk::Context& ctx, std::string_view, const CheckOptions&,
                         VariantResult& r) {
  r.tolerance = 1e-6;  // |got - want| / (1 + sum |terms|)
  struct Shape {
    uint32_t m, n, splits, stride;
    bool accumulate, bias;
  };
  uint32_t seed = 60;
  for (const Shape s : {Shape{1, 1, 1, 1, false, false}, Shape{3, 130, 2, 133, true, true},
                        Shape{7, 64, 8, 64, false, true}}) {
    const uint32_t part_offset = 5, out_offset = 2, count = s.m * s.n;
    const auto part = random_floats(part_offset + uint64_t{s.splits} * count, seed++);
    const auto bias = random_floats(s.n, seed++);
    const auto out0 = random_floats(out_offset + uint64_t{s.m} * s.stride, seed++);
    // part (split, token, n) from part_offset, bias (n), out (token, stride) from out_offset
    const auto pb = device_buffer(ctx, part, "part"), bb = device_buffer(ctx, bias, "bias"),
               ob = device_buffer(ctx, out0, "out");
    const vk::GpuBuffer* b[] = {&pb, &bb, &ob};
    dispatch_once(
        ctx,
        {"matmul_reduce", 3, sizeof(model::MatmulReducePC), {model::kSplitReduceGroup, 1, 1}, {}},
        b,
        model::MatmulReducePC{s.m, s.n, s.splits, part_offset, out_offset, s.stride, s.accumulate,
                              s.bias},
        {vk::ceil_div(count, model::kSplitReduceGroup), 1, 1});
    const auto got = read<float>(ctx, ob, out0.size());
    double err = 0;
    for (uint32_t m = 0; m < s.m; ++m)
      for (uint32_t n = 0; n < s.n; ++n) {
        double want = 0, mag = 0;
        for (uint32_t k = 0; k < s.splits; ++k) {
          const double p = part[part_offset + k * count + m * s.n + n];
          want += p;
          mag += std::abs(p);
        }
        if (s.bias) want += bias[n], mag += std::abs(bias[n]);
        const size_t at = out_offset + uint64_t{m} * s.stride + n;
        if (s.accumulate) want += out0[at], mag += std::abs(out0[at]);
        err = std::max(err, scaled_error(got[at], want, mag));
      }
    add_case(r, err);
  }
}

}  // namespace sinkstream::check
