// The backend on the library's public Scheduler (the one serve/ file that talks to the engine).
#pragma once
#include <memory>

#include "cli.hpp"
#include "serve/backend.hpp"

namespace sinkstream::serve {

// Loads the model named by the CLI's model options (--model, --tokenizer,
// --sinks, --window, --ctx-size, --kv-type, --chunk, --device, --chat-template,
// --alias) onto the GPU, with room for `max_streams` streams.
std::unique_ptr<Backend> make_scheduler_backend(const cli::Args& a, uint32_t max_streams);

}  // namespace sinkstream::serve
