// What a public Model is inside: the device, the mapped file, the tokenizer,
// and the weights on the device once the first stream or scheduler needs them.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "engine/engine.hpp"
#include "engine/gpu_model.hpp"
#include "format/model_file.hpp"
#include "sample/sampler.hpp"
#include "sinkstream/gpu.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"
#include "sinkstream/session.hpp"
#include "text/chat_template.hpp"
#include "text/tokenizer.hpp"

namespace sinkstream::text::jinja {
class Template;
}

namespace sinkstream {

namespace detail {

struct TokenizerImpl {
  model::Tokenizer tokenizer;
};

// The model file and its tokenizer (the file's own, or `tokenizer_path`),
// checked against each other.
std::pair<std::unique_ptr<model::ModelFile>, std::shared_ptr<const TokenizerImpl>> load_file_and_tokenizer(
    const std::string& path, const std::string& tokenizer_path, bool load_tokenizer = true);

struct ModelImpl {
  // Declared first, destroyed last: everything below lives on its device.
  std::unique_ptr<Gpu> gpu;
  std::unique_ptr<model::ModelFile> file;
  std::shared_ptr<const TokenizerImpl> tok;
  // Throws InvalidArgument when the model was loaded without one.
  const model::Tokenizer& tokenizer() const;

  // The weights, uploaded for a first stream of `first`: fails before
  // uploading when they and that stream cannot fit together.
  std::shared_ptr<const model::GpuModel> weights_for(const model::EngineConfig& first);
  // The weights with no stream reserved (a scheduler sizes its streams itself).
  std::shared_ptr<const model::GpuModel> weights();

 private:
  std::mutex mutex_;
  std::shared_ptr<const model::GpuModel> weights_;
};

model::EngineConfig engine_config(const StreamSettings& s);
model::SamplerConfig sampler_config(const SamplerParams& p);

}  // namespace detail

struct ChatTemplate::Impl {
  model::ChatFormat format = model::ChatFormat::plain;
  std::shared_ptr<const text::jinja::Template> jinja;  // set: a Jinja template
  std::string name;
};

}  // namespace sinkstream
