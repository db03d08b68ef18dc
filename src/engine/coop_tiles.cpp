#include "engine/coop_tiles.hpp"

#include "engine/forward_layer.hpp"

namespace sinkstream::model {

// x split in two, the weights split in two unless float16 holds them, one 16 x 16
// float accumulator per subgroup, rows padded to 5 x 16 bytes.
uint32_t coop_shared_bytes(GgmlType t, const CoopTile& tile) {
  const bool split_w = t != GgmlType::f16 && t != GgmlType::bf16;
  return 2 * tile.tokens * 80 + (split_w ? 2 : 1) * tile.rows * 80 + tile.subgroups() * 1024;
}

// The products are bound by what the tiles fetch from L2 and stage, not by the
// tensor cores (on the H100 every F16 product moved 2.0-2.6 TB/s into the SMs),
// so tiles are as large as still fills the GPU.
// - Wide matrices (>= 8192 rows; gate and up) fill it with any tile. Types other
//   than F16 take 128 tokens, so each dequantised and split weight tile
//   serves twice the tokens: gate/up went from 41.7 to 21.6 us per token for Q8_0
//   and from 35.2 to 19.9 for Q4_0 (pp512 of the Llama-3.2-1B shape). F16, which
//   stages without conversion, gained nothing (14.2 against 15.2).
// - Narrow ones (a 512-token chunk of 2048 rows is only 128 tiles of 64 x 128)
//   take the same large tiles and split along K to fill the GPU: ffn_down went
//   from 9.5 to 7.5 us per token for F16 (64 x 128) and from 12.1 to 9.8 for
//   Q8_0 (128 x 128) against 64 x 64 tiles unsplit, which stay where the engine
//   cannot split. Wide matrices lost when split (F16 gate/up 14.0 -> 16.6).
CoopTile coop_tile(GgmlType t, uint32_t rows, uint32_t max_shared, bool can_split) {
  const std::string w = weight_variant(t);
  const bool narrow = rows < 8192;
  CoopTile tile{"matmul_coop_" + w, 64, 128, narrow};
  const CoopTile wide{"matmul_coop128_" + w, 128, 128, narrow};
  if (narrow && !can_split)
    tile = {"matmul_coop64_" + w, 64, 64, false};
  else if (t != GgmlType::f16 && coop_shared_bytes(t, wide) <= max_shared)
    tile = wide;
  return coop_shared_bytes(t, tile) <= max_shared ? tile : CoopTile{};
}

CoopTile coop_glu_tile(GgmlType t, uint32_t rows, uint32_t max_shared) {
  CoopTile tile = coop_tile(t, rows, max_shared, true);
  if (tile.shader.empty() || tile.k_splits) return {};
  tile.shader = std::string(tile.tokens == 128 ? "matmul_coop128_glu_" : "matmul_coop_glu_") +
                weight_variant(t);
  return tile;
}

uint32_t coop_k_splits(uint32_t tiles, uint32_t k, uint32_t target) {
  uint32_t s = 1;
  while (s < kMaxKSplits && uint64_t{tiles} * s < target && k % (2 * s * kCoopK) == 0 &&
         k / (2 * s) >= kMinSplitK)
    s *= 2;
  return s;
}

}  // namespace sinkstream::model
