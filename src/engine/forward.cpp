#include "engine/forward.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/forward_layer.hpp"
#include "sinkstream/error.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {
namespace {

// part_: room for the most splits of the widest group of products that run
// together (Q, K and V, or one of the others) over 512 tokens; k_splits() gives
// fewer where it is short.
uint64_t split_part_floats(const HParams& h, uint32_t rows) {
  const uint64_t qkv = uint64_t{h.heads + 2 * h.kv_heads} * h.head_dim;
  return uint64_t{kMaxKSplits} * std::min(rows, 512u) * std::max<uint64_t>(qkv, h.dim);
}

}  // namespace

uint64_t forward_activation_bytes(const vk::Context& ctx, const HParams& h, uint32_t rows) {
  const uint64_t slots = std::max(h.experts_used, 1u);
  const uint64_t moe = h.experts ? h.experts + 2 * slots + slots * h.dim : 0;
  return 4ull * rows *
             (2ull * h.dim + 2ull * h.heads * h.head_dim + 2ull * h.kv_heads * h.head_dim +
              2 * slots * h.ffn + h.vocab + moe) +
         (ctx.info().coopmat_prefill ? 4 * split_part_floats(h, rows) : 0);
}

Forward::Forward(const GpuModel& model, const ForwardConfig& cfg)
    : ctx_(model.context()), model_(model), hp_(model.hparams()), rows_(cfg.rows) {
  if (hp_.dim % 4 || hp_.ffn % 4)
    throw Error("'" + model.path() + "': dim and FFN size must be multiples of 4");
  const uint64_t M = rows_;
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
  const uint64_t slots = std::max(hp_.experts_used, 1u);
  gate_ = act(M * slots * hp_.ffn, "activations");
  up_ = act(M * slots * hp_.ffn, "activations");
  if (hp_.experts) {
    router_ = act(M * hp_.experts, "router scores");
    sel_ = act(M * slots, "chosen experts");
    sel_w_ = act(M * slots, "expert weights");
    moe_out_ = act(M * slots * hp_.dim, "expert outputs");
    const uint32_t pairs = static_cast<uint32_t>(M * slots);
    moe_tiles_ = act(2ull * moe_max_tiles(pairs, hp_.experts) + pairs, "expert tiles");
    moe_grouped_ = vk::env("SINKSTREAM_MOE_GROUPED") != "0";
  }
  logits_ = ctx_.create_buffer(M * hp_.vocab * 4, vk::MemoryUse::readback, "logits");
  history_ = ctx_.create_buffer(M * 4, vk::MemoryUse::readback, "greedy tokens");
  logit_rows_ = ctx_.create_buffer(M * 4, vk::MemoryUse::upload, "logit rows");
  coop_ = cfg.coop_prefill && ctx_.info().coopmat_prefill && vk::env("SINKSTREAM_COOPMAT") != "0";
  // Two workgroups per SM: on the H100 (pp512, F16) 4 and 8 were slower.
  split_target_ = coop_ ? 2 * ctx_.info().compute_units : 0;
  if (split_target_) part_ = act(split_part_floats(hp_, rows_), "split-K partial sums");
  make_kernels();
  bind_sets();
  // The fused one-token kernels know SwiGLU and pre-norms only: gemma's steps take the chunk kernels.
  if (cfg.fused_decode && vk::env("SINKSTREAM_FUSED_DECODE") != "0" && !hp_.gelu_ffn && !hp_.post_norms &&
      hp_.final_softcap == 0.0f && !hp_.experts && !hp_.out_bias)
    bind_decode_sets();
  matvec_rows_ = std::max<uint32_t>(cfg.matvec_rows, 1);
  if (const std::string v = vk::env("SINKSTREAM_MATVEC_ROWS"); !v.empty()) {
    if (v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos)
      throw InvalidArgument("SINKSTREAM_MATVEC_ROWS takes a count of rows (1..999), not '" + v + "'");
    matvec_rows_ = std::max<uint32_t>(static_cast<uint32_t>(std::stoul(v)), 1);
  }
  if (cfg.check_finite || vk::env_flag("SINKSTREAM_CHECK_FINITE"))
    finite_ = std::make_unique<FiniteCheck>(ctx_);
}

Forward::~Forward() = default;

