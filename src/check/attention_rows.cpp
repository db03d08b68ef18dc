// Kernel checks of the batched decode step (kv_append_rows.comp + attn_rows.comp,
// kv::BatchDecode): several streams' caches, each at its own point (sinks
// filling, window wrapping, a different window), one token each per step, every
// row against its own CPU reference stream. Where the device has buffer
// addresses and the subgroup decode kernel; elsewhere the scheduler records each
// cache's own step (attn_decode / attn_split, checked apart).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "check/families.hpp"
#include "check/harness.hpp"
#include "kv/batch_decode.hpp"
#include "ref/attention_ref.hpp"

namespace sinkstream::check {
namespace {

// Rows join the batch at different steps, so the streams' rings are at
// different points (sinks filling, wrapped, not yet wrapped) in every step; all
// of their K/V is written by kv_append_rows. The worst |gpu - reference| output.
double batch_error(vk::Context& ctx, KvType kv, bool learned, uint32_t steps) {
  StreamConfig shape;
  shape.layers = 2;
  shape.heads = 8;
  shape.kv_heads = 2;
  shape.head_dim = 32;
  shape.kv_type = kv;
  shape.max_chunk = 1;
  shape.learned_sinks = learned;
  struct Row {
    uint32_t sinks, window, joins;  // the step at which the stream joins the batch
  };
  const Row rows[] = {{4, 7, 0}, {0, 20, 5}, {2, 5, 11}};
  const uint32_t n = 3, qd = shape.heads * shape.head_dim, kvd = shape.kv_heads * shape.head_dim;
  auto batch = kv::BatchDecode::make(ctx, shape, n);
  if (!batch)
    throw NotApplicable(
        "no buffer addresses or no subgroup decode kernel: one dispatch per stream");
  const auto q =
      ctx.create_buffer(uint64_t{n} * qd * 4, vk::MemoryUse::upload, "q");  // (row, head, head_dim)
  const auto k = ctx.create_buffer(uint64_t{n} * kvd * 4, vk::MemoryUse::upload,
                                   "k");  // (row, kv_head, head_dim)
  const auto v = ctx.create_buffer(uint64_t{n} * kvd * 4, vk::MemoryUse::upload, "v");  // like k
  const auto out =
      ctx.create_buffer(uint64_t{n} * qd * 4, vk::MemoryUse::readback, "out");  // like q
  const auto sinks = ctx.create_buffer(uint64_t{shape.layers} * shape.heads * 4,
                                       vk::MemoryUse::upload, "sinks");  // (layer, head)
  const auto logits =
      random_floats(uint64_t{shape.layers} * shape.heads, 98, -1.0f, 3.0f);  // (layer, head)
  std::memcpy(sinks.mapped(), logits.data(), logits.size() * 4);
  batch->bind({&q, &k, &v, &out, &sinks});
  std::vector<std::unique_ptr<kv::KvCache>> caches;
  std::vector<ref::ReferenceStream> refs;
  for (const Row& r : rows) {
    StreamConfig c = shape;
    c.sinks = r.sinks;
    c.window = r.window;
    caches.push_back(std::make_unique<kv::KvCache>(ctx, c, 0));
    refs.emplace_back(c);
    if (learned) refs.back().set_sink_logits(logits);
  }
  double worst = 0;
  uint32_t seed = 1;
  vk::CommandBuffer cmd(ctx);
  for (uint32_t s = 0; s < steps; ++s) {
    std::vector<const kv::KvCache*> active;
    std::vector<uint32_t> which;
    for (uint32_t i = 0; i < n; ++i)
      if (rows[i].joins <= s) {
        caches[i]->prepare(1);
        active.push_back(caches[i].get());
        which.push_back(i);
      }
    batch->set_rows(active);
    for (uint32_t l = 0; l < shape.layers; ++l) {
      const auto qs = random_floats(active.size() * qd, seed++, -3.0f, 3.0f);
      const auto ks = random_floats(active.size() * kvd, seed++),
                 vs = random_floats(active.size() * kvd, seed++);
      std::memcpy(q.mapped(), qs.data(), qs.size() * 4);
      std::memcpy(k.mapped(), ks.data(), ks.size() * 4);
      std::memcpy(v.mapped(), vs.data(), vs.size() * 4);
      cmd.begin();
      batch->record_layer(cmd, l, l * shape.heads);
      cmd.host_read_barrier();
      cmd.end();
      cmd.submit_and_wait();
      const auto* got = static_cast<const float*>(out.mapped());
      for (size_t row = 0; row < active.size(); ++row) {
        const auto want = refs[which[row]].append_and_attend(l, std::span(qs).subspan(row * qd, qd),
                                                             std::span(ks).subspan(row * kvd, kvd),
                                                             std::span(vs).subspan(row * kvd, kvd));
        for (uint32_t j = 0; j < qd; ++j)
          worst = std::max(worst, std::abs(got[row * qd + j] - want[j]));
      }
    }
    for (uint32_t i : which) caches[i]->advance(1);
  }
  return worst;
}

void run_batch(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
               VariantResult& r) {
  const KvType kv = parse_kv_type(variant).value();
  r.tolerance = kv_tolerance(kv);  // as attn_decode
  for (bool learned : {false, true}) {
    r.max_error = std::max(r.max_error, batch_error(ctx, kv, learned, o.quick ? 24 : 40));
    ++r.cases;
  }
}

}  // namespace

// The two kernels of a batched step run together: each entry runs the batch.
void check_kv_append_rows(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                          VariantResult& r) {
  run_batch(ctx, variant, o, r);
}
void check_attn_rows(vk::Context& ctx, std::string_view variant, const CheckOptions& o,
                     VariantResult& r) {
  run_batch(ctx, variant, o, r);
}

}  // namespace sinkstream::check
