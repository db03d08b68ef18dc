#include "model/engine.hpp"

#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "model/engine_layer.hpp"
#include "sinkstream/error.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {
namespace {

// Q8_0 / Q4_0 rows in the GPU layout of weights.glsl: the quants of every block,
// then every block's float16 scale, then zeros up to a multiple of 16 bytes.
// Returns the new bytes per row.
uint32_t repack_blocks(const Tensor& t, std::vector<uint8_t>& out) {
  const bool q8 = t.type == GgmlType::q8_0;
  const uint64_t block = q8 ? 34 : 18, quants = block - 2, blocks = t.cols / 32;
  const uint64_t in_row = blocks * block;
  const auto row_bytes = static_cast<uint32_t>((blocks * block + 15) / 16 * 16);
  out.assign(t.rows * uint64_t{row_bytes}, 0);
  for (uint64_t r = 0; r < t.rows; ++r) {
    const uint8_t* src = t.data.data() + r * in_row;
    uint8_t* dst = out.data() + r * row_bytes;
    for (uint64_t b = 0; b < blocks; ++b) {
      std::memcpy(dst + b * quants, src + b * block + 2, quants);
      std::memcpy(dst + blocks * quants + b * 2, src + b * block, 2);
    }
  }
  return row_bytes;
}

GpuTensor upload(vk::Context& ctx, const Tensor& t) {
  GpuTensor g;
  g.type = t.type;
  g.rows = static_cast<uint32_t>(t.rows);
  g.cols = static_cast<uint32_t>(t.cols);
  g.row_bytes = static_cast<uint32_t>(ggml_type_bytes(t.type, t.cols));
  std::vector<uint8_t> packed;
  if (t.type == GgmlType::q8_0 || t.type == GgmlType::q4_0) g.row_bytes = repack_blocks(t, packed);
  const std::span<const uint8_t> data = packed.empty() ? t.data : std::span<const uint8_t>(packed);
  // Round up so the shaders' 32-bit reads of the last row's tail stay in bounds.
  g.buffer = ctx.create_buffer((data.size() + 7) / 4 * 4 + 4, vk::MemoryUse::device,
                               "weights '" + t.name + "'");
  ctx.upload(g.buffer, data.data(), data.size());
  return g;
}

StreamConfig make_cache_config(const HParams& h, const EngineConfig& c) {
  StreamConfig s;
  s.layers = h.layers;
  s.heads = h.heads;
  s.kv_heads = h.kv_heads;
  s.head_dim = h.head_dim;
  s.sinks = c.sinks;
  const uint32_t context = h.context ? h.context : 2048;
  s.window = c.window ? c.window : (context > c.sinks ? context - c.sinks : 1);
  s.kv_type = c.kv_type;
  s.rope = h.rope;
  s.max_chunk = c.max_chunk;
  s.learned_sinks = h.attn_sinks;
  return s;
}

// part_: room for the most splits of the widest group of products that run
// together (Q, K and V, or one of the others) over 512 tokens; k_splits() gives
// fewer where it is short.
uint64_t split_part_floats(const HParams& h, uint32_t max_chunk) {
  const uint64_t qkv = uint64_t{h.heads + 2 * h.kv_heads} * h.head_dim;
  return uint64_t{kMaxKSplits} * std::min(max_chunk, 512u) * std::max<uint64_t>(qkv, h.dim);
}

std::string mib(uint64_t b) {
  return std::to_string((b + (1u << 19)) >> 20) + " MiB";
}

// Fails before anything is uploaded when the model and its cache cannot fit,
// with what each part needs, instead of an allocation error halfway through.
void check_fits(const vk::Context& ctx, const ModelFile& m, const StreamConfig& s) {
  const HParams& h = m.hp;
  const uint64_t weights = m.weight_bytes();
  const uint64_t kv = 2ull * s.layers * s.kv_heads * (uint64_t{s.sinks} + s.window) * s.head_dim *
                      (s.kv_type == KvType::f16 ? 2 : 4);
  const uint64_t act = 4ull * s.max_chunk *
                           (2ull * h.dim + 2ull * h.heads * h.head_dim +
                            2ull * h.kv_heads * h.head_dim + 2ull * h.ffn + h.vocab) +
                       (ctx.info().coopmat_prefill ? 4 * split_part_floats(h, s.max_chunk) : 0);
  const uint64_t need = weights + kv + act;
  const uint64_t used = ctx.allocated_bytes();
  const uint64_t cap = ctx.memory_limit() ? ctx.memory_limit() : ctx.info().device_local_bytes;
  const uint64_t have = cap > used ? cap - used : 0;
  if (cap == 0 || need <= have) return;
  throw OutOfDeviceMemory(
      "'" + m.path + "' needs about " + mib(need) + " of device memory (weights " + mib(weights) +
      ", KV cache " + mib(kv) + " for " + std::to_string(s.sinks + s.window) +
      " slots, activations " + mib(act) + ") but " + ctx.info().name + " has " + mib(have) +
      (ctx.memory_limit() ? " left under the memory limit" : " available") +
      ": try a smaller --window, --kv-type f16, or a more quantised model file");
}

}  // namespace

