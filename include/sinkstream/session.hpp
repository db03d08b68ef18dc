// One endless stream of text on a Model: a sinks + window KV cache of fixed
// size (the first `sinks` tokens stay pinned, the window keeps the most recent
// ones, older text is forgotten), fed tokens or text, sampled, generated from.
//
// Thread safety: one Stream is used by one thread at a time. Different Streams
// (on the same Model or not) may run on different threads at once.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinkstream/config.hpp"
#include "sinkstream/export.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"

namespace sinkstream {

struct StreamSettings {
  uint32_t sinks = 4;            // pinned attention-sink slots
  uint32_t window = 0;           // window slots; 0: the model's training context minus the sinks
  KvType kv_type = KvType::f16;  // cache element type (q8_0: about half of f16's memory)
  uint32_t chunk = 64;           // most tokens per GPU submission while feeding
  bool check_finite = false;     // NaN/Inf guard: NumericalError names the first op that made one
};

struct StreamStats {
  uint64_t tokens = 0;        // fed since the stream started (or was reset)
  uint64_t evicted = 0;       // tokens that have left the window
  uint32_t slots_used = 0;    // filled sink + window slots
  uint32_t capacity = 0;      // sinks + window
  uint32_t sinks = 0, window = 0;
  uint64_t device_bytes = 0;  // weights + this stream's cache and activations
};

// Why a generation (or a scheduler request) ended.
enum class StopReason {
  none,         // still running
  end_of_generation,  // the model produced an end-of-generation (stop) token
  max_tokens,   // the token limit
  stop_string,  // a stop string completed
  callback,     // the token callback returned false
  cancelled,    // Scheduler::cancel / destroy
  error,        // the request failed (scheduler: see Finish::error)
};
SINKSTREAM_API const char* stop_reason_name(StopReason r);  // "eos", "length", "stop", "callback", ...

struct GenerateOptions {
  uint64_t max_tokens = 256;              // 0: no limit
  std::vector<std::string> stop_strings;  // end where the text produces one (not shown)
  bool ignore_eos = false;                // keep going past end-of-generation tokens
  // As SentencePiece (and llama2.c) do, the first piece after a bare BOS loses
  // its leading space (only when the stream holds nothing but that one token).
  bool strip_space_after_bos = true;
};

// Called for every generated token with the text that became showable with it
// (UTF-8-complete, stop strings held back; may be empty). Returning false stops
// generation after this token. End-of-generation tokens are not handed over.
// Once generation ends, text still held back comes in one last call with
// token == kNoToken (its return value is ignored).
inline constexpr int32_t kNoToken = -1;
using TokenCallback = std::function<bool(int32_t token, std::string_view text)>;

struct GenerateResult {
  StopReason reason = StopReason::none;
  std::vector<int32_t> tokens;  // generated, as handed to the callback
  double decode_seconds = 0;
};

// Feeding progress: tokens fed so far of the total; false stops feeding (the
// tokens fed stay in the stream).
using FeedProgress = std::function<bool(uint64_t fed, uint64_t total)>;

class SINKSTREAM_API Stream {
 public:
  // Allocates the stream's cache (and uploads the model's weights if no stream
  // did yet). Throws OutOfDeviceMemory saying what would fit, or InvalidArgument.
  Stream(const Model& model, const StreamSettings& settings = {});
  ~Stream();
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;

  // Feeds tokens (any number, in chunks); returns the logits after the last
  // one (vocab floats, valid until the next call that feeds). Throws
  // InvalidArgument for ids out of range.
  std::span<const float> feed(std::span<const int32_t> tokens);
  // Feeds tokens and returns the logits of every one, shape (tokens, vocab),
  // valid until the next call that feeds (for evaluation and cross-checks).
  std::span<const float> feed_all_logits(std::span<const int32_t> tokens);
  // The same as feed(), calling `progress` after every chunk; returns the number fed.
  uint64_t feed(std::span<const int32_t> tokens, const FeedProgress& progress);
  // Tokenizes and feeds text (BOS first when options.add_bos and the stream is empty).
  std::span<const float> feed_text(std::string_view text, const TokenizeOptions& options = {});
  // The logits after the last token fed (empty before the first feed).
  std::span<const float> logits() const;

  // Picks the next token from logits() (does not feed it).
  int32_t sample(Sampler& sampler) const;

  // Generates from the current logits until a stop condition: samples a
  // token, hands it to on_token, feeds it, and so on. Plain greedy sampling
  // decodes several steps per GPU submission with the pick on the GPU (the
  // same tokens as one at a time); tokens past the last one handed over may
  // then be in the cache. The sampler records every generated token.
  // Needs a fed stream (InvalidArgument otherwise).
  GenerateResult generate(Sampler& sampler, const GenerateOptions& options, const TokenCallback& on_token);

  StreamStats stats() const;
  // The cache's configuration (the window resolved, the model's shapes).
  const StreamConfig& cache_config() const;
  // Forgets everything: the next feed starts at position 0 in an empty cache.
  void reset();
  const Model& model() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

using Session = Stream;

}  // namespace sinkstream
