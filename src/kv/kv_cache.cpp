#include "kv/kv_cache.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>
#include <cstdlib>
#include <thread>

#include "kv/rope.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::kv {
namespace {

constexpr uint32_t kAppendGroup = 64;
constexpr uint32_t kReduceGroup = 64;
constexpr uint32_t kMaxDecodeSplits = 256;
constexpr uint32_t kMaxPrefillSplits = 4;
constexpr uint32_t kMaxRows = 16;  // (query, head) rows per split workgroup: bounds registers and compile time

using vk::ceil_div;

// Bytes of a K or V buffer of `rows` (kv_head, slot) rows: q8_0 keeps its float16
// scales in a plane after the quants (kv_storage.glsl), rounded up to whole 16-byte
// units, which the decode kernels load.
uint64_t kv_buffer_bytes(KvType t, uint64_t rows, uint32_t head_dim) {
  if (t != KvType::q8_0) return rows * kv_row_bytes(t, head_dim);
  const uint64_t scales = rows * ((head_dim + 31) / 32);
  return (rows * head_dim + 2 * scales + 15) / 16 * 16;
}

// Workgroups the split kernels aim for: a few per core on CPU drivers.
uint32_t default_target_workgroups(const vk::DeviceInfo& info) {
  return info.type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 2 * std::max(1u, std::thread::hardware_concurrency()) : 512;
}

// Shared memory of attn_split.comp for R rows (keep in sync with its declarations).
uint32_t split_shared_bytes(uint32_t rows, uint32_t hd4, uint32_t wg) {
  const uint32_t row_stride = wg + wg / rows;
  return rows * hd4 * 16 + rows * row_stride * 4 + wg * 12 + rows * 16 + wg * 16;
}

const vk::Kernel* split_kernel(vk::Context& ctx, const StreamConfig& cfg, uint32_t wg, uint32_t bq) {
  return &ctx.kernel({std::string("attn_split_") + kv_type_name(cfg.kv_type),
                      8,
                      sizeof(AttnSplitPC),
                      {wg, 1, 1},
                      {{3, cfg.head_dim / 4}, {4, cfg.heads / cfg.kv_heads}, {5, bq}}});
}

struct CacheSizes {
  uint64_t layer_bytes;    // one layer's K (or V): (kv_head, slot, head_dim) (+ q8_0 scales)
  uint64_t stage_bytes;    // (kv_head, chunk token, head_dim) (+ q8_0 scales)
  uint64_t rope_bytes;     // (token, set, rot_half) (cos, sin)
  uint32_t partial_rows;   // (query, head, split) rows of the split partials
};

CacheSizes cache_sizes(const StreamConfig& cfg) {
  const uint64_t slots = cfg.sinks + cfg.window;
  const uint64_t rot_half = rope_inv_freq(cfg.rope, cfg.head_dim).size();
  const uint32_t decode_splits = std::min(kMaxDecodeSplits, ceil_div(slots, 16));
  return {kv_buffer_bytes(cfg.kv_type, cfg.kv_heads * slots, cfg.head_dim),
          kv_buffer_bytes(cfg.kv_type, uint64_t{cfg.kv_heads} * cfg.max_chunk, cfg.head_dim),
          uint64_t{cfg.max_chunk} * 2 * std::max<uint64_t>(rot_half, 1) * 8,
          cfg.heads * std::max(decode_splits, cfg.max_chunk * kMaxPrefillSplits)};
}

}  // namespace

uint32_t append_group(KvType t) { return t == KvType::q8_0 ? 8 : 1; }