Engine::Engine(Gpu& gpu, const ModelFile& m, const EngineConfig& cfg)
    : ctx_(gpu.context()),
      hp_(m.hp),
      cache_cfg_(make_cache_config(m.hp, cfg)),
      max_chunk_(cfg.max_chunk),
      cmd_(ctx_),
      cmd2_(ctx_) {
  validate(cache_cfg_);
  if (hp_.dim % 4 || hp_.ffn % 4)
    throw Error("'" + m.path + "': dim and FFN size must be multiples of 4");
  check_fits(ctx_, m, cache_cfg_);
  upload_weights(m);
  cache_ = std::make_unique<kv::KvCache>(ctx_, cache_cfg_, 0);
  const uint64_t M = max_chunk_;
  const auto act = [&](uint64_t floats, const char* what) {
    return ctx_.create_buffer(floats * 4, vk::MemoryUse::device, what);
  };
  ids_ = ctx_.create_buffer(M * 4, vk::MemoryUse::upload, "token ids");
  x_ = act(M * hp_.dim, "activations");
  xn_ = act(M * hp_.dim, "activations");
  q_ = act(M * hp_.heads * hp_.head_dim, "activations");
  k_ = act(M * hp_.kv_heads * hp_.head_dim, "activations");
  v_ = act(M * hp_.kv_heads * hp_.head_dim, "activations");
  att_ = act(M * hp_.heads * hp_.head_dim, "activations");
  gate_ = act(M * hp_.ffn, "activations");
  up_ = act(M * hp_.ffn, "activations");
  logits_ = ctx_.create_buffer(M * hp_.vocab * 4, vk::MemoryUse::readback, "logits");
  history_ = ctx_.create_buffer(M * 4, vk::MemoryUse::readback, "greedy tokens");
  coop_ = cfg.coop_prefill && ctx_.info().coopmat_prefill && vk::env("SINKSTREAM_COOPMAT") != "0";
  // Two workgroups per SM: on the H100 (pp512, F16) 4 and 8 were slower.
  split_target_ = coop_ ? 2 * ctx_.info().compute_units : 0;
  if (split_target_) part_ = act(split_part_floats(hp_, max_chunk_), "split-K partial sums");
  cache_->use_coop_prefill(coop_);
  cache_->bind({&q_, &k_, &v_, &att_, &sinks_});
  gpu_greedy_ = cfg.gpu_greedy;
  make_kernels();
  bind_sets();
  if (cfg.fused_decode && vk::env("SINKSTREAM_FUSED_DECODE") != "0") bind_decode_sets();
  if (cfg.check_finite || vk::env_flag("SINKSTREAM_CHECK_FINITE"))
    finite_ = std::make_unique<FiniteCheck>(ctx_);
}

Engine::~Engine() = default;

