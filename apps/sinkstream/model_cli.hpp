// What generate, chat, info and the evidence tools share: loading a model and
// its tokenizer from the command line, and the engine options.
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
#include "sinkstream/gpu.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"
#include "sinkstream/session.hpp"

namespace sinkstream::app {

// Options every model command accepts (values), added to a command's own.
std::set<std::string> model_options();
// Help text for them.
extern const char* const kModelOptionsHelp;

struct LoadedModel {
  std::unique_ptr<model::ModelFile> file;
  std::unique_ptr<model::Tokenizer> tokenizer;
};

// --model PATH [--tokenizer PATH]: a GGUF carries its tokenizer; a llama2.c
// checkpoint needs --tokenizer tok.bin.
LoadedModel load_model_and_tokenizer(const cli::Args& a);
model::EngineConfig engine_config(const cli::Args& a);
// The same through the public API: --model, --tokenizer and --device.
Model load_model(const cli::Args& a);
// --sinks, --window / --ctx-size, --kv-type, --chunk.
StreamSettings stream_settings(const cli::Args& a);
// --temperature, --top-k, --top-p, --min-p, --repeat-penalty, --seed.
SamplerParams sampler_params(const cli::Args& a);
// The ids a model sees for a text: BOS (when the vocabulary has one), then the
// text's tokens; control-token text is parsed as such only when `parse_special`.
std::vector<int32_t> bos_and_encode(const model::Tokenizer& tok, const std::string& text,
                                    bool parse_special);
// --seed S; absent or -1: a random seed (print it, so a run can be repeated).
uint64_t seed_option(const cli::Args& a);
model::SamplerConfig sampler_config(const cli::Args& a);
// --tokens N where 0 (or llama.cpp's -1) means no limit.
uint64_t token_limit(const cli::Args& a, const std::string& name, uint64_t fallback);
GpuOptions gpu_options(const cli::Args& a);
// generate --prompts FILE (cmd_generate_batch.cpp).
int generate_prompts(const cli::Args& a);

}  // namespace sinkstream::app
