// What generate, info and the evidence tools share on the engine's internal
// types; the public-API half (model_args.hpp) is all chat and serve need.
#pragma once
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli.hpp"
#include "engine/engine.hpp"
#include "format/model_file.hpp"
#include "sample/sampler.hpp"
#include "text/tokenizer.hpp"
#include "model_args.hpp"

namespace sinkstream::app {

struct LoadedModel {
  std::unique_ptr<model::ModelFile> file;
  std::unique_ptr<model::Tokenizer> tokenizer;
};

// --model PATH [--tokenizer PATH]: a GGUF carries its tokenizer; a llama2.c
// checkpoint needs --tokenizer tok.bin.
LoadedModel load_model_and_tokenizer(const cli::Args& a);
model::EngineConfig engine_config(const cli::Args& a);
// The ids a model sees for a text: BOS (when the vocabulary has one), then the
// text's tokens; control-token text is parsed as such only when `parse_special`.
std::vector<int32_t> bos_and_encode(const model::Tokenizer& tok, const std::string& text,
                                    bool parse_special);
model::SamplerConfig sampler_config(const cli::Args& a);
// generate --prompts FILE (cmd_generate_batch.cpp).
int generate_prompts(const cli::Args& a);

}  // namespace sinkstream::app