void Engine::upload_weights(const ModelFile& m) {
  tok_embd_ = upload(ctx_, m.tok_embd);
  output_norm_ = upload(ctx_, m.output_norm);
  output_ = m.tied_output ? GpuTensor{} : upload(ctx_, m.output);
  std::vector<float> sink_logits;
  for (const auto& w : m.layers) {
    Layer l;
    l.attn_norm = upload(ctx_, w.attn_norm);
    l.wq = upload(ctx_, w.wq);
    l.wk = upload(ctx_, w.wk);
    l.wv = upload(ctx_, w.wv);
    l.wo = upload(ctx_, w.wo);
    l.ffn_norm = upload(ctx_, w.ffn_norm);
    l.gate = upload(ctx_, w.w_gate);
    l.up = upload(ctx_, w.w_up);
    l.down = upload(ctx_, w.w_down);
    if (w.bq) l.bq = upload(ctx_, *w.bq);
    if (w.bk) l.bk = upload(ctx_, *w.bk);
    if (w.bv) l.bv = upload(ctx_, *w.bv);
    if (w.sinks) {
      const auto* f = reinterpret_cast<const float*>(w.sinks->data.data());
      sink_logits.insert(sink_logits.end(), f, f + hp_.heads);
    }
    layers_.push_back(std::move(l));
  }
  dummy_ = ctx_.create_buffer(16, vk::MemoryUse::device, "placeholder");
  sinks_ = ctx_.create_buffer(std::max<uint64_t>(sink_logits.size(), 1) * 4, vk::MemoryUse::device,
                              "sink logits");
  if (!sink_logits.empty()) ctx_.upload(sinks_, sink_logits.data(), sink_logits.size() * 4);
}

void Engine::make_kernels() {
  kernels_.embed = &ctx_.kernel({std::string("embed_") + weight_variant(tok_embd_.type),
                                 3,
                                 sizeof(EmbedPC),
                                 {kElementwiseGroup, 1, 1},
                                 {}});
  kernels_.rmsnorm = &ctx_.kernel({"rmsnorm", 3, sizeof(RmsNormPC), {kMatmulGroup, 1, 1}, {}});
  kernels_.swiglu = &ctx_.kernel({"swiglu", 2, sizeof(SwigluPC), {kElementwiseGroup, 1, 1}, {}});
  kernels_.argmax = &ctx_.kernel({"argmax", 3, sizeof(ArgmaxPC), {256, 1, 1}, {}});
  kernels_.reduce =
      &ctx_.kernel({"matmul_reduce", 3, sizeof(MatmulReducePC), {kSplitReduceGroup, 1, 1}, {}});
}

const vk::Kernel& Engine::matmul_kernel(GgmlType t, uint32_t tokens) {
  return ctx_.kernel({std::string("matmul_") + weight_variant(t),
                      4,
                      sizeof(MatmulPC),
                      {kMatmulGroup, 1, 1},
                      {{3, kMatmulRows}, {4, tokens}}});
}

const vk::Kernel& Engine::matmul_coop_kernel(const CoopTile& tile) {
  return ctx_.kernel({tile.shader, 4, sizeof(MatmulPC), {tile.threads(), 1, 1}, {}});
}

