// The committed greedy token ids of the default model (models/), the end-to-end
// part of `sinkstream selftest`. tests/test_kernels.cpp recomputes them with the
// CPU reference (src/ref/model_ref), so a model swap without new ids fails there.
#pragma once
#include <cstdint>
#include <vector>

#include "format/model_file.hpp"

namespace sinkstream::check {

struct Golden {
  uint64_t fingerprint;    // of the token embedding's bytes (which model file this is)
  uint32_t sinks, window;  // the cache (f32 KV); 4 + 28 slots: the stream wraps
  int32_t first;           // the token greedy decoding starts from (BOS)
  std::vector<int32_t> ids;
};

const Golden& default_model_golden();
// FNV-1a of the token embedding's bytes.
uint64_t fingerprint(const model::ModelFile& m);
bool matches(const Golden& g, const model::ModelFile& m);

}  // namespace sinkstream::check
