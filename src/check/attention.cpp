// Kernel checks of the KV cache and attention kernels, through the cache's own
// recorder (kv::KvCache) against the paper-literal CPU reference
// (ref::ReferenceStream, double): sinks, windows that wrap, GQA ratios, head
// dims, learned sinks, positions deep into a stream, one-token and chunk steps.
// Tolerances (as tests/test_attention.cpp): f32 KV 2e-4 absolute on outputs of
// magnitude <= 1 with queries up to 3 (sharp softmax); f16 KV 4e-3 (the GPU
// rounds K/V to half, the reference does not); q8_0 KV TOL_Q8 (the reference
// quantises K/V as the GPU stores them, so what is left is float rounding and the
// rare quant that float and double round to neighbouring integers).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "kv/kv_cache.hpp"
#include "ref/attention_ref.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::check {
namespace {

struct Run {
  StreamConfig cfg;
  uint32_t tokens = 60;
  std::vector<uint32_t> chunks = {1};  // step sizes, cycled
  uint64_t start = 0;
  bool subgroup_decode = true;  // one-token steps on attn_decode where it runs
  bool coop = false;            // chunk steps on attn_coop where it runs
  uint32_t probe_first = 0;     // > 0: compare the probe (attn_probe) after one-token steps
  float q_gain = 3.0f;          // queries in [-q_gain, q_gain]: larger, a sharper softmax
};

StreamConfig shape(uint32_t heads, uint32_t kv_heads, uint32_t head_dim, uint32_t sinks,
                   uint32_t window, KvType kv) {
  StreamConfig c;
  c.layers = 1;
  c.heads = heads;
  c.kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.sinks = sinks;
  c.window = window;
  c.kv_type = kv;
  c.max_chunk = 32;
  return c;
}

KvType kv_of(std::string_view variant) {
  const auto t = parse_kv_type(variant);
  if (!t) throw Error("internal error: no KV type '" + std::string(variant) + "'");
  return *t;
}

// The GPU side of a step, as sinkstream::AttentionStream records it.
struct GpuStream {
  GpuStream(vk::Context& ctx, const Run& r)
      : cache(ctx, r.cfg, r.start), cmd(ctx), probe_first(r.probe_first) {
    const auto& c = r.cfg;
    const uint64_t qf = uint64_t{c.layers} * c.max_chunk * c.heads * c.head_dim;
    const uint64_t kvf = uint64_t{c.layers} * c.max_chunk * c.kv_heads * c.head_dim;
    q = ctx.create_buffer(qf * 4, vk::MemoryUse::upload, "q");  // (layer, token, head, head_dim)
    k = ctx.create_buffer(kvf * 4, vk::MemoryUse::upload,
                          "k");  // (layer, token, kv_head, head_dim)
    v = ctx.create_buffer(kvf * 4, vk::MemoryUse::upload, "v");       // like k
    out = ctx.create_buffer(qf * 4, vk::MemoryUse::readback, "out");  // like q
    sinks = ctx.create_buffer(uint64_t{c.layers} * c.heads * 4, vk::MemoryUse::upload,
                              "sink logits");  // (layer, head)
    probe = ctx.create_buffer(std::max(1u, c.layers * c.heads * r.probe_first) * 4ull,
                              vk::MemoryUse::readback,
                              "probe");  // (layer, head, first)
    std::memset(sinks.mapped(), 0, sinks.size());
    cache.use_subgroup_decode(r.subgroup_decode);
    cache.use_coop_prefill(r.coop);
    cache.bind({&q, &k, &v, &out, &sinks});
    if (r.probe_first) cache.enable_probe(probe, sinks, r.probe_first);
  }
  void step(const StreamConfig& c, const std::vector<float>& qh, const std::vector<float>& kh,
            const std::vector<float>& vh, uint32_t n, bool with_probe) {
    std::memcpy(q.mapped(), qh.data(), qh.size() * 4);
    std::memcpy(k.mapped(), kh.data(), kh.size() * 4);
    std::memcpy(v.mapped(), vh.data(), vh.size() * 4);
    cache.prepare(n);
    cmd.begin();
    const uint32_t q_row = c.heads * c.head_dim, kv_row = c.kv_heads * c.head_dim;
    for (uint32_t l = 0; l < c.layers; ++l) {
      kv::LayerIo io;
      io.q_offset = io.out_offset = l * n * q_row;
      io.q_stride = io.out_stride = q_row;
      io.k_offset = io.v_offset = l * n * kv_row;
      io.kv_stride = kv_row;
      io.sink_offset = l * c.heads;
      cache.record_layer(cmd, l, n, io);
      if (with_probe) cache.record_probe(cmd, l, io, l * c.heads * probe_first);
    }
    cmd.host_read_barrier();
    cmd.end();
    cmd.submit_and_wait();
    cache.advance(n);
  }
  kv::KvCache cache;
  vk::CommandBuffer cmd;
  uint32_t probe_first;
  vk::GpuBuffer q, k, v, out, sinks, probe;
};

// Streams r.tokens random tokens through the GPU cache and the reference; the
// worst |gpu - reference| over every output (or every probed weight).
double stream_error(vk::Context& ctx, const Run& r) {
  const StreamConfig& c = r.cfg;
  GpuStream gpu(ctx, r);
  ref::ReferenceStream reference(c, r.start);
  if (c.learned_sinks) {
    const auto logits = random_floats(uint64_t{c.layers} * c.heads, 99, -1.0f, 3.0f);
    std::memcpy(gpu.sinks.mapped(), logits.data(), logits.size() * 4);
    reference.set_sink_logits(logits);
  }
  double worst = 0;
  uint32_t seed = 1, done = 0;
  for (size_t i = 0; done < r.tokens; ++i) {
    const uint32_t n = std::min(r.chunks[i % r.chunks.size()], r.tokens - done);
    const uint64_t qn = uint64_t{c.layers} * n * c.heads * c.head_dim,
                   kvn = uint64_t{c.layers} * n * c.kv_heads * c.head_dim;
    const auto q = random_floats(qn, seed++, -r.q_gain, r.q_gain), k = random_floats(kvn, seed++),
               v = random_floats(kvn, seed++);
    const bool probe = r.probe_first && n == 1;
    gpu.step(c, q, k, v, n, probe);
    const auto want = reference.step(q, k, v, n);
    done += n;
    if (probe) {
      const auto* p = static_cast<const float*>(gpu.probe.mapped());
      for (uint32_t l = 0; l < c.layers; ++l) {
        const auto& probs = reference.last_attention(l);  // (head, kept token)
        const size_t kept = probs.size() / c.heads;
        for (uint32_t h = 0; h < c.heads; ++h)
          for (uint32_t j = 0; j < std::min<size_t>(r.probe_first, kept); ++j)
            worst = std::max(
                worst, std::abs(p[(l * c.heads + h) * r.probe_first + j] - probs[h * kept + j]));
      }
      continue;
    }
    const auto* got = static_cast<const float*>(gpu.out.mapped());
    for (size_t j = 0; j < qn; ++j) worst = std::max(worst, std::abs(got[j] - want[j]));
  }
  return worst;
}

void run_all(vk::Context& ctx, const std::vector<Run>& runs, VariantResult& r) {
  for (const Run& run : runs) {
    r.max_error = std::max(r.max_error, stream_error(ctx, run));
    ++r.cases;
  }
}

// Queries this large put scores in the hundreds (f32: the softmax is all but
// one-hot). f16 KV stays milder: the reference's keys are not rounded to half,
// and a sharp softmax amplifies that rounding (gain 40 gave 3.3e-3 of 4e-3).
float sharp_gain(KvType kv) {
  return kv == KvType::f32 ? 40.0f : 12.0f;
}

bool has_subgroup_decode(vk::Context& ctx, const StreamConfig& c) {
  return kv::decode_shape(ctx.info(), c).ok;
}

}  // namespace

