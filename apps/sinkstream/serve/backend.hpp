// The server's only contact with the engine: a model that renders and tokenizes
// prompts, and streams (sinks + window caches) that take requests. Everything
// else in serve/ (routes, OpenAI JSON, SSE, continuity, metrics) talks to this
// interface alone, so it is unit-tested with a fake backend and switching the
// engine to the public library API touches one file (backend_sched.cpp).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sinkstream::serve {

struct ChatMsg {
  std::string role;  // system, user, assistant, tool
  std::string content;
};

struct ModelDesc {
  std::string name;          // what /v1/models lists and requests must name
  std::string device;        // the GPU's name
  uint32_t context = 0;      // the model's training context
  uint32_t vocab = 0;
  uint32_t sinks = 4;        // a new stream's sink slots (more when a system prompt is pinned)
  uint32_t window = 0;       // a new stream's window slots
  std::string chat_format;   // the chat template's name
  // The template is OpenAI's harmony (gpt-oss): a chat reply is messages on
  // channels, generated text carries their special tokens, and the answer is
  // the final channel (the analysis channel is reasoning_content).
  bool harmony = false;
};

struct Sampling {
  float temperature = 0.8f;  // 0: greedy
  float top_p = 0.95f;
  uint32_t top_k = 40;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  uint64_t seed = 0;
};

// What ended a generation. `stop_token`: the model produced an end-of-generation
// token, which was neither handed out nor fed. Otherwise the last token handed
// out is not fed yet (the scheduler feeds a token on the step after it is picked).
enum class EndReason { length, stop_token, stopped_by_caller, cancelled, error };

struct GenEnd {
  EndReason reason = EndReason::length;
  uint32_t generated = 0;
  std::string error;
};

struct GenRequest {
  std::vector<int32_t> prompt;  // ids to feed before generating (never empty)
  uint32_t max_tokens = 0;
  Sampling sampling;
  bool first_piece_after_bos = false;  // the stream holds only BOS: trim the first piece's leading space
  // A generated token and its text (complete UTF-8 only); false stops after it.
  std::function<bool(int32_t id, const std::string& text)> on_token;
  // `tail`: text the decoder still held (an incomplete character at the end).
  std::function<void(const GenEnd& end, const std::string& tail)> on_end;
};

struct StreamState {
  uint64_t id = 0;
  uint32_t sinks = 0, window = 0, capacity = 0, slots_used = 0;
  uint64_t tokens = 0;     // fed since the stream began: the stream's position
  uint64_t evicted = 0;
  uint64_t generated = 0;
  uint64_t device_bytes = 0;
  bool busy = false;
};

struct EngineStats {
  uint64_t steps = 0, prompt_tokens = 0, generated_tokens = 0, evicted = 0;
  uint32_t live_streams = 0;
  uint64_t device_bytes = 0, weight_bytes = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const ModelDesc& model() const = 0;

  // The ids the model reads for a conversation (BOS and the chat template,
  // ending with the generation prompt when asked). Throws std::invalid_argument
  // when the template refuses the messages. With harmony and no generation
  // prompt, a last assistant message ends as in history (<|end|>, not <|return|>).
  virtual std::vector<int32_t> chat_ids(const std::vector<ChatMsg>& messages, bool generation_prompt) const = 0;
  // The ids the template puts after the last message's content (its end of
  // turn, e.g. "<|im_end|>\n"): what closes a reply in the stream.
  virtual std::vector<int32_t> turn_close_ids(const std::vector<ChatMsg>& messages) const = 0;
  // How many of those ids the system messages (and BOS) take: pinned as sinks.
  virtual uint32_t system_tokens(const std::vector<ChatMsg>& system) const = 0;
  // BOS, then the text's tokens, as `sinkstream generate --prompt` reads it.
  virtual std::vector<int32_t> text_prompt(const std::string& text) const = 0;
  virtual bool is_bos(int32_t id) const = 0;

  // A new stream, or nullopt when no more fit in device memory (then free one and retry).
  virtual std::optional<uint64_t> create_stream(uint32_t sinks, uint32_t window) = 0;
  virtual void submit(uint64_t stream, GenRequest request) = 0;
  // Ends the stream's request at its next step (on_end says cancelled).
  virtual void cancel(uint64_t stream) = 0;
  virtual void destroy(uint64_t stream) = 0;
  virtual StreamState state(uint64_t stream) const = 0;
  virtual EngineStats stats() const = 0;

  // The driver loop: steps until `stop` is set and no work is left. Calls
  // `on_step(seconds)` after each step (the latency histogram).
  virtual void run(const std::atomic<bool>& stop, const std::function<void(double)>& on_step) = 0;
};

}  // namespace sinkstream::serve
