// libFuzzer target: encode/decode/streaming-decode of arbitrary bytes with real SPM and BPE
// vocabularies (fixtures from $SINKSTREAM_FIXTURES, default ../shared/fixtures).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "format/gguf.hpp"
#include "text/tokenizer.hpp"
#include "text/vocab.hpp"
#include "sinkstream/error.hpp"
using namespace sinkstream::model;
#include <filesystem>
// A fixture vocabulary, or the project's own SentencePiece one when the fixtures are absent.
static std::unique_ptr<Tokenizer> load(const char* name) {
  const char* dir = std::getenv("SINKSTREAM_FIXTURES");
  std::string path = std::string(dir ? dir : "../shared/fixtures") + "/tokenizers/" + name;
  if (!std::filesystem::exists(path)) path = SINKSTREAM_OWN_VOCAB;
  return std::make_unique<Tokenizer>(vocab_from_gguf(GgufFile::open(path)));
}
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static auto spm = load("ggml-vocab-llama-spm.gguf");
  static auto bpe = load("ggml-vocab-gpt-2.gguf");
  static auto ds = load("ggml-vocab-deepseek-coder.gguf");
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Tokenizer& t = *(data[0] % 3 == 0 ? spm : data[0] % 3 == 1 ? bpe : ds);
  const auto ids = t.encode(text, data[0] & 4, data[0] & 8);
  (void)t.decode(ids);
  StreamingDecoder d(t);
  for (int32_t id : ids) (void)d.push(id);
  (void)d.flush();
  return 0;
}