void Forward::make_kernels() {
  kernels_.embed = &ctx_.kernel({std::string("embed_") + weight_variant(model_.tok_embd().type),
                                 3,
                                 sizeof(EmbedPC),
                                 {kElementwiseGroup, 1, 1},
                                 {}});
  kernels_.rmsnorm = &ctx_.kernel({"rmsnorm", 4, sizeof(RmsNormPC), {kMatmulGroup, 1, 1}, {}});
  kernels_.swiglu = &ctx_.kernel({"swiglu", 2, sizeof(SwigluPC), {kElementwiseGroup, 1, 1}, {}});
  kernels_.softcap = &ctx_.kernel({"softcap", 1, sizeof(SoftcapPC), {kElementwiseGroup, 1, 1}, {}});
  kernels_.argmax = &ctx_.kernel({"argmax", 3, sizeof(ArgmaxPC), {256, 1, 1}, {}});
  kernels_.reduce =
      &ctx_.kernel({"matmul_reduce", 3, sizeof(MatmulReducePC), {kSplitReduceGroup, 1, 1}, {}});
  if (!hp_.experts) return;
  kernels_.moe_route = &ctx_.kernel({"moe_route", 3, sizeof(MoeRoutePC), {kElementwiseGroup, 1, 1}, {}});
  kernels_.moe_group = &ctx_.kernel({"moe_group", 2, sizeof(MoeGroupPC), {256, 1, 1}, {}});
  kernels_.moe_combine = &ctx_.kernel({"moe_combine", 3, sizeof(MoeCombinePC), {kElementwiseGroup, 1, 1}, {}});
}

const vk::Kernel& Forward::matmul_kernel(const GpuTensor& w, uint32_t tokens) {
  return ctx_.kernel({std::string("matmul_") + weight_variant(w.type),
                      4,
                      sizeof(MatmulPC),
                      {matmul_group(w.cols), 1, 1},
                      {{3, kMatmulRows}, {4, tokens}}});
}

const vk::Kernel& Forward::matmul_coop_kernel(const CoopTile& tile) {
  return ctx_.kernel({tile.shader, 4, sizeof(MatmulPC), {tile.threads(), 1, 1}, {}});
}

void Forward::bind_sets() {
  // 7 products of 5 sets and 8 more per layer; experts: the router's 5 and 8
  // more, and one for the grouping.
  const uint32_t sets = (43 + (hp_.experts ? 13 : 0)) * hp_.layers + 12;
  pool_ = ctx_.create_descriptor_pool(sets, sets * 4);
  VkDescriptorPool pool = pool_.get();
  const vk::GpuBuffer& dummy = model_.placeholder();
  const auto mm = [&](const vk::GpuBuffer& in, const GpuTensor& w,
                      const std::optional<GpuTensor>& bias, const vk::GpuBuffer& out) {
    const vk::GpuBuffer* b[] = {&in, &w.buffer, bias ? &bias->buffer : &dummy, &out};
    MatmulSets s{ctx_.bind(pool, matmul_kernel(w, 1), b),
                 ctx_.bind(pool, matmul_kernel(w, kMatmulTokens), b),
                 {},
                 {},
                 {},
                 {}};
    if (coop_ && w.cols % kCoopK == 0)
      s.coop_tile = coop_tile(w.type, w.rows, ctx_.info().max_shared_bytes, split_target_ > 0);
    if (!s.coop_tile.shader.empty()) {
      s.coop = ctx_.bind(pool, matmul_coop_kernel(s.coop_tile), b);
      if (split_target_) {
        const vk::GpuBuffer* split[] = {&in, &w.buffer, &dummy, &part_};
        s.coop_split = ctx_.bind(pool, matmul_coop_kernel(s.coop_tile), split);
        const vk::GpuBuffer* r[] = {&part_, b[2], &out};
        s.reduce = ctx_.bind(pool, *kernels_.reduce, r);
      }
    }
    return s;
  };
  const auto norm = [&](const vk::GpuBuffer& in, const GpuTensor& w, const vk::GpuBuffer& out) {
    const vk::GpuBuffer* b[] = {&in, &w.buffer, &out, &logit_rows_};
    return ctx_.bind(pool, *kernels_.rmsnorm, b);
  };
  for (const GpuLayerWeights& w : model_.layers()) {
    Layer l;
    l.w = &w;
    l.norm1 = norm(x_, w.attn_norm, xn_);
    l.q = mm(xn_, w.wq, w.bq, q_);
    l.k = mm(xn_, w.wk, w.bk, k_);
    l.v = mm(xn_, w.wv, w.bv, v_);
    if (w.q_norm) l.q_norm = norm(q_, *w.q_norm, q_);
    if (w.k_norm) l.k_norm = norm(k_, *w.k_norm, k_);
    // gemma: the products write xn_ (free by then), the post-norms add it into x_.
    const vk::GpuBuffer& residual_in = w.post_attn_norm ? xn_ : x_;
    l.o = mm(att_, w.wo, w.bo, residual_in);
    if (w.post_attn_norm) l.post_attn = norm(xn_, *w.post_attn_norm, x_);
    if (w.post_ffn_norm) l.post_ffn = norm(xn_, *w.post_ffn_norm, x_);
    l.norm2 = norm(x_, w.ffn_norm, xn_);
    if (hp_.experts) {
      l.router = mm(xn_, *w.router, w.router_b, router_);
      bind_moe(l, pool);
      layers_.push_back(std::move(l));
      continue;
    }
    l.gate_set = mm(xn_, w.gate, std::nullopt, gate_);
    l.up_set = mm(xn_, w.up, std::nullopt, up_);
    const vk::GpuBuffer* sw[] = {&gate_, &up_};
    l.swiglu = ctx_.bind(pool, *kernels_.swiglu, sw);
    l.down_set = mm(gate_, w.down, std::nullopt, residual_in);
    if (coop_ && w.gate.cols % kCoopK == 0 && !hp_.gelu_ffn)  // the fused kernel's activation is SiLU
      l.glu_tile = coop_glu_tile(w.gate.type, w.gate.rows, ctx_.info().max_shared_bytes);
    if (!l.glu_tile.shader.empty()) {
      const vk::GpuBuffer* g[] = {&xn_, &w.gate.buffer, &dummy, &gate_, &w.up.buffer};
      const vk::Kernel& k =
          ctx_.kernel({l.glu_tile.shader, 5, sizeof(MatmulPC), {l.glu_tile.threads(), 1, 1}, {}});
      l.glu = ctx_.bind(pool, k, g);
    }
    layers_.push_back(std::move(l));
  }
  const vk::GpuBuffer* e[] = {&ids_, &model_.tok_embd().buffer, &x_};
  embed_set_ = ctx_.bind(pool, *kernels_.embed, e);
  const vk::GpuBuffer* am[] = {&logits_, &ids_, &history_};
  argmax_set_ = ctx_.bind(pool, *kernels_.argmax, am);
  final_norm_set_ = norm(x_, model_.output_norm(), xn_);
  const vk::GpuBuffer* sc[] = {&logits_};
  softcap_set_ = ctx_.bind(pool, *kernels_.softcap, sc);
  logits_set_ = mm(xn_, model_.output(), std::nullopt, logits_);
}

