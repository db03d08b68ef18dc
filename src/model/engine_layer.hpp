// One layer's weights on the GPU with the binding sets of the chunk path, and
// those of the fused one-token path;
// shared by engine.cpp and engine_decode.cpp.
#pragma once
#include <optional>
#include <vector>

#include "model/engine.hpp"

namespace sinkstream::model {

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