KvCache::KvCache(vk::Context& ctx, const StreamConfig& cfg, uint64_t start_position)
    : ctx_(&ctx), cfg_(cfg), start_(start_position) {
  validate(cfg_);
  if (cfg_.scale == 0.0f) cfg_.scale = 1.0f / std::sqrt(static_cast<float>(cfg_.head_dim));
  state_ = {cfg_.sinks, cfg_.window, 0};
  own_rope_ = RopeTable(rope_inv_freq(cfg_.rope, cfg_.head_dim));
  sink_rope_ = own_rope_;
  rot_half_ = static_cast<uint32_t>(own_rope_.pairs());
  const auto& info = ctx.info();
  const uint32_t group = cfg_.heads / cfg_.kv_heads, hd4 = cfg_.head_dim / 4;
  wg_ = 128;
  if (split_shared_bytes(group, hd4, wg_) > info.max_shared_bytes)
    throw InvalidArgument("this device's " + std::to_string(info.max_shared_bytes) +
                          " bytes of shared memory cannot hold the attention tile for head_dim " +
                          std::to_string(cfg_.head_dim) + " with " + std::to_string(group) + " heads per KV head");
  while (bq_prefill_ * 2 * group <= kMaxRows && bq_prefill_ * 2 <= cfg_.max_chunk &&
         split_shared_bytes(bq_prefill_ * 2 * group, hd4, wg_) <= info.max_shared_bytes)
    bq_prefill_ *= 2;
  target_workgroups_ = default_target_workgroups(info);

  const std::string kv = kv_type_name(cfg_.kv_type);
  append_ = &ctx.kernel({"kv_append_" + kv, 7, sizeof(KvAppendPC), {kAppendGroup, 1, 1}, {}});
  split_decode_ = split_kernel(ctx, cfg_, wg_, 1);
  portable_ = {split_kernel(ctx, cfg_, wg_, bq_prefill_), bq_prefill_};
  pick_coop_prefill();
  use_coop_prefill(true);
  reduce_ = &ctx.kernel({"attn_reduce", 4, sizeof(AttnReducePC), {kReduceGroup, 1, 1}, {}});
  pick_decode_kernel();

  const CacheSizes z = cache_sizes(cfg_);
  partial_rows_ = z.partial_rows;
  for (uint32_t l = 0; l < cfg_.layers; ++l) {
    k_.push_back(ctx.create_buffer(z.layer_bytes, vk::MemoryUse::device, "the K cache"));
    v_.push_back(ctx.create_buffer(z.layer_bytes, vk::MemoryUse::device, "the V cache"));
  }
  k_stage_ = ctx.create_buffer(z.stage_bytes, vk::MemoryUse::device, "the K staging area");
  v_stage_ = ctx.create_buffer(z.stage_bytes, vk::MemoryUse::device, "the V staging area");
  rope_ = ctx.create_buffer(z.rope_bytes, vk::MemoryUse::upload, "the RoPE table");
  part_acc_ = ctx.create_buffer(uint64_t{partial_rows_} * cfg_.head_dim * 4, vk::MemoryUse::device,
                                "attention partials");
  part_ml_ = ctx.create_buffer(uint64_t{partial_rows_} * 8, vk::MemoryUse::device, "attention partials");
  q_rot_ = ctx.create_buffer(2ull * cfg_.heads * cfg_.head_dim * 4, vk::MemoryUse::device, "rotated queries");
  done_ = ctx.create_buffer(cfg_.kv_heads * 4ull, vk::MemoryUse::device, "split counters");
  const std::vector<uint32_t> zeros(cfg_.kv_heads, 0);
  ctx.upload(done_, zeros.data(), zeros.size() * 4);
  device_bytes_ = 2 * cfg_.layers * z.layer_bytes + 2 * z.stage_bytes + rope_.size() + part_acc_.size() +
                  part_ml_.size() + q_rot_.size() + done_.size();
}

uint64_t KvCache::required_bytes(const StreamConfig& cfg) {
  const CacheSizes z = cache_sizes(cfg);
  return 2 * cfg.layers * z.layer_bytes + 2 * z.stage_bytes + z.rope_bytes +
         uint64_t{z.partial_rows} * (cfg.head_dim * 4 + 8) + 2ull * cfg.heads * cfg.head_dim * 4 +
         cfg.kv_heads * 4ull;
}