void Forward::stamp(const char* op) {
  if (!profile_.pool) return;
  if (profile_.names.size() + 1 >= kProfileStamps)
    throw Error("internal error: too many profiled ops per chunk");
  profile_.names.push_back(op);
  cmd_->timestamp(profile_.pool.get(), static_cast<uint32_t>(profile_.names.size()));
}

void Forward::enable_op_profile() {
  if (!profile_.pool) profile_.pool = ctx_.create_timestamp_pool(kProfileStamps);
}

std::vector<std::pair<std::string, double>> Forward::op_profile() const {
  std::vector<std::pair<std::string, double>> out(profile_.total_ms.begin(),
                                                  profile_.total_ms.end());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

void Forward::read_op_profile() {
  const auto count = static_cast<uint32_t>(profile_.names.size() + 1);
  const auto ns = vk::read_timestamps_ns(ctx_, profile_.pool.get(), count);
  for (uint32_t i = 1; i < count; ++i)
    profile_.total_ms[profile_.names[i - 1]] += (ns[i] - ns[i - 1]) / 1e6;
  ++profile_.chunks;
}

void Forward::check(const vk::GpuBuffer& out, uint64_t count, uint32_t layer, const char* op) {
  if (!finite_) return;
  finite_->check(
      *cmd_, out, count,
      layer == UINT32_MAX ? std::string(op) : "layer " + std::to_string(layer) + " " + op);
}

kv::LayerIo Forward::layer_io(uint32_t layer, uint32_t rope_row) {
  kv::LayerIo io;
  io.q_stride = io.out_stride = hp_.heads * hp_.head_dim;
  io.kv_stride = hp_.kv_heads * hp_.head_dim;
  io.sink_offset = layer * hp_.heads;
  io.rope_token = rope_row;
  if (profile_.pool) io.mark = [this](const char* op) { stamp(op); };
  return io;
}

void Forward::record_layer(uint32_t li, uint32_t n, LayerAttention& attention, uint32_t rope_row) {
  const Layer& l = layers_[li];
  const GpuLayerWeights& w = *l.w;
  const uint32_t dim = hp_.dim, qd = hp_.heads * hp_.head_dim, kvd = hp_.kv_heads * hp_.head_dim;
  cmd_->dispatch(l.norm1, RmsNormPC{n, dim, hp_.rms_eps, 0}, {n, 1, 1});
  cmd_->compute_barrier();
  stamp("attn_norm");
  check(xn_, uint64_t{n} * dim, li, "attn_norm (RMSNorm)");
  record_matmul(l.q, n, qd, matmul_io(w.wq, dim, qd, false, w.bq.has_value()));
  record_matmul(l.k, n, kvd, matmul_io(w.wk, dim, kvd, false, w.bk.has_value()));
  record_matmul(l.v, n, kvd, matmul_io(w.wv, dim, kvd, false, w.bv.has_value()));
  end_products();
  stamp("attn_qkv");
  check(q_, uint64_t{n} * qd, li, "attn_q (matmul)");
  check(k_, uint64_t{n} * kvd, li, "attn_k (matmul)");
  check(v_, uint64_t{n} * kvd, li, "attn_v (matmul)");
  record_qk_norm(li, n);
  attention.record_layer(*cmd_, li, n, layer_io(li, rope_row));  // ends with a barrier
  stamp(n > 1 ? "kv_commit+reduce" : "kv_append+attention");
  check(att_, uint64_t{n} * qd, li, "attention (RoPE, KV cache, softmax)");
  const bool post = w.post_attn_norm.has_value();
  record_matmul(l.o, n, dim, matmul_io(w.wo, qd, dim, !post, w.bo.has_value()));
  end_products();
  stamp("attn_output");
  check(post ? xn_ : x_, uint64_t{n} * dim, li, post ? "attn_output (matmul)" : "attn_output (matmul + residual)");
  if (post) record_post_norm(l.post_attn, n, li, "post_attention_norm (RMSNorm + residual)");
  cmd_->dispatch(l.norm2, RmsNormPC{n, dim, hp_.rms_eps, 0}, {n, 1, 1});
  cmd_->compute_barrier();
  stamp("ffn_norm");
  check(xn_, uint64_t{n} * dim, li, "ffn_norm (RMSNorm)");
  if (hp_.experts) return record_moe(li, n);
  record_ffn_in(li, n);
  record_matmul(l.down_set, n, dim, matmul_io(w.down, hp_.ffn, dim, !post, false));
  end_products();
  stamp("ffn_down");
  check(post ? xn_ : x_, uint64_t{n} * dim, li, post ? "ffn_down (matmul)" : "ffn_down (matmul + residual)");
  if (post) record_post_norm(l.post_ffn, n, li, "post_ffw_norm (RMSNorm + residual)");
}

// gemma: x += RMSNorm(xn_), the output of the product before.
void Forward::record_post_norm(const vk::BindingSet& set, uint32_t n, uint32_t li, const char* op) {
  RmsNormPC pc{n, hp_.dim, hp_.rms_eps, 0};
  pc.accumulate = 1;
  cmd_->dispatch(set, pc, {n, 1, 1});
  cmd_->compute_barrier();
  stamp(op);
  check(x_, uint64_t{n} * hp_.dim, li, op);
}

// qwen3: each head of Q and K RMS-normalised (in place) before RoPE.
void Forward::record_qk_norm(uint32_t li, uint32_t n) {
  const Layer& l = layers_[li];
  if (!l.w->q_norm) return;
  const uint32_t q_rows = n * hp_.heads, k_rows = n * hp_.kv_heads;
  const uint32_t groups = ctx_.info().max_workgroup_count[0];  // the kernel loops over rows past it
  cmd_->dispatch(l.q_norm, RmsNormPC{q_rows, hp_.head_dim, hp_.rms_eps, 0}, {std::min(q_rows, groups), 1, 1});
  cmd_->dispatch(l.k_norm, RmsNormPC{k_rows, hp_.head_dim, hp_.rms_eps, 0}, {std::min(k_rows, groups), 1, 1});
  cmd_->compute_barrier();
  stamp("attn_q/k_norm");
  check(q_, uint64_t{q_rows} * hp_.head_dim, li, "attn_q_norm (RMSNorm per head)");
  check(k_, uint64_t{k_rows} * hp_.head_dim, li, "attn_k_norm (RMSNorm per head)");
}

void Forward::begin(vk::CommandBuffer& cmd) {
  cmd_ = &cmd;
  cmd_->begin();
  if (stamps_) {
    cmd_->reset_timestamps(stamps_.get(), 2);
    cmd_->timestamp(stamps_.get(), 0);
  }
  if (finite_) finite_->begin(*cmd_);
  if (profile_.pool) {
    profile_.names.clear();
    cmd_->reset_timestamps(profile_.pool.get(), kProfileStamps);
    cmd_->timestamp(profile_.pool.get(), 0);
  }
}

void Forward::record(uint32_t n, std::span<const uint32_t> logit_rows, LayerAttention& attention,
                     uint32_t rope_row) {
  const auto m = static_cast<uint32_t>(logit_rows.size());
  if (n == 0 || n > rows_ || m > n || (n == 1 && m != 1))
    throw Error("internal error: a step of " + std::to_string(n) + " rows (at most " +
                std::to_string(rows_) + ") with " + std::to_string(m) + " logit rows");
  // A step recorded while the previous one runs (Engine::feed_one, the
  // scheduler's steps recorded ahead) has that step's logit rows or a prefix of
  // them: written only where they differ, the host never writes what the GPU reads.
  auto* rows_out = static_cast<uint32_t*>(logit_rows_.mapped());  // (logit row)
  for (uint32_t i = 0; i < m; ++i) {
    if (logit_rows[i] >= n) throw Error("internal error: logits of a row past the step");
    if (rows_out[i] != logit_rows[i]) rows_out[i] = logit_rows[i];
  }
  const GpuTensor& embd = model_.tok_embd();
  cmd_->dispatch(embed_set_, EmbedPC{n, hp_.dim, embd.row_bytes, hp_.embed_scale},
                 {ceil_div(n * hp_.dim / 4, kElementwiseGroup), 1, 1});
  cmd_->compute_barrier();
  stamp("embed");
  check(x_, uint64_t{n} * hp_.dim, UINT32_MAX, "token_embd (embedding)");
  if (decode_ && n <= matvec_rows_) {
    for (uint32_t l = 0; l < hp_.layers; ++l) record_layer_decode(l, n, attention, rope_row);
    record_logits_decode(m);
    return;
  }
  for (uint32_t l = 0; l < hp_.layers; ++l) record_layer(l, n, attention, rope_row);
  if (m == 0) return;
  cmd_->dispatch(final_norm_set_, RmsNormPC{m, hp_.dim, hp_.rms_eps, 1}, {m, 1, 1});
  cmd_->compute_barrier();
  stamp("output_norm");
  check(xn_, uint64_t{m} * hp_.dim, UINT32_MAX, "output_norm (RMSNorm)");
  MatmulPC pc = matmul_io(model_.output(), hp_.dim, hp_.vocab, false, false);
  record_matmul(logits_set_, m, hp_.vocab, pc);
  if (!reduces_.empty()) end_products();
  stamp("logits");
  if (hp_.final_softcap == 0.0f) return;
  cmd_->compute_barrier();
  cmd_->dispatch(softcap_set_, SoftcapPC{m * hp_.vocab, hp_.final_softcap, 0, 0},
                 {ceil_div(m * hp_.vocab, kElementwiseGroup), 1, 1});
  stamp("logit_softcap");
}

void Forward::record_argmax(uint32_t logit_row, uint32_t id_row, uint32_t slot) {
  cmd_->compute_barrier();
  cmd_->dispatch(argmax_set_, ArgmaxPC{hp_.vocab, slot, logit_row, id_row}, {1, 1, 1});
}

void Forward::finish(uint32_t logit_rows) {
  if (finite_) {
    cmd_->compute_barrier();
    check(logits_, uint64_t{logit_rows} * hp_.vocab, UINT32_MAX, "output (logits matmul)");
  }
  if (stamps_) cmd_->timestamp(stamps_.get(), 1);
  cmd_->host_read_barrier();
  cmd_->end();
}

void Forward::after_step(uint64_t first_token, uint32_t tokens) {
  if (finite_) finite_->verify(first_token, tokens);
  if (profile_.pool) read_op_profile();
  read_gpu_time();
}

void Forward::read_gpu_time() {
  if (!stamps_) return;
  const auto ns = vk::read_timestamps_ns(ctx_, stamps_.get(), 2);
  last_gpu_ms_ = (ns[1] - ns[0]) / 1e6;
}

void Forward::enable_gpu_timing() {
  if (!stamps_) stamps_ = ctx_.create_timestamp_pool(2);
}

}  // namespace sinkstream::model
