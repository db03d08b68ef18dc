// A language model on a device: its weights, hyper-parameters, tokenizer and
// chat template. Load it once; any number of Streams (session.hpp) and
// Schedulers (scheduler.hpp) run on it, each adding only its own KV cache.
//
// Thread safety: a Model is a shared handle (copies refer to the same model,
// which lives as long as any copy, Stream or Scheduler made from it). Its const
// functions (info, tokenize, detokenize, pieces, chat templates) may be called
// from any number of threads at once. The weights are uploaded once, when the
// first Stream or Scheduler is made (so an out-of-memory error can name the
// cache that did not fit beside them); that too is safe from any thread.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinkstream/export.hpp"
#include "sinkstream/gpu.hpp"
#include "sinkstream/tokenizer.hpp"

namespace sinkstream {

namespace detail {
struct ModelImpl;
}

struct ModelOptions {
  GpuOptions gpu;         // device ("" = best), validation, memory limit, pipeline cache
  std::string tokenizer;  // a llama2.c checkpoint's tok*.bin (or a GGUF to take it from); "" = the model's own
  // false: no tokenizer is loaded (for token ids alone, e.g. perplexity of an id
  // file); text functions then throw InvalidArgument.
  bool load_tokenizer = true;
};

struct ModelInfo {
  std::string path;
  std::string format;  // "gguf" or "llama2.c"
  std::string arch;    // "llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"
  std::string name;    // general.name, may be empty
  std::string device;  // the device's name
  uint32_t vocab = 0, dim = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0;
  uint32_t context = 0;       // training context from the file (0: unknown)
  uint64_t weight_bytes = 0;  // in the file's types
  bool learned_sinks = false; // per-head sink logits (gpt-oss style): no pinned tokens needed
  std::string chat_template;  // the file's Jinja template, may be empty
};

// A weight tensor the forward pass reads, as stored in the file.
struct TensorInfo {
  std::string name;
  std::string type;  // "f32", "q4_k", ...
  uint64_t cols = 0, rows = 0;
  uint64_t bytes = 0;
};

// What a model file holds, read without a device (`sinkstream info`).
struct ModelFileInfo {
  std::string path, format, arch;
  uint32_t vocab = 0, dim = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, context = 0;
  double rope_theta = 0;
  std::string rope_style;          // "adjacent pairs" or "neox"
  bool rope_freq_factors = false;  // llama3-style per-frequency factors
  bool tied_output = false;        // the output projection is the embedding
  bool learned_sinks = false;      // per-head sink logits (gpt-oss style)
  // Layers trained with a sliding window (gemma2/3): each keeps a ring of
  // `sliding_window` slots of its own, whatever the stream's sinks and window.
  uint32_t sliding_window = 0, sliding_layers = 0;
  double sliding_rope_theta = 0;
  float attn_softcap = 0, final_softcap = 0;  // gemma2's soft-caps (0: none)
  // Mixture of experts (gpt-oss): each token's FFN runs experts_used of `experts`
  // experts, so it reads active_weight_bytes of the weight_bytes (all of them without experts).
  uint32_t experts = 0, experts_used = 0;
  uint64_t active_weight_bytes = 0;
  uint64_t weight_bytes = 0;
  std::string tokenizer_kind;      // "spm" or "bpe"
  std::string chat_template;       // the file's Jinja template, may be empty
  std::vector<TensorInfo> tensors; // every tensor the model uses: embedding, layers, output
};

// Reads a model file's description and checks its tokenizer (`tokenizer`: a
// llama2.c checkpoint's tok*.bin). Throws as Model::load does, opens no device.
SINKSTREAM_API ModelFileInfo inspect_model(const std::string& path, const std::string& tokenizer = "");

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" (others are passed through)
  std::string content;
};

struct TokenizeOptions {
  bool add_bos = true;        // BOS first, when the vocabulary has one
  bool parse_special = true;  // control-token text ("<|im_end|>") becomes that token; false for untrusted text
};