KvCache::~KvCache() = default;

// The subgroup decode kernel needs shuffles, a power-of-two subgroup size,
// rows of whole 16-byte units and at most 4 units per lane (otherwise the
// portable kernel is used).
DecodeShape decode_shape(const vk::DeviceInfo& info, const StreamConfig& cfg) {
  DecodeShape d;
  const uint32_t sg = info.subgroup_size, hd4 = cfg.head_dim / 4;
  const uint32_t per_unit = cfg.kv_type == KvType::f32 ? 1 : 2;  // vec4s per unit (UV)
  if (!info.subgroup_shuffle || sg == 0 || (sg & (sg - 1)) != 0 || sg > 128 || hd4 % per_unit) return d;
  const uint32_t units = hd4 / per_unit;
  // LG in attn_decode.comp: lanes per key, the most that divide a row's units.
  // $SINKSTREAM_DECODE_LANES caps it (fewer shuffle steps and softmax updates per
  // byte, more registers per lane), down to 4 units a lane.
  uint32_t lg = 1;
  while (lg * 2 <= sg && units % (lg * 2) == 0) lg *= 2;
  if (const char* l = std::getenv("SINKSTREAM_DECODE_LANES"))
    while (lg > 1 && lg > static_cast<uint32_t>(std::max(std::atoi(l), 1)) && units / (lg / 2) <= 4) lg /= 2;
  if (units / lg > 4) return d;
  uint32_t wg = std::max(128u, sg);
  const auto shared_bytes = [&](uint32_t w) { return (w / lg) * (hd4 * 16 + 8) + 1024 * 8 + 64 + 4; };
  while (wg > sg && shared_bytes(wg) > info.max_shared_bytes) wg /= 2;
  if (shared_bytes(wg) > info.max_shared_bytes) return d;
  // U in attn_decode.comp: keys in flight per lane group. $SINKSTREAM_DECODE_UNROLL tunes it.
  uint32_t keys_per_group = info.type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 4 : 8;
  if (const char* u = std::getenv("SINKSTREAM_DECODE_UNROLL")) keys_per_group = std::clamp(std::atoi(u), 1, 16);
  return {true, wg, lg, keys_per_group};
}

std::vector<vk::SpecConstant> decode_spec(const StreamConfig& cfg, const DecodeShape& s) {
  return {{3, cfg.head_dim / 4}, {4, cfg.heads / cfg.kv_heads}, {5, s.lanes}, {6, s.keys_per_group}};
}

uint32_t max_decode_splits(const vk::DeviceInfo& info, const StreamConfig& cfg) {
  const uint32_t want = std::max(1u, default_target_workgroups(info) / cfg.kv_heads);
  return std::min({kMaxDecodeSplits, 1024u / (cfg.heads / cfg.kv_heads), want});
}

void KvCache::pick_decode_kernel() {
  const DecodeShape s = decode_shape(ctx_->info(), cfg_);
  if (!s.ok) return;
  decode_ = &ctx_->kernel({std::string("attn_decode_") + kv_type_name(cfg_.kv_type),
                           8,
                           sizeof(AttnDecodePC),
                           {s.wg, 1, 1},
                           decode_spec(cfg_, s)});
  decode_keys_step_ = s.keys_step();
}

