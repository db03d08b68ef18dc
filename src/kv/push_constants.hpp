// Push-constant blocks of the KV/attention kernels. Each is mirrored field by
// field in shaders/include/kv_pc.glsl; the static_asserts pin the layout so a
// change on one side without the other fails to compile.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sinkstream::kv {

// kv_append.comp: rotate and store n tokens' K/V. Grid: x covers token*kv_head*head_dim/4.
struct KvAppendPC {
  uint32_t n_tokens;        // tokens in the chunk
  uint32_t kv_heads;
  uint32_t head_dim;
  uint32_t rot_half;        // rotary pairs (rotary dims / 2)
  uint32_t neox;            // 1: pairs (d, d + rot_half); 0: adjacent pairs (2p, 2p+1)
  uint32_t to_cache;        // 0: chunk-local staging (slot = token); 1: sink/ring slots of the cache
  uint32_t sinks;           // S: sink slots; ring slots start at S
  uint32_t window;          // W: ring slots
  uint32_t sinks_before;    // sink slots filled before the chunk
  uint32_t ring_next;       // ring slot of the chunk's first window token
  uint32_t chunk_sinks;     // tokens of the chunk that become sinks
  uint32_t dst_slots;       // slots per kv head in the destination buffer
  uint32_t k_offset;        // float offset of token 0 in the K source
  uint32_t v_offset;        // float offset of token 0 in the V source
  uint32_t src_stride;      // floats between consecutive tokens in the sources
  uint32_t q_heads;         // decode: also rotate token 0's query (both sets) for attn_decode; 0 = no
  uint32_t q_offset;        // float offset of the query in the q source
  uint32_t rope_token;      // RoPE table row of token 0 (several decode steps share one table)
};
static_assert(sizeof(KvAppendPC) == 72);
static_assert(offsetof(KvAppendPC, v_offset) == 52);
static_assert(offsetof(KvAppendPC, src_stride) == 56);
static_assert(offsetof(KvAppendPC, q_offset) == 64);

// attn_split.comp: one (split, kv head, query block) per workgroup.
struct AttnSplitPC {
  uint32_t n_queries;
  uint32_t heads;
  uint32_t kv_heads;
  uint32_t rot_half;
  uint32_t neox;
  uint32_t cache_sinks;     // filled sink slots visible to every query
  uint32_t sinks;           // S: ring slots start at S
  uint32_t window;          // W
  uint32_t ring_filled;     // valid ring slots
  uint32_t ring_next;       // slot the next window token would take (the oldest one when full)
  int32_t ring_limit0;      // query i sees ring keys d steps back iff d <= ring_limit0 - i
  uint32_t n_chunk;         // staged chunk keys
  uint32_t chunk_sinks;     // staged keys that are sinks (they come first)
  uint32_t keys_per_split;  // multiple of the workgroup size
  uint32_t n_splits;
  float scale;
  uint32_t q_offset;        // float offset of query 0, head 0
  uint32_t q_stride;        // floats between query tokens
  uint32_t stage_slots;     // slots per kv head in the staging buffers
  float softcap;            // scores s -> softcap * tanh(s / softcap) (gemma2); 0: none
};
static_assert(sizeof(AttnSplitPC) == 80);
static_assert(offsetof(AttnSplitPC, softcap) == 76);
static_assert(offsetof(AttnSplitPC, scale) == 60);
static_assert(offsetof(AttnSplitPC, q_stride) == 68);
static_assert(offsetof(AttnSplitPC, stage_slots) == 72);

