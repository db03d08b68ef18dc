// A Hugging Face checkpoint folder (config.json, *.safetensors, and the
// tokenizer files) read for conversion to GGUF by `sinkstream-convert`.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "format/mapped_file.hpp"
#include "testing/gguf_writer.hpp"

namespace sinkstream::convert {

// One tensor of a safetensors file: its dtype ("F32", "F16", "BF16", "U8"), shape
// (outermost first, as PyTorch) and bytes inside the file's mapping.
struct HfTensor {
  std::string dtype;
  std::vector<uint64_t> shape;
  std::span<const uint8_t> data;
};

class HfCheckpoint {
 public:
  // Reads config.json and maps every *.safetensors file of `dir`; throws
  // InvalidArgument naming what is missing or malformed.
  explicit HfCheckpoint(const std::string& dir);

  const nlohmann::json& config() const { return config_; }
  const std::string& dir() const { return dir_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  const HfTensor& tensor(const std::string& name) const;  // throws naming the tensor
  // Every element as float (F32, F16 and BF16 exactly).
  std::vector<float> floats(const std::string& name) const;
  const std::map<std::string, HfTensor>& tensors() const { return tensors_; }

 private:
  std::string dir_;
  nlohmann::json config_;
  std::vector<model::MappedFile> files_;
  std::map<std::string, HfTensor> tensors_;
};

// Adds tokenizer.* from tokenizer.json / tokenizer_config.json (byte-level BPE:
// vocabulary, merges, added and special tokens, BOS/EOS, the chat template).
// Without tokenizer.json and with `placeholder`, a vocabulary of byte tokens
// and numbered pieces of the config's vocab_size (for random test models).
void add_tokenizer(model::GgufWriter& w, const HfCheckpoint& ckpt, const std::string& pre,
                   uint32_t vocab_size, bool placeholder);

}  // namespace sinkstream::convert