// attn_coop.comp needs the cooperative-matrix shape of the prefill products
// (16x16x16 float16, 32-wide subgroups), float16 caches, head_dim a multiple of 16,
// a group of query heads that divides its 64 rows, and tiles of T >= 32 keys that fit
// in shared memory (keep coop_shared_bytes in sync with its declarations).
void KvCache::pick_coop_prefill() {
  const auto& info = ctx_->info();
  constexpr uint32_t kRows = 64;  // four subgroups of 16 (query, head) rows
  const uint32_t g = cfg_.heads / cfg_.kv_heads, hd = cfg_.head_dim;
  if (!info.coopmat_prefill || vk::env("SINKSTREAM_COOPMAT") == "0" || cfg_.kv_type != KvType::f16 || hd % 16 ||
      kRows % g)
    return;
  const auto coop_shared_bytes = [&](uint32_t tile) {
    const uint32_t qp = hd / 8 + 1, sp = tile / 4 + 1, pp = tile / 8 + 1;
    const uint32_t region = std::max(16 * sp, 2 * 16 * pp);  // uvec4s per subgroup
    return 2 * tile * qp * 16 + 4 * region * 16 + tile * 8 + 4 * 16 * 4;
  };
  // 32-key tiles before 64: on the H100 they took the attention from 22.2 to 14.6 us
  // per token at depth 4096 (8.9 to 6.5 at ~520), with fewer registers per thread.
  for (uint32_t tile : {32u, 64u}) {
    // Each of the 128 threads copies whole 8-half units of a K/V tile.
    const bool whole_units = tile * hd % 1024 == 0;
    if (!whole_units || coop_shared_bytes(tile) > info.max_shared_bytes) continue;
    coop_.queries = kRows / g;
    coop_.kernel = &ctx_->kernel({"attn_coop_f16", 8, sizeof(AttnSplitPC), {128, 1, 1},
                                  {{3, hd / 4}, {4, g}, {5, coop_.queries}, {6, tile}}});
    return;
  }
}

void KvCache::use_coop_prefill(bool on) {
  const PrefillKernel& k = on && coop_.kernel ? coop_ : portable_;
  split_prefill_ = k.kernel;
  bq_prefill_ = k.queries;
}

void KvCache::use_subgroup_decode(bool on) {
  if (on && !decode_) pick_decode_kernel();
  if (!on) {
    decode_ = nullptr;
    decode_keys_step_ = 0;
  }
}

void KvCache::bind(const StepBuffers& io) {
  pool_ = ctx_->create_descriptor_pool(5 * cfg_.layers + 1, 5 * cfg_.layers * 8 + 8);  // <= 8 buffers per set
  stage_sets_.clear();
  commit_sets_.clear();
  decode_sets_.clear();
  prefill_sets_.clear();
  for (uint32_t l = 0; l < cfg_.layers; ++l) {
    const vk::GpuBuffer* stage[] = {io.k, io.v, &rope_, &k_stage_, &v_stage_, io.q, &q_rot_};
    const vk::GpuBuffer* commit[] = {io.k, io.v, &rope_, &k_[l], &v_[l], io.q, &q_rot_};
    const vk::GpuBuffer* split[] = {io.q, &k_[l], &v_[l], &k_stage_, &v_stage_, &rope_, &part_acc_, &part_ml_};
    stage_sets_.push_back(ctx_->bind(pool_.get(), *append_, stage));
    commit_sets_.push_back(ctx_->bind(pool_.get(), *append_, commit));
    decode_sets_.push_back(ctx_->bind(pool_.get(), *split_decode_, split));
    prefill_sets_.push_back(ctx_->bind(pool_.get(), *split_prefill_, split));
    const vk::GpuBuffer* fast[] = {&q_rot_, &k_[l], &v_[l], &part_acc_, &part_ml_, io.sink_logits, io.out, &done_};
    if (decode_) fast_sets_.push_back(ctx_->bind(pool_.get(), *decode_, fast));
  }
  const vk::GpuBuffer* reduce[] = {&part_acc_, &part_ml_, io.sink_logits, io.out};
  reduce_set_ = ctx_->bind(pool_.get(), *reduce_, reduce);
}

void KvCache::prepare(uint32_t n, uint32_t row0) {
  if (n == 0 || row0 + n > cfg_.max_chunk)
    throw InvalidArgument("a step appends 1.." + std::to_string(cfg_.max_chunk - row0) + " tokens, not " + std::to_string(n));
  auto* table = static_cast<float*>(rope_.mapped());
  const size_t row = 2 * rot_half_;
  for (uint32_t i = 0; i < n; ++i) {
    float* own = table + (2 * (row0 + i)) * row;
    float* sink = table + (2 * (row0 + i) + 1) * row;
    own_rope_.cos_sin(state_.key_position(start_, i), {own, row});
    sink_rope_.cos_sin(state_.cache_position(i), {sink, row});
  }
}