void Engine::bind_sets() {
  const uint32_t sets = 39 * hp_.layers + 10;  // 7 products of 5 sets and 4 more per layer
  pool_ = ctx_.create_descriptor_pool(sets, sets * 4);
  VkDescriptorPool pool = pool_.get();
  const auto mm = [&](const vk::GpuBuffer& in, const GpuTensor& w,
                      const std::optional<GpuTensor>& bias, const vk::GpuBuffer& out) {
    const vk::GpuBuffer* b[] = {&in, &w.buffer, bias ? &bias->buffer : &dummy_, &out};
    MatmulSets s{ctx_.bind(pool, matmul_kernel(w.type, 1), b),
                 ctx_.bind(pool, matmul_kernel(w.type, kMatmulTokens), b),
                 {},
                 {},
                 {},
                 {}};
    if (coop_ && w.cols % kCoopK == 0)
      s.coop_tile = coop_tile(w.type, w.rows, ctx_.info().max_shared_bytes, split_target_ > 0);
    if (!s.coop_tile.shader.empty()) {
      s.coop = ctx_.bind(pool, matmul_coop_kernel(s.coop_tile), b);
      if (split_target_) {
        const vk::GpuBuffer* split[] = {&in, &w.buffer, &dummy_, &part_};
        s.coop_split = ctx_.bind(pool, matmul_coop_kernel(s.coop_tile), split);
        const vk::GpuBuffer* r[] = {&part_, b[2], &out};
        s.reduce = ctx_.bind(pool, *kernels_.reduce, r);
      }
    }
    return s;
  };
  const auto norm = [&](const vk::GpuBuffer& in, const GpuTensor& w, const vk::GpuBuffer& out) {
    const vk::GpuBuffer* b[] = {&in, &w.buffer, &out};
    return ctx_.bind(pool, *kernels_.rmsnorm, b);
  };
  for (Layer& l : layers_) {
    l.norm1 = norm(x_, l.attn_norm, xn_);
    l.q = mm(xn_, l.wq, l.bq, q_);
    l.k = mm(xn_, l.wk, l.bk, k_);
    l.v = mm(xn_, l.wv, l.bv, v_);
    l.o = mm(att_, l.wo, std::nullopt, x_);
    l.norm2 = norm(x_, l.ffn_norm, xn_);
    l.gate_set = mm(xn_, l.gate, std::nullopt, gate_);
    l.up_set = mm(xn_, l.up, std::nullopt, up_);
    const vk::GpuBuffer* sw[] = {&gate_, &up_};
    l.swiglu = ctx_.bind(pool, *kernels_.swiglu, sw);
    l.down_set = mm(gate_, l.down, std::nullopt, x_);
    if (!coop_ || l.gate.cols % kCoopK) continue;
    l.glu_tile = coop_glu_tile(l.gate.type, l.gate.rows, ctx_.info().max_shared_bytes);
    if (l.glu_tile.shader.empty()) continue;
    const vk::GpuBuffer* g[] = {&xn_, &l.gate.buffer, &dummy_, &gate_, &l.up.buffer};
    const vk::Kernel& k =
        ctx_.kernel({l.glu_tile.shader, 5, sizeof(MatmulPC), {l.glu_tile.threads(), 1, 1}, {}});
    l.glu = ctx_.bind(pool, k, g);
  }
  const vk::GpuBuffer* e[] = {&ids_, &tok_embd_.buffer, &x_};
  embed_set_ = ctx_.bind(pool, *kernels_.embed, e);
  const vk::GpuBuffer* am[] = {&logits_, &ids_, &history_};
  argmax_set_ = ctx_.bind(pool, *kernels_.argmax, am);
  final_norm_set_ = norm(x_, output_norm_, xn_);
  logits_set_ = mm(xn_, output_.rows ? output_ : tok_embd_, std::nullopt, logits_);
}

void Engine::stamp(const char* op) {
  if (!profile_.pool) return;
  if (profile_.names.size() + 1 >= kProfileStamps)
    throw Error("internal error: too many profiled ops per chunk");
  profile_.names.push_back(op);
  cmd_.timestamp(profile_.pool.get(), static_cast<uint32_t>(profile_.names.size()));
}

void Engine::enable_op_profile() {
  if (!profile_.pool) profile_.pool = ctx_.create_timestamp_pool(kProfileStamps);
}

