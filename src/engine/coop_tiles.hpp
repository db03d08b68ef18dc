// How a chunk product is cut up for matmul_coop.comp: the tile variant of each
// weight matrix and the number of workgroups along K.
#pragma once
#include <cstdint>
#include <string>

#include "format/gguf.hpp"

namespace sinkstream::model {

constexpr uint32_t kCoopK = 32;       // BK in matmul_coop.comp: K must be a multiple
constexpr uint32_t kMaxKSplits = 8;   // workgroups along K, at most
constexpr uint32_t kMinSplitK = 256;  // columns each of them sums, at least

// A tile of matmul_coop.comp: its compiled variant and geometry.
struct CoopTile {
  std::string shader;
  uint32_t tokens = 0;    // BM
  uint32_t rows = 0;      // BN
  bool k_splits = false;  // too few tiles to fill the GPU: split along K (coop_k_splits)
  uint32_t subgroups() const { return tokens / 32 * 2; }  // (BM / 32) x WN = 2, 32 wide
  uint32_t threads() const { return subgroups() * 32; }
};

// Shared memory of matmul_coop.comp for a tile (mirrors its declarations).
uint32_t coop_shared_bytes(GgmlType t, const CoopTile& tile);

// The tile of the chunk product for a matrix of `rows` weight rows, where the
// engine can (`can_split`) or cannot split products along K; an empty shader
// where no tile fits `max_shared` bytes (the portable product runs instead).
CoopTile coop_tile(GgmlType t, uint32_t rows, uint32_t max_shared, bool can_split);

// The tile of matmul_coop.comp's fused gate/up + SwiGLU variant (COOP_GLU) for an
// FFN of `rows`, taking tile.rows / 2 outputs per workgroup; an empty shader where
// the FFN is narrow (its products split along K instead).
CoopTile coop_glu_tile(GgmlType t, uint32_t rows, uint32_t max_shared);

// Workgroups along K for a product of `tiles` workgroups with `k` columns: 1, 2,
// 4 or 8, doubled while the GPU would have fewer than `target` workgroups and
// each share keeps at least kMinSplitK columns in whole k steps. target 0: 1.
uint32_t coop_k_splits(uint32_t tiles, uint32_t k, uint32_t target);

}  // namespace sinkstream::model