KvAppendPC KvCache::append_pc(uint32_t n, bool to_cache, const LayerIo& io) const {
  KvAppendPC pc{};
  pc.n_tokens = n;
  pc.kv_heads = cfg_.kv_heads;
  pc.head_dim = cfg_.head_dim;
  pc.rot_half = rot_half_;
  pc.neox = cfg_.rope.style == RopeStyle::neox;
  pc.to_cache = to_cache;
  pc.sinks = cfg_.sinks;
  pc.window = cfg_.window;
  pc.sinks_before = state_.sinks_filled();
  pc.ring_next = state_.ring_next();
  pc.chunk_sinks = state_.chunk_sinks(n);
  pc.dst_slots = to_cache ? cfg_.sinks + cfg_.window : cfg_.max_chunk;
  pc.k_offset = io.k_offset;
  pc.v_offset = io.v_offset;
  pc.src_stride = io.kv_stride;
  pc.q_offset = io.q_offset;
  return pc;
}

AttnSplitPC KvCache::split_pc(const RingState& cache, uint32_t n_queries, uint32_t n_chunk, const LayerIo& io) const {
  AttnSplitPC pc{};
  pc.n_queries = n_queries;
  pc.heads = cfg_.heads;
  pc.kv_heads = cfg_.kv_heads;
  pc.rot_half = rot_half_;
  pc.neox = cfg_.rope.style == RopeStyle::neox;
  pc.cache_sinks = cache.sinks_filled();
  pc.sinks = cfg_.sinks;
  pc.window = cfg_.window;
  pc.ring_filled = cache.ring_filled();
  pc.ring_next = cache.ring_next();
  pc.n_chunk = n_chunk;
  pc.chunk_sinks = cache.chunk_sinks(n_chunk);
  // Decode attends after its token is in the ring, so the whole ring is visible;
  // a staged chunk's query i sees ring keys up to W - 1 - (its window index).
  pc.ring_limit0 = static_cast<int32_t>(n_chunk == 0 ? cfg_.window : cfg_.window - 1 + pc.chunk_sinks);
  pc.scale = cfg_.scale;
  pc.q_offset = io.q_offset;
  pc.q_stride = io.q_stride;
  pc.stage_slots = cfg_.max_chunk;
  pc.softcap = cfg_.softcap;
  return pc;
}

uint32_t KvCache::splits_for(uint32_t n_keys, uint32_t granule, uint32_t query_blocks, uint32_t max_splits) const {
  const uint32_t tiles = ceil_div(n_keys, granule);
  const uint32_t want = std::max(1u, target_workgroups_ / (cfg_.kv_heads * query_blocks));
  return std::max(1u, std::min({tiles, want, max_splits}));
}

void KvCache::record_reduce(vk::CommandBuffer& cmd, uint32_t n_queries, uint32_t splits, const LayerIo& io) const {
  AttnReducePC pc{};
  pc.n_queries = n_queries;
  pc.heads = cfg_.heads;
  pc.head_dim = cfg_.head_dim;
  pc.n_splits = splits;
  pc.has_sink_logit = cfg_.learned_sinks;
  pc.sink_offset = io.sink_offset;
  pc.out_offset = io.out_offset;
  pc.out_stride = io.out_stride;
  cmd.dispatch(reduce_set_, pc, {cfg_.heads, n_queries, 1});
}

void KvCache::check_recordable(uint32_t layer) const {
  if (layer >= cfg_.layers || stage_sets_.empty())
    throw Error("internal error: recording a KV step before bind() or for a bad layer");
}

