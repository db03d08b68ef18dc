// libFuzzer target: llama2.c checkpoints, GGUF models and tok*.bin tokenizers through the CLI's
// loading path (via a file: the loaders memory-map). The first byte picks the loader.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "format/model_file.hpp"
#include "text/vocab.hpp"
#include "sinkstream/error.hpp"
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // RAM-backed where there is /dev/shm: the file is rewritten for every input.
  static const std::string path =
      (std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path()) /
      ("sinkstream-fuzz-" + std::to_string(getpid()));
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    std::abort();  // fuzzing nothing would look like a clean run
  }
  if (size) std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  try {
    if (size && (data[0] & 1)) {
      auto v = sinkstream::model::vocab_from_llama2c(path);
      (void)v;
    } else {
      auto m = sinkstream::model::load_model(path);
      (void)m->weight_bytes();
    }
  } catch (const sinkstream::Error&) {
  }
  return 0;
}