// How a conversation becomes prompt text: a Jinja template rendered as Hugging
// Face renders it, or a built-in format by name (chatml, llama2, llama3,
// mistral, phi3, gemma, zephyr, plain). Thread-safe (const).
class SINKSTREAM_API ChatTemplate {
 public:
  // A built-in format by name; throws InvalidArgument for an unknown name.
  static ChatTemplate builtin(const std::string& format_name);
  // Throws InvalidArgument when the source is not a template sinkstream can render.
  static ChatTemplate jinja(const std::string& source, const std::string& name = "jinja");
  // The built-in format of `model_template`'s family (plain when none is
  // recognised: `warning` then says so).
  static ChatTemplate detect(std::string_view model_template, std::string* warning = nullptr);
  // The names builtin() takes.
  static std::vector<std::string> builtin_names();
  ~ChatTemplate();
  ChatTemplate(const ChatTemplate&);
  ChatTemplate& operator=(const ChatTemplate&);
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Throws Error with the template's own message when it refuses the messages.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt, const std::string& bos,
                     const std::string& eos) const;
  // Whether the rendered text starts with `bos` itself (else the caller adds BOS).
  bool writes_bos(const std::string& bos) const;
  std::string name() const;

  struct Impl;

 private:
  explicit ChatTemplate(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

class SINKSTREAM_API Model {
 public:
  // Opens a GGUF file or a llama2.c checkpoint (which needs options.tokenizer)
  // and the device. Throws InvalidArgument (bad file, missing tokenizer),
  // NoDeviceError, or Error naming the file and the problem.
  static Model load(const std::string& path, const ModelOptions& options = {});

  ModelInfo info() const;
  int32_t vocab_size() const;
  int32_t bos() const;  // -1 when the vocabulary has none
  // Whether a text starts with bos() (tokenizer.ggml.add_bos_token, or the
  // tokenizer's convention: yes for Llama's, no for Qwen's or gpt-oss's).
  bool adds_bos() const;
  // Whether a conversation rendered by `t` must be preceded by bos(): the
  // vocabulary asks for BOS and the template does not write it (llama.cpp's rule).
  bool chat_needs_bos(const ChatTemplate& t) const;
  int32_t eos() const;  // -1 when none
  bool is_end_of_generation(int32_t token) const;  // EOS, EOT, <|im_end|>, <|eot_id|>, ...
  // Every token that ends generation (the stop tokens of a request).
  std::vector<int32_t> end_of_generation_tokens() const;

  Tokenizer tokenizer() const;
  std::vector<int32_t> tokenize(std::string_view text, const TokenizeOptions& options = {}) const;
  // Concatenated pieces; control tokens give nothing unless render_special.
  std::string detokenize(std::span<const int32_t> tokens, bool render_special = false) const;
  // The bytes of one token (may be part of a UTF-8 character); control tokens give their text.
  // Throws InvalidArgument for ids out of range.
  std::string piece(int32_t token) const;
  // The token whose text is exactly `text` ("<|im_end|>"), or -1.
  int32_t find_token(std::string_view text) const;

  // The template to use when the caller names none: the file's own Jinja
  // template (tokenizer.chat_template), rendered as Hugging Face renders it;
  // where there is none or it cannot be rendered, the built-in format of its
  // family (`warning`, when given, then says why).
  ChatTemplate chat_template(std::string* warning = nullptr) const;
  // Conversation -> prompt text, then tokens with BOS where the template does
  // not write it: what a stream should be fed.
  std::string apply_chat_template(const ChatTemplate& t, std::span<const ChatMessage> messages,
                                  bool add_generation_prompt) const;

  // Device bytes this model holds now (the weights, once uploaded).
  uint64_t device_bytes() const;
  std::string device_name() const;

  // Internal: the implementation the library's other classes reach.
  const std::shared_ptr<detail::ModelImpl>& impl() const { return impl_; }

 private:
  explicit Model(std::shared_ptr<detail::ModelImpl> impl);
  std::shared_ptr<detail::ModelImpl> impl_;
};

// Turns generated tokens into text without ever cutting a UTF-8 character:
// bytes of a character split across tokens are held back until it is whole.
// One per stream of text; not thread-safe.
class SINKSTREAM_API TextDecoder {
 public:
  explicit TextDecoder(const Model& model, bool render_special = false);
  ~TextDecoder();
  TextDecoder(TextDecoder&&) noexcept;
  TextDecoder& operator=(TextDecoder&&) noexcept;
  // Text that became complete with this token (may be empty).
  std::string push(int32_t token);
  // What is still held back (an incomplete sequence at the end).
  std::string flush();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Stop strings (llama.cpp's "reverse prompt", Ollama's "stop"): generation ends
// where the text produces one. Text that may be the start of one is held back
// until it is known not to be, so the stop string never reaches the output.
class SINKSTREAM_API StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);
  // Takes new text; returns what can be shown now. Once a stop string
  // completes, returns the text before it and matched() turns true.
  std::string push(const std::string& text);
  // What is still held back (at the end of generation, when nothing matched).
  std::string flush();
  bool matched() const { return matched_; }
  bool empty() const { return stops_.empty(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
};

}  // namespace sinkstream
