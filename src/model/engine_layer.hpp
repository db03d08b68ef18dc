// What engine.cpp and engine_decode.cpp share: one layer's weights on the GPU
// with the binding sets of the chunk path and of the fused one-token path, and
// the shader variant of each weight type.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "model/engine.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::model {

using vk::ceil_div;

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
    default:
      throw Error(std::string("internal error: no kernel for weight type ") + ggml_type_name(t));
  }
}

struct Engine::Layer {
  GpuTensor attn_norm, wq, wk, wv, wo, ffn_norm, gate, up, down;
  std::optional<GpuTensor> bq, bk, bv;
  vk::BindingSet norm1, norm2, swiglu;
  MatmulSets q, k, v, o, gate_set, up_set, down_set;
};

// The binding sets of the fused one-token path (engine_decode.cpp).
struct Engine::Matvec {
  vk::BindingSet set;
  uint32_t rows = 0;  // weight rows per workgroup (ROWS in matvec.comp)
};

struct Engine::DecodeSets {
  struct LayerSets {
    Matvec q, k, v, o, gate_up, down;
  };
  std::vector<LayerSets> layers;
  Matvec logits;
  vk::DescriptorPool pool;
};

}  // namespace sinkstream::model
