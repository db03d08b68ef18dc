// The model options every model command shares, read into the public API's
// types (the CLI sees include/sinkstream only).
#pragma once
#include <cstdint>
#include <set>
#include <string>

#include "cli.hpp"
#include "sinkstream/gpu.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"
#include "sinkstream/session.hpp"

namespace sinkstream::app {

// Options every model command accepts (values), added to a command's own.
std::set<std::string> model_options();
// Help text for them.
extern const char* const kModelOptionsHelp;

// --model, --tokenizer and --device; with_tokenizer false: the model alone
// (--tokenizer ignored), for the commands that feed token ids.
Model load_model(const cli::Args& a, bool with_tokenizer = true);
// --kv-type f16 | f32 | q8_0 (default f16).
KvType kv_type_option(const cli::Args& a);
// --sinks, --window / --ctx-size, --kv-type, --chunk.
StreamSettings stream_settings(const cli::Args& a);
// --temperature, --top-k, --top-p, --min-p, --repeat-penalty, --seed.
SamplerParams sampler_params(const cli::Args& a);
// --seed S; absent or -1: a random seed (print it, so a run can be repeated).
uint64_t seed_option(const cli::Args& a);
// --tokens N where 0 (or llama.cpp's -1) means no limit.
uint64_t token_limit(const cli::Args& a, const std::string& name, uint64_t fallback);
GpuOptions gpu_options(const cli::Args& a);
// --chat-template NAME picks a built-in format; --chat-template FILE renders the
// file's Jinja template as Hugging Face does; otherwise the built-in format of
// the model's template family (a warning on stderr when none is recognised).
// `chat` and `serve`.
ChatTemplate chat_template_option(const cli::Args& a, const Model& model);
// generate --prompts FILE (cmd_generate_batch.cpp).
int generate_prompts(const cli::Args& a);

}  // namespace sinkstream::app