double kv_tolerance(KvType t) {
  return t == KvType::f32 ? 2e-4 : t == KvType::f16 ? 4e-3 : 2e-3;
}
double probe_tolerance(KvType t) {
  return t == KvType::f32 ? 1e-5 : t == KvType::f16 ? 2e-3 : 1e-3;
}

// kv_append_<kv>: RoPE and the ring write of every step kind: one-token steps,
// chunks that fill the sinks and wrap the window, a stream starting at 1e9.
void check_kv_append(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                     VariantResult& r) {
  const KvType kv = kv_of(variant);
  r.tolerance = kv_tolerance(kv);
  std::vector<Run> runs = {{shape(4, 2, 8, 4, 7, kv), 45, {1}},
                           {shape(4, 2, 16, 3, 7, kv), 60, {5, 1, 3, 12}},
                           {shape(4, 1, 64, 4, 20, kv), 50, {1, 7}, 1000000000ull},
                           {shape(2, 2, 48, 2, 9, kv), 30, {1, 6}}};  // q8_0: a 16-value last block
  if (!o.quick) {
    Run neox{shape(4, 2, 32, 4, 24, kv), 70, {1, 8}};
    neox.cfg.rope.style = RopeStyle::neox;
    neox.cfg.rope.rotary_dims = 16;  // partial rotary
    runs.push_back(neox);
  }
  run_all(ctx, runs, r);
}

// attn_decode_<kv>: the subgroup decode kernel (one-token steps), where the device runs it.
void check_attn_decode(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                       VariantResult& r) {
  const KvType kv = kv_of(variant);
  r.tolerance = kv_tolerance(kv);
  std::vector<Run> runs;
  for (uint32_t hd :
       o.quick ? std::vector<uint32_t>{8, 64} : std::vector<uint32_t>{8, 40, 64, 128, 256})
    for (uint32_t group : {1u, 4u, 8u}) {
      if (!has_subgroup_decode(ctx, shape(group * 2, 2, hd, 4, 9, kv))) continue;
      runs.push_back({shape(group * 2, 2, hd, group == 4 ? 0 : 4, 9, kv), 30, {1}});
    }
  if (runs.empty())
    throw NotApplicable("no subgroup shuffles of a usable size: decode takes attn_split");
  Run learned{shape(8, 2, 32, 0, 40, kv), 60, {1}};
  learned.cfg.learned_sinks = true;
  if (has_subgroup_decode(ctx, learned.cfg)) runs.push_back(learned);
  Run sharp{shape(4, 2, 32, 4, 12, kv), 40, {1}};
  sharp.q_gain = sharp_gain(kv);
  if (has_subgroup_decode(ctx, sharp.cfg)) runs.push_back(sharp);
  Run capped = sharp;  // gemma2's soft-capping, on scores large enough to be capped
  capped.cfg.softcap = 5.0f;
  if (has_subgroup_decode(ctx, capped.cfg)) runs.push_back(capped);
  if (!o.quick) runs.push_back({shape(4, 2, 16, 4, 400, kv), 450, {1}});  // many splits, wrapped
  run_all(ctx, runs, r);
}

