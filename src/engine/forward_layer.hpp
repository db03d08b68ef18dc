// What forward.cpp, forward_products.cpp and forward_decode.cpp share: one
// layer's binding sets of the chunk path and of the fused one-token path, the
// shader variant of each weight type, and workgroup sizes.
#pragma once
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "engine/forward.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {

using vk::ceil_div;

constexpr uint32_t kElementwiseGroup = 64;  // elementwise kernels
constexpr uint32_t kMatmulGroup = 128;      // threads per matmul workgroup, at most
constexpr uint32_t kMatmulRows = 2;         // RN in matmul.comp
constexpr uint32_t kMatmulTokens = 8;       // MT in matmul.comp for chunks; decode uses MT = 1
constexpr uint32_t kSplitReduceGroup = 256;
constexpr uint32_t kMoeTilePairs = 8;       // MT in moe_matmul.comp for chunks: pairs of one expert per tile

// The most tiles of one expert's pairs moe_group.comp makes for `pairs` pairs:
// full tiles, plus one part-filled tile for each expert that has pairs.
inline uint32_t moe_max_tiles(uint32_t pairs, uint32_t experts) {
  return ceil_div(pairs, kMoeTilePairs) + std::min(pairs, experts);
}

// Threads of a portable product's workgroup (matmul.comp, moe_matmul.comp): one
// vec4 of K each, from 32 up to kMatmulGroup. Each output's partial sums are added
// up by one thread, so a 128-thread group over a short row (the small models' K of
// 64) spent more time adding idle threads' zeros than multiplying.
inline uint32_t matmul_group(uint32_t k_cols) {
  uint32_t g = 32;
  while (g < kMatmulGroup && g * 4 < k_cols) g *= 2;
  return g;
}

// The push constants of a product's shapes and flags (m_rows and n_rows are set when recorded).
inline MatmulPC matmul_io(const GpuTensor& w, uint32_t in_stride, uint32_t out_stride,
                          bool accumulate, bool bias) {
  MatmulPC pc{};
  pc.k_cols = w.cols;
  pc.row_bytes = w.row_bytes;
  pc.x_stride = in_stride;
  pc.out_stride = out_stride;
  pc.accumulate = accumulate;
  pc.has_bias = bias;
  return pc;
}

// The -D suffix of the weight kernels (matmul_, matvec_, embed_) for a weight type.
inline const char* weight_variant(GgmlType t) {
  switch (t) {
    case GgmlType::f32:
      return "f32";
    case GgmlType::f16:
      return "f16";
    case GgmlType::bf16:
      return "bf16";
    case GgmlType::q8_0:
      return "q8_0";
    case GgmlType::q4_0:
      return "q4_0";
    case GgmlType::q4_1:
      return "q4_1";
    case GgmlType::q5_0:
      return "q5_0";
    case GgmlType::q5_1:
      return "q5_1";
    case GgmlType::q2_k:
      return "q2_k";
    case GgmlType::q3_k:
      return "q3_k";
    case GgmlType::q4_k:
      return "q4_k";
    case GgmlType::q5_k:
      return "q5_k";
    case GgmlType::q6_k:
      return "q6_k";
    case GgmlType::iq4_nl:
      return "iq4_nl";
    case GgmlType::iq4_xs:
      return "iq4_xs";
    case GgmlType::mxfp4:
      return "mxfp4";
    default:
      throw Error(std::string("internal error: no kernel for weight type ") + ggml_type_name(t));
  }
}

// The fused one-token product (matvec.comp, forward_decode.cpp): whether the
// device runs it, whether a weight's K suits it, and its kernel for a weight
// with RMSNorm and/or the SwiGLU up matrix fused in (ROWS = kMatvecRows).
constexpr uint32_t kMatvecRows = 2;
bool matvec_available(const vk::DeviceInfo& info);
bool matvec_fits(const GpuTensor& w);
// int_dot: the integer-dot-product variant (Q8_0 and Q4_0 weights, activations
// quantised to int8 per 16), where integer_dot() allows it.
vk::KernelDesc matvec_desc(const vk::DeviceInfo& info, const GpuTensor& w, bool norm, bool swiglu,
                           bool int_dot = false);
// Whether decode products take integer dot products: where the driver says they
// are accelerated, unless SINKSTREAM_INTEGER_DOT=0; =1 takes them wherever the
// device has them (lavapipe, for the tests).
bool integer_dot(const vk::DeviceInfo& info);
bool has_integer_dot_kernel(GgmlType t);

struct Forward::Layer {
  const GpuLayerWeights* w = nullptr;  // the model's
  vk::BindingSet norm1, norm2, swiglu;
  vk::BindingSet q_norm, k_norm;  // qwen3: each head of q_ / k_ normalised in place
  // gemma: the attention output and the FFN's go to xn_, then their RMSNorms add into x_.
  vk::BindingSet post_attn, post_ffn;
  MatmulSets q, k, v, o, gate_set, up_set, down_set;
  vk::BindingSet glu;  // chunks: gate/up and SwiGLU in one product (kernel null where not)
  CoopTile glu_tile;
  // Mixture of experts (forward_moe.cpp): the router's product, the routing, the
  // experts' gate, up and down products (one pair per workgroup, and tiles of
  // one expert's pairs), the weighted residual add.
  MatmulSets router;
  vk::BindingSet route, moe_gate, moe_up, moe_down, combine;
  vk::BindingSet moe_gate_tiles, moe_up_tiles, moe_down_tiles;
};

// The binding sets of the fused one-token path (engine_decode.cpp).
struct Forward::Matvec {
  vk::BindingSet set;
  uint32_t rows = 0;  // weight rows per workgroup (ROWS in matvec.comp)
};

struct Forward::DecodeSets {
  struct LayerSets {
    Matvec q, k, v, o, gate_up, down;
  };
  std::vector<LayerSets> layers;
  Matvec logits;           // one row: RMSNorm fused, from x
  Matvec logits_gathered;  // several rows: from the final RMSNorm's gathered rows
  vk::DescriptorPool pool;
};

}  // namespace sinkstream::model
