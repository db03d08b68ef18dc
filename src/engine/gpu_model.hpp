// A model's weights on one device, uploaded once. Any number of streams (an
// Engine each, or the streams of a Scheduler) run on one GpuModel: a stream
// adds only its KV cache and small state, never another copy of the weights.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/model_file.hpp"
#include "vk/context.hpp"

namespace sinkstream::model {

// A weight on the GPU in its file type.
struct GpuTensor {
  vk::GpuBuffer buffer;
  GgmlType type = GgmlType::f32;
  uint32_t rows = 0, cols = 0, row_bytes = 0;
};

// Uploads one weight in the layout the kernels read (Q8_0 / Q4_0 rows re-packed).
GpuTensor upload_tensor(vk::Context& ctx, const Tensor& t);

struct GpuLayerWeights {
  GpuTensor attn_norm, wq, wk, wv, wo, ffn_norm, gate, up, down;
  std::optional<GpuTensor> bq, bk, bv;
  std::optional<GpuTensor> q_norm, k_norm;  // (head_dim), qwen3
  std::optional<GpuTensor> post_attn_norm, post_ffn_norm;  // (dim), gemma
  std::optional<GpuTensor> bo;  // (dim), gpt-oss
  // Mixture of experts: gate, up and down hold every expert's rows, expert by expert.
  std::optional<GpuTensor> router, router_b;       // (experts, dim), (experts)
  std::optional<GpuTensor> gate_b, up_b, down_b;   // (expert, ffn), (expert, ffn), (expert, dim)
};

class GpuModel {
 public:
  // Uploads every weight. Throws OutOfDeviceMemory before uploading anything
  // when the weights plus `reserve_bytes` (the first stream's cache and
  // activations) cannot fit.
  GpuModel(vk::Context& ctx, const ModelFile& file, uint64_t reserve_bytes = 0);
  GpuModel(const GpuModel&) = delete;
  GpuModel& operator=(const GpuModel&) = delete;

  vk::Context& context() const { return *ctx_; }
  const HParams& hparams() const { return hp_; }
  const std::string& path() const { return path_; }
  uint64_t weight_bytes() const { return weight_bytes_; }  // in the file's types
  uint64_t device_bytes() const { return device_bytes_; }  // what the upload allocated

  const GpuTensor& tok_embd() const { return tok_embd_; }
  const GpuTensor& output_norm() const { return output_norm_; }
  // The output projection (the embedding when the file ties them).
  const GpuTensor& output() const { return output_.rows ? output_ : tok_embd_; }
  const std::vector<GpuLayerWeights>& layers() const { return layers_; }
  const vk::GpuBuffer& sink_logits() const { return sinks_; }  // (layer, head)
  const vk::GpuBuffer& placeholder() const { return dummy_; }  // bound where an input is absent

 private:
  vk::Context* ctx_;
  HParams hp_;
  std::string path_;
  uint64_t weight_bytes_ = 0, device_bytes_ = 0;
  GpuTensor tok_embd_, output_norm_, output_;
  std::vector<GpuLayerWeights> layers_;
  vk::GpuBuffer sinks_;
  vk::GpuBuffer dummy_;
};

// "12 MiB": how the out-of-memory messages print sizes.
std::string mib(uint64_t bytes);

}  // namespace sinkstream::model