std::vector<std::pair<std::string, double>> Engine::op_profile() const {
  std::vector<std::pair<std::string, double>> out(profile_.total_ms.begin(),
                                                  profile_.total_ms.end());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

void Engine::read_op_profile() {
  const auto count = static_cast<uint32_t>(profile_.names.size() + 1);
  const auto ns = vk::read_timestamps_ns(ctx_, profile_.pool.get(), count);
  for (uint32_t i = 1; i < count; ++i)
    profile_.total_ms[profile_.names[i - 1]] += (ns[i] - ns[i - 1]) / 1e6;
  ++profile_.chunks;
}

void Engine::check(const vk::GpuBuffer& out, uint64_t count, uint32_t layer, const char* op) {
  if (!finite_) return;
  finite_->check(
      cmd_, out, count,
      layer == UINT32_MAX ? std::string(op) : "layer " + std::to_string(layer) + " " + op);
}

void Engine::record_layer(uint32_t li, uint32_t n) {
  const Layer& l = layers_[li];
  const uint32_t dim = hp_.dim, qd = hp_.heads * hp_.head_dim, kvd = hp_.kv_heads * hp_.head_dim;
  cmd_.dispatch(l.norm1, RmsNormPC{n, dim, hp_.rms_eps, 0}, {n, 1, 1});
  cmd_.compute_barrier();
  stamp("attn_norm");
  check(xn_, uint64_t{n} * dim, li, "attn_norm (RMSNorm)");
  record_matmul(l.q, n, qd, matmul_io(l.wq, dim, qd, false, l.bq.has_value()));
  record_matmul(l.k, n, kvd, matmul_io(l.wk, dim, kvd, false, l.bk.has_value()));
  record_matmul(l.v, n, kvd, matmul_io(l.wv, dim, kvd, false, l.bv.has_value()));
  end_products();
  stamp("attn_qkv");
  check(q_, uint64_t{n} * qd, li, "attn_q (matmul)");
  check(k_, uint64_t{n} * kvd, li, "attn_k (matmul)");
  check(v_, uint64_t{n} * kvd, li, "attn_v (matmul)");
  kv::LayerIo io;
  io.q_stride = io.out_stride = qd;
  io.kv_stride = kvd;
  io.sink_offset = li * hp_.heads;
  io.rope_token = rope_row_;
  if (profile_.pool) io.mark = [this](const char* op) { stamp(op); };
  cache_->record_layer(cmd_, li, n, io);  // ends with a barrier
  stamp(n > 1 ? "kv_commit+reduce" : "kv_append+attention");
  check(att_, uint64_t{n} * qd, li, "attention (RoPE, KV cache, softmax)");
  if (probe_first_ && n == 1) cache_->record_probe(cmd_, li, io, li * hp_.heads * probe_first_);
  record_matmul(l.o, n, dim, matmul_io(l.wo, qd, dim, true, false));
  end_products();
  stamp("attn_output");
  check(x_, uint64_t{n} * dim, li, "attn_output (matmul + residual)");
  cmd_.dispatch(l.norm2, RmsNormPC{n, dim, hp_.rms_eps, 0}, {n, 1, 1});
  cmd_.compute_barrier();
  stamp("ffn_norm");
  check(xn_, uint64_t{n} * dim, li, "ffn_norm (RMSNorm)");
  record_ffn_in(li, n);
  record_matmul(l.down_set, n, dim, matmul_io(l.down, hp_.ffn, dim, true, false));
  end_products();
  stamp("ffn_down");
  check(x_, uint64_t{n} * dim, li, "ffn_down (matmul + residual)");
}

// gate_ = silu(xn W_gate^T) * (xn W_up^T): one product where the FFN is wide
// enough for the fused kernel (it also saves writing and re-reading up_).
void Engine::record_chunk(uint32_t n, bool all_logits) {
  begin_chunk();
  record_forward(n, all_logits);
  finish_chunk(all_logits ? n : 1);
}

void Engine::begin_chunk() {
  cmd_.begin();
  if (stamps_) {
    cmd_.reset_timestamps(stamps_.get(), 2);
    cmd_.timestamp(stamps_.get(), 0);
  }
  if (finite_) finite_->begin(cmd_);
  if (profile_.pool) {
    profile_.names.clear();
    cmd_.reset_timestamps(profile_.pool.get(), kProfileStamps);
    cmd_.timestamp(profile_.pool.get(), 0);
  }
}

// Embedding, layers and logits of n tokens whose ids are in ids_ (the logits of
// the last token only unless all_logits).
void Engine::record_forward(uint32_t n, bool all_logits) {
  cmd_.dispatch(embed_set_, EmbedPC{n, hp_.dim, tok_embd_.row_bytes, 0},
                {ceil_div(n * hp_.dim / 4, kElementwiseGroup), 1, 1});
  cmd_.compute_barrier();
  stamp("embed");
  check(x_, uint64_t{n} * hp_.dim, UINT32_MAX, "token_embd (embedding)");
  if (n == 1 && decode_) {
    for (uint32_t l = 0; l < hp_.layers; ++l) record_layer_decode(l);
    record_logits_decode();
    return;
  }
  for (uint32_t l = 0; l < hp_.layers; ++l) record_layer(l, n);
  cmd_.dispatch(final_norm_set_, RmsNormPC{n, hp_.dim, hp_.rms_eps, 0}, {n, 1, 1});
  cmd_.compute_barrier();
  stamp("output_norm");
  check(xn_, uint64_t{n} * hp_.dim, UINT32_MAX, "output_norm (RMSNorm)");
  const GpuTensor& out = output_.rows ? output_ : tok_embd_;
  MatmulPC pc = matmul_io(out, hp_.dim, hp_.vocab, false, false);
  pc.x_offset = all_logits ? 0 : (n - 1) * hp_.dim;
  record_matmul(logits_set_, all_logits ? n : 1, hp_.vocab, pc);
  if (!reduces_.empty()) end_products();
  stamp("logits");
}

// After the logits: their NaN/Inf check, the closing timestamp, the host barrier.
void Engine::finish_chunk(uint32_t logit_rows) {
  if (finite_) {
    cmd_.compute_barrier();
    check(logits_, uint64_t{logit_rows} * hp_.vocab, UINT32_MAX, "output (logits matmul)");
  }
  if (stamps_) cmd_.timestamp(stamps_.get(), 1);
  cmd_.host_read_barrier();
  cmd_.end();
}

void Engine::check_token_ids(std::span<const int32_t> tokens) const {
  for (int32_t t : tokens)
    if (t < 0 || static_cast<uint32_t>(t) >= hp_.vocab)
      throw InvalidArgument("token id " + std::to_string(t) + " is outside the vocabulary (0.." +
                            std::to_string(hp_.vocab - 1) + ")");
}

void Engine::read_gpu_time() {
  if (!stamps_) return;
  const auto ns = vk::read_timestamps_ns(ctx_, stamps_.get(), 2);
  last_gpu_ms_ = (ns[1] - ns[0]) / 1e6;
}

std::span<const float> Engine::feed(std::span<const int32_t> tokens, bool all_logits) {
  if (tokens.empty()) throw InvalidArgument("feed() needs at least one token");
  check_token_ids(tokens);
  if (tokens.size() == 1 && !all_logits && can_prerecord()) return feed_one(tokens[0]);
  next_recorded_ = false;  // cmd_ is recorded anew below
  all_logits_.clear();
  const auto* logits = static_cast<const float*>(logits_.mapped());
  for (size_t done = 0; done < tokens.size();) {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(max_chunk_, tokens.size() - done));
    std::memcpy(ids_.mapped(), tokens.data() + done, n * 4);
    cache_->prepare(n);
    record_chunk(n, all_logits);
    cmd_.submit_and_wait();
    if (finite_) finite_->verify(cache_->state().appended, n);
    if (profile_.pool) read_op_profile();
    read_gpu_time();
    cache_->advance(n);
    done += n;
    if (all_logits) all_logits_.insert(all_logits_.end(), logits, logits + uint64_t{n} * hp_.vocab);
  }
  if (all_logits) return all_logits_;
  return {logits, hp_.vocab};
}