// attn_split_<kv>: the portable kernel, for one-token steps (forced off the
// subgroup kernel) and for chunks (forced off cooperative matrices).
void check_attn_split(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                      VariantResult& r) {
  const KvType kv = kv_of(variant);
  r.tolerance = kv_tolerance(kv);
  std::vector<Run> runs;
  for (uint32_t window : {1u, 7u, 37u})
    runs.push_back({shape(4, 2, 8, 4, window, kv), 3 * window + 12, {1, 5}, 0, false});
  runs.push_back({shape(8, 1, 64, 0, 30, kv), 70, {32, 1, 9}, 0, false});
  runs.push_back({shape(2, 2, 4, 1, 10, kv), 30, {3, 1}, 0, false});  // head_dim 4, no GQA
  runs.push_back({shape(4, 2, 40, 2, 9, kv), 30, {4, 1}, 0, false});  // q8_0: an 8-value last block
  Run sharp{shape(4, 2, 32, 4, 12, kv), 40, {1, 6}, 0, false};
  sharp.q_gain = sharp_gain(kv);
  runs.push_back(sharp);
  Run capped = sharp;  // gemma2's soft-capping
  capped.cfg.softcap = 5.0f;
  runs.push_back(capped);
  if (!o.quick) runs.push_back({shape(4, 2, 256, 4, 50, kv), 80, {1, 13}, 0, false});
  run_all(ctx, runs, r);
}

// attn_reduce: the combination of the splits (and the learned sink's share) of
// chunk steps and of portable decode steps over a window long enough to split.
void check_attn_reduce(vk::Context& ctx, std::string_view, const CheckOptions& o,
                       VariantResult& r) {
  r.tolerance = kv_tolerance(KvType::f32);
  const uint32_t window = o.quick ? 300 : 1000;
  Run plain{shape(2, 1, 8, 4, window, KvType::f32), window + 40, {32, 1, 17}, 0, false};
  Run learned{shape(8, 2, 32, 2, 200, KvType::f32), 260, {32, 1, 7}, 0, false};
  learned.cfg.learned_sinks = true;
  run_all(ctx, {plain, learned}, r);
}

// attn_coop_f16: chunk attention on cooperative matrices, where the device has them.
void check_attn_coop(vk::Context& ctx, std::string_view, const CheckOptions& o, VariantResult& r) {
  if (!ctx.info().coopmat_prefill)
    throw NotApplicable("no NV cooperative matrices: chunks take attn_split");
  r.tolerance = kv_tolerance(KvType::f16);
  struct Shape {
    uint32_t group, head_dim;
    uint64_t start;
  };
  std::vector<Shape> shapes = {{4, 64, 0}, {8, 64, 1000000000ull}, {2, 16, 0}};
  if (!o.quick) shapes.push_back({1, 128, 0});
  std::vector<Run> runs;
  for (const Shape& s : shapes) {
    Run run{shape(s.group * 2, 2, s.head_dim, 4, 50, KvType::f16),
            155,
            {32, 7, 32, 1, 32, 32, 19},
            s.start,
            true,
            true};
    run.cfg.learned_sinks = s.group == 8;
    run.cfg.softcap = s.group == 2 ? 2.0f : 0.0f;  // gemma2's soft-capping
    kv::KvCache probe(ctx, run.cfg, 0);
    probe.use_coop_prefill(true);
    if (!probe.coop_prefill()) continue;
    runs.push_back(run);
  }
  if (runs.empty())
    throw NotApplicable("no attention shape fits this device's cooperative-matrix tiles");
  run_all(ctx, runs, r);
}

// attn_probe_<kv>: the attention weights on the first tokens (`sinkstream sinks`).
void check_attn_probe(vk::Context& ctx, std::string_view variant, const CheckOptions&,
                      VariantResult& r) {
  const KvType kv = kv_of(variant);
  r.tolerance = probe_tolerance(kv);  // absolute, on softmax weights
  Run plain{shape(4, 2, 32, 4, 60, kv), 40, {1}};
  plain.probe_first = 3;
  Run learned = plain;
  learned.cfg.learned_sinks = true;
  learned.cfg.sinks = 0;
  Run capped = plain;
  capped.cfg.softcap = 0.5f;
  run_all(ctx, {plain, learned, capped}, r);
}

}  // namespace sinkstream::check
