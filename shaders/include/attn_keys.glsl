// Where the keys of a chunk's attention live, in the virtual order
//   [cache sinks][staged chunk sinks][ring slots][staged chunk window tokens]
// and which query sees which key. Shared by attn_split.comp and attn_coop.comp;
// the includer defines pc with the AttnSplitPC fields and the q[] and rope[] buffers.
#ifndef ATTN_KEYS_GLSL
#define ATTN_KEYS_GLSL

const uint CACHE_SINK = 0u, STAGED_SINK = 1u, RING = 2u, STAGED_WINDOW = 3u;

// Locates virtual key v. Returns its row (kv_head, slot) in the cache or the
// staging buffer; idx is the chunk token (staged kinds) or how many window
// tokens back from the chunk start the key is (RING).
uint locate(uint v, uint kvh, uint n_sink_keys, out uint kind, out uint idx) {
  if (v < pc.cache_sinks) {
    kind = CACHE_SINK;
    idx = 0u;
    return kvh * (pc.sinks + pc.window) + v;
  }
  if (v < n_sink_keys) {
    kind = STAGED_SINK;
    idx = v - pc.cache_sinks;
    return kvh * pc.stage_slots + idx;
  }
  const uint ri = v - n_sink_keys;
  if (ri < pc.ring_filled) {
    kind = RING;
    idx = (pc.ring_next + pc.window - 1u - ri) % pc.window + 1u;
    return kvh * (pc.sinks + pc.window) + pc.sinks + ri;
  }
  kind = STAGED_WINDOW;
  idx = pc.chunk_sinks + (ri - pc.ring_filled);
  return kvh * pc.stage_slots + idx;
}

// The chunk queries that see a key, as an interval [lo, hi] (empty when lo > hi):
// exactly what each would see if the chunk were run one token at a time.
ivec2 visible_range(uint kind, uint idx) {
  const int big = 0x7fffffff;
  if (kind == CACHE_SINK) return ivec2(0, big);
  if (kind == STAGED_SINK) return ivec2(int(idx), big);
  if (kind == RING) return ivec2(0, pc.ring_limit0 - int(idx));
  return ivec2(int(idx), int(idx) + int(pc.window) - 1);
}

bool visible(uint kind, uint idx, uint qi) {
  const ivec2 range = visible_range(kind, idx);
  return int(qi) >= range.x && int(qi) <= range.y;
}

// End of the keys that queries q0 .. q0 + bq - 1 can see: causal, no query of the
// block sees a staged window token after its last query.
uint keys_end(uint q0, uint bq) {
  const uint n_sink_keys = pc.cache_sinks + pc.chunk_sinks;
  const uint n_keys = n_sink_keys + pc.ring_filled + (pc.n_chunk - pc.chunk_sinks);
  const uint q_last = min(q0 + bq, pc.n_queries) - 1u;
  const uint staged = q_last + 1u > pc.chunk_sinks ? q_last + 1u - pc.chunk_sinks : 0u;
  return min(n_keys, n_sink_keys + pc.ring_filled + staged);
}

// Element d of query qi's head `head` rotated with table set `set` (0: by its
// stream index, for window keys; 1: by its cache position, for sink keys); 0 past
// the last query.
float rotated_query(uint qi, uint head, uint d, uint hd, uint set) {
  if (qi >= pc.n_queries) return 0.0;
  const uint base = pc.q_offset + qi * pc.q_stride + head * hd;
  uint pair, partner;
  bool first;
  float x = q[base + d];
  if (rope_pair(d, pc.rot_half, pc.neox != 0u, pair, partner, first))
    x = rope_apply(x, q[base + partner], first, rope[(qi * 2u + set) * pc.rot_half + pair]);
  return x;
}

#endif