// The command buffer of a one-token step depends on the ring state, not on the
// token (its id and RoPE row are buffer data), so the next step can be recorded
// while this one runs. Not with the NaN guard, timestamps or the probe, whose
// per-step reads share one pool or buffer.
bool Engine::can_prerecord() const {
  return !stamps_ && !finite_ && !profile_.pool && !probe_first_;
}

std::span<const float> Engine::feed_one(int32_t token) {
  std::memcpy(ids_.mapped(), &token, 4);
  cache_->prepare(1);
  if (!next_recorded_ || next_at_ != cache_->state().appended) record_chunk(1, false);
  next_recorded_ = false;
  cmd_.submit();
  try {
    cache_->advance(1);
    std::swap(cmd_, cmd2_);
    record_chunk(1, false);
    next_recorded_ = true;
    next_at_ = cache_->state().appended;
    cmd2_.wait();
  } catch (...) {
    next_recorded_ = false;
    try {
      cmd2_.wait();
    } catch (...) {
    }
    throw;
  }
  return {static_cast<const float*>(logits_.mapped()), hp_.vocab};
}

void Engine::enable_gpu_timing() {
  if (!stamps_) stamps_ = ctx_.create_timestamp_pool(2);
}

void Engine::enable_attention_probe(uint32_t first) {
  if (first == 0) throw InvalidArgument("the attention probe needs at least one position");
  probe_ = ctx_.create_buffer(uint64_t{hp_.layers} * hp_.heads * first * 4, vk::MemoryUse::readback,
                              "attention probe");
  cache_->enable_probe(probe_, sinks_, first);
  probe_first_ = first;
}

std::span<const float> Engine::attention_probe() const {
  if (!probe_first_)
    throw Error("internal error: attention_probe() before enable_attention_probe()");
  return {static_cast<const float*>(probe_.mapped()),
          uint64_t{hp_.layers} * hp_.heads * probe_first_};
}

EngineCounters Engine::counters() const {
  const auto& s = cache_->state();
  EngineCounters c;
  c.tokens = s.appended;
  c.evicted = s.evicted();
  c.slots_used = s.slots_used();
  c.capacity = s.sinks + s.window;
  c.device_bytes = ctx_.allocated_bytes();
  c.k_split_products = split_products_;
  return c;
}

}  // namespace sinkstream::model
