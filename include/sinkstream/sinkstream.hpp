// sinkstream's C++ API in one include: models, endless streams, sampling,
// chat turns, the multi-stream scheduler, tokenizers, perplexity, the sink
// analysis and the benchmarks. (The C API is sinkstream.h.)
#pragma once
#include "sinkstream/analysis.hpp"
#include "sinkstream/bench.hpp"
#include "sinkstream/chat.hpp"
#include "sinkstream/config.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/eval.hpp"
#include "sinkstream/harmony.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"
#include "sinkstream/scheduler.hpp"
#include "sinkstream/session.hpp"
#include "sinkstream/tokenizer.hpp"
#include "sinkstream/version.hpp"
