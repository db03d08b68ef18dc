// libFuzzer target: the GGUF reader on arbitrary bytes (must throw sinkstream::Error or succeed).
#include <cstdint>
#include <span>
#include "format/gguf.hpp"
#include "format/model_file.hpp"
#include "sinkstream/error.hpp"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto g = sinkstream::model::GgufFile::parse({data, size}, "fuzz");
    for (const auto& [k, v] : g.metadata()) (void)k;
    for (const auto& t : g.tensors()) if (!t.data.empty()) (void)t.data[t.data.size() - 1];
  } catch (const sinkstream::Error&) {}
  return 0;
}