void KvCache::assume_appended(uint64_t tokens) {
  std::vector<const vk::GpuBuffer*> kv;
  for (size_t l = 0; l < k_.size(); ++l) kv.insert(kv.end(), {&k_[l], &v_[l]});
  ctx_->zero(kv);
  state_ = {cfg_.sinks, cfg_.window, tokens};
}

void KvCache::record_decode_append(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const {
  check_recordable(layer);
  KvAppendPC pc = append_pc(1, true, io);
  pc.rope_token = io.rope_token;
  pc.q_heads = cfg_.heads;  // attn_decode and the probe read the query pre-rotated
  const uint32_t hd4 = cfg_.head_dim / 4;
  const uint32_t items =
      cfg_.kv_heads * ceil_div(hd4, append_group(cfg_.kv_type)) + 2 * pc.q_heads * hd4;
  cmd.dispatch(commit_sets_[layer], pc, {ceil_div(items, kAppendGroup), 1, 1});
}

AttnDecodePC KvCache::decode_pc(const RingState& cache, const LayerIo& io) const {
  AttnDecodePC pc{};
  pc.heads = cfg_.heads;
  pc.kv_heads = cfg_.kv_heads;
  pc.cache_sinks = cache.sinks_filled();
  pc.sinks = cfg_.sinks;
  pc.window = cfg_.window;
  pc.ring_filled = cache.ring_filled();
  pc.scale = cfg_.scale;
  pc.has_sink_logit = cfg_.learned_sinks;
  pc.sink_offset = io.sink_offset;
  pc.out_offset = io.out_offset;
  pc.softcap = cfg_.softcap;
  return pc;
}

DecodeSplit KvCache::decode_split() const {
  const uint32_t n_keys = state_.after(1).slots_used();
  const uint32_t granule = decode_ ? decode_keys_step_ : wg_;
  // attn_decode.comp combines at most 1024 (head, split) rows of a KV head in shared memory.
  const uint32_t max_splits = std::min({kMaxDecodeSplits, partial_rows_ / cfg_.heads, 1024u / (cfg_.heads / cfg_.kv_heads)});
  const uint32_t splits = splits_for(n_keys, granule, 1, max_splits);
  const uint32_t keys_per_split = ceil_div(ceil_div(n_keys, splits), granule) * granule;
  return {keys_per_split, ceil_div(n_keys, keys_per_split)};
}

void KvCache::describe_decode_row(DecodeRow& d) const {
  const RingState after = state_.after(1);
  const DecodeSplit split = decode_split();
  d.rope_address = rope_.address();
  d.kv_type = static_cast<uint32_t>(cfg_.kv_type);
  d.sinks = cfg_.sinks;
  d.window = cfg_.window;
  d.sinks_before = state_.sinks_filled();
  d.ring_next = state_.ring_next();
  d.is_sink = state_.chunk_sinks(1);
  d.cache_sinks = after.sinks_filled();
  d.ring_filled = after.ring_filled();
  d.keys_per_split = split.keys_per_split;
  d.n_splits = split.n_splits;
}

void KvCache::record_decode_attend(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io) const {
  check_recordable(layer);
  const RingState after = state_.after(1);
  const DecodeSplit split = decode_split();
  if (decode_) {
    AttnDecodePC pc = decode_pc(after, io);
    pc.keys_per_split = split.keys_per_split;
    pc.n_splits = split.n_splits;
    cmd.dispatch(fast_sets_[layer], pc, {pc.n_splits, cfg_.kv_heads, 1});
    return;
  }
  AttnSplitPC pc = split_pc(after, 1, 0, io);
  pc.keys_per_split = split.keys_per_split;
  pc.n_splits = split.n_splits;
  cmd.dispatch(decode_sets_[layer], pc, {pc.n_splits, cfg_.kv_heads, 1});
  cmd.compute_barrier();
  record_reduce(cmd, 1, pc.n_splits, io);
}

void KvCache::record_prefill(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const LayerIo& io) const {
  const uint32_t row_items = ceil_div(cfg_.head_dim / 4, append_group(cfg_.kv_type));
  const uint32_t append_groups = ceil_div(n * cfg_.kv_heads * row_items, kAppendGroup);
  cmd.dispatch(stage_sets_[layer], append_pc(n, false, io), {append_groups, 1, 1});
  cmd.compute_barrier();
  if (io.mark) io.mark("kv_stage (RoPE)");
  AttnSplitPC pc = split_pc(state_, n, n, io);
  const uint32_t n_keys = state_.slots_used() + n;
  const uint32_t blocks = ceil_div(n, bq_prefill_);
  const uint32_t splits = splits_for(n_keys, wg_, blocks, std::min(kMaxPrefillSplits, partial_rows_ / (cfg_.heads * n)));
  pc.keys_per_split = ceil_div(ceil_div(n_keys, splits), wg_) * wg_;
  pc.n_splits = ceil_div(n_keys, pc.keys_per_split);
  cmd.dispatch(prefill_sets_[layer], pc, {pc.n_splits, cfg_.kv_heads, blocks});
  // The commit overwrites ring slots the split kernel has just read.
  cmd.compute_barrier();
  if (io.mark) io.mark("attention");
  cmd.dispatch(commit_sets_[layer], append_pc(n, true, io), {append_groups, 1, 1});
  record_reduce(cmd, n, pc.n_splits, io);
}

void KvCache::enable_probe(const vk::GpuBuffer& out, const vk::GpuBuffer& sink_logits, uint32_t first) {
  probe_ = &ctx_->kernel({std::string("attn_probe_") + kv_type_name(cfg_.kv_type),
                          4,
                          sizeof(AttnProbePC),
                          {64, 1, 1},
                          {}});
  probe_first_ = first;
  probe_pool_ = ctx_->create_descriptor_pool(cfg_.layers, cfg_.layers * 4);
  probe_sets_.clear();
  for (uint32_t l = 0; l < cfg_.layers; ++l) {
    const vk::GpuBuffer* b[] = {&q_rot_, &k_[l], &sink_logits, &out};
    probe_sets_.push_back(ctx_->bind(probe_pool_.get(), *probe_, b));
  }
}

void KvCache::record_probe(vk::CommandBuffer& cmd, uint32_t layer, const LayerIo& io, uint32_t out_offset) const {
  if (!probe_ || layer >= probe_sets_.size()) throw Error("internal error: record_probe before enable_probe");
  const RingState& s = state_;  // the probe runs before advance(): the token is the one after `s`
  const RingState after = s.after(1);
  if (after.window_total() > cfg_.window) throw Error("the attention probe needs a stream that fits the window");
  AttnProbePC pc{};
  pc.heads = cfg_.heads;
  pc.kv_heads = cfg_.kv_heads;
  pc.head_dim = cfg_.head_dim;
  pc.cache_sinks = after.sinks_filled();
  pc.sinks = cfg_.sinks;
  pc.window = cfg_.window;
  pc.ring_filled = after.ring_filled();
  pc.first = probe_first_;
  pc.scale = cfg_.scale;
  pc.has_sink_logit = cfg_.learned_sinks;
  pc.sink_offset = io.sink_offset;
  pc.out_offset = out_offset;
  pc.softcap = cfg_.softcap;
  cmd.dispatch(probe_sets_[layer], pc, {cfg_.heads, 1, 1});
}

void KvCache::record_layer(vk::CommandBuffer& cmd, uint32_t layer, uint32_t n, const LayerIo& io) const {
  check_recordable(layer);
  if (n == 1) {
    record_decode_append(cmd, layer, io);
    cmd.compute_barrier();
    record_decode_attend(cmd, layer, io);
  } else {
    record_prefill(cmd, layer, n, io);
  }
  // Leaves every write visible: the next layer reuses the staging and partial buffers.
  cmd.compute_barrier();
}

}  // namespace sinkstream::kv