// attn_decode.comp: one query token, subgroup lane groups, split-K with the
// reduction done by the last workgroup of each KV head.
struct AttnDecodePC {
  uint32_t heads;
  uint32_t kv_heads;
  uint32_t cache_sinks;     // filled sink slots
  uint32_t sinks;           // S: ring slots start at S
  uint32_t window;          // W
  uint32_t ring_filled;     // valid ring slots (all visible to the query)
  uint32_t keys_per_split;  // multiple of the keys a workgroup takes per step
  uint32_t n_splits;
  float scale;
  uint32_t has_sink_logit;
  uint32_t sink_offset;     // float offset of this layer's sink logits
  uint32_t out_offset;      // float offset of head 0 in the output
  float softcap;            // as AttnSplitPC's
  uint32_t pad0, pad1, pad2;
};
static_assert(sizeof(AttnDecodePC) == 64);
static_assert(offsetof(AttnDecodePC, softcap) == 48);
static_assert(offsetof(AttnDecodePC, scale) == 32);
static_assert(offsetof(AttnDecodePC, out_offset) == 44);

// kv_append_rows.comp: each decode row's K/V into its own stream's cache (the
// address table's row for this layer) and its query rotated both ways.
// Grid: x covers one row's items, y the rows.
struct KvAppendRowsPC {
  uint32_t n_rows;
  uint32_t kv_heads;
  uint32_t head_dim;
  uint32_t rot_half;
  uint32_t neox;
  uint32_t heads;
  uint32_t layer;
  uint32_t max_rows;   // rows per layer in the address table
  uint32_t q_stride;   // floats between rows of q
  uint32_t kv_stride;  // floats between rows of k and v
  uint32_t kv_type;    // the rows this dispatch takes: those of caches of this KvType
  uint32_t pad0;
};
static_assert(sizeof(KvAppendRowsPC) == 48);
static_assert(offsetof(KvAppendRowsPC, max_rows) == 28);
static_assert(offsetof(KvAppendRowsPC, kv_type) == 40);

// attn_rows.comp: attn_decode.comp for one row of each of many streams.
// Grid: (split, kv head, row).
struct AttnRowsPC {
  uint32_t heads;
  uint32_t kv_heads;
  uint32_t layer;
  uint32_t max_rows;
  float scale;
  uint32_t has_sink_logit;
  uint32_t sink_offset;  // this layer's sink logits
  uint32_t out_stride;   // floats between output rows
  uint32_t part_rows;    // (head, split) partial rows per row
  uint32_t kv_type;      // the rows this dispatch takes: those of caches of this KvType
  float softcap;         // as AttnSplitPC's
  uint32_t pad1;
};
static_assert(sizeof(AttnRowsPC) == 48);
static_assert(offsetof(AttnRowsPC, softcap) == 40);
static_assert(offsetof(AttnRowsPC, scale) == 16);
static_assert(offsetof(AttnRowsPC, kv_type) == 36);

// attn_probe.comp: attention on the first `first` stream tokens, per head (analysis).
struct AttnProbePC {
  uint32_t heads;
  uint32_t kv_heads;
  uint32_t head_dim;
  uint32_t cache_sinks;
  uint32_t sinks;
  uint32_t window;
  uint32_t ring_filled;  // must not have wrapped: the probe reads the first tokens from the oldest slots
  uint32_t first;
  float scale;
  uint32_t has_sink_logit;
  uint32_t sink_offset;
  uint32_t out_offset;
  float softcap;  // as AttnSplitPC's
  uint32_t pad0, pad1, pad2;
};
static_assert(sizeof(AttnProbePC) == 64);
static_assert(offsetof(AttnProbePC, softcap) == 48);
static_assert(offsetof(AttnProbePC, scale) == 32);

// attn_reduce.comp: combine split partials (and the learned sink logit) per (head, query).
struct AttnReducePC {
  uint32_t n_queries;
  uint32_t heads;
  uint32_t head_dim;
  uint32_t n_splits;
  uint32_t has_sink_logit;
  uint32_t sink_offset;     // float offset of this layer's sink logits
  uint32_t out_offset;      // float offset of query 0, head 0 in the output
  uint32_t out_stride;      // floats between query tokens in the output
};
static_assert(sizeof(AttnReducePC) == 32);
static_assert(offsetof(AttnReducePC, out_stride) == 28);

}  // namespace sinkstream::kv
