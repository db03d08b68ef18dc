#version 450
// Groups a step's (token, slot) pairs by the expert moe_route.comp chose for
// them, so that the expert products of a chunk read a chosen expert's rows once
// per tile of up to `tile_pairs` of its pairs (moe_matmul.comp with MT > 1)
// instead of once per pair. One workgroup, one thread per expert: a stable
// counting sort (an expert's pairs keep their order) and the list of tiles, each
// of one expert. Tiles past the last are written empty, so the products can be
// dispatched for the most tiles a step of this size can have.
#extension GL_GOOGLE_include_directive : require
#define PC_MOE_GROUP
#include "model_pc.glsl"

const uint WG = 256u;  // >= the loader's most experts (256)
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Sel { uint sel[]; };     // (pair) expert
// (tile, 2): first position, pair count; then from 2 * max_tiles, (position) pair.
layout(std430, binding = 1) writeonly buffer Group { uint grp[]; };

const uint STAGE = 1024u;  // pairs staged in shared memory at a time
shared uint sel_sh[STAGE];
shared uint count_sh[WG], pos_sh[WG], tile_sh[WG];
shared uint tiles_sh;

// Pairs [base, base + n) of sel into sel_sh (n <= STAGE), with barriers around.
uint stage(uint base) {
  const uint n = min(STAGE, pc.pairs - base);
  barrier();
  for (uint i = gl_LocalInvocationID.x; i < n; i += WG) sel_sh[i] = sel[base + i];
  barrier();
  return n;
}

void main() {
  const uint e = gl_LocalInvocationID.x;
  uint count = 0u;
  for (uint base = 0u; base < pc.pairs; base += STAGE) {
    const uint n = stage(base);
    for (uint i = 0u; i < n; ++i) count += sel_sh[i] == e ? 1u : 0u;
  }
  count_sh[e] = count;
  barrier();
  if (e == 0u) {  // at most 256 experts: a serial prefix sum is cheap
    uint pos = 0u, tiles = 0u;
    for (uint j = 0u; j < pc.experts; ++j) {
      pos_sh[j] = pos;
      tile_sh[j] = tiles;
      pos += count_sh[j];
      tiles += (count_sh[j] + pc.tile_pairs - 1u) / pc.tile_pairs;
    }
    tiles_sh = tiles;
  }
  barrier();
  const uint first = e < pc.experts ? pos_sh[e] : 0u;
  uint placed = 0u;
  for (uint base = 0u; base < pc.pairs; base += STAGE) {
    const uint n = stage(base);
    for (uint i = 0u; i < n; ++i)
      if (sel_sh[i] == e) grp[2u * pc.max_tiles + first + placed++] = base + i;
  }
  for (uint i = 0u; i * pc.tile_pairs < count; ++i) {
    const uint t = tile_sh[e] + i;
    grp[2u * t] = first + i * pc.tile_pairs;
    grp[2u * t + 1u] = min(pc.tile_pairs, count - i * pc.tile_pairs);
  }
  for (uint t = tiles_sh + e; t < pc.max_tiles; t += WG) {
    grp[2u * t] = 0u;
    grp[2u * t + 1u] = 0u;
  }
}
