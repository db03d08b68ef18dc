// OpenAI's HTTP API as JSON: requests parsed and validated into plain structs
// (every refusal an OpenAI-style error with its HTTP status), responses and
// stream chunks built, and server-sent-event framing. No I/O, no engine.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "serve/backend.hpp"

namespace sinkstream::serve {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field, or empty
  std::string code;   // e.g. model_not_found, or empty
};

// {"error": {"message", "type", "param", "code"}} as OpenAI answers.
std::string error_json(const ApiError& e);

struct ApiLimits {
  std::string model;                  // the name requests may give ("model" may also be absent)
  uint32_t vocab = 0;                 // token ids in a completion prompt must be below it
  uint32_t default_max_tokens = 512;  // when the request gives none
  uint32_t max_tokens = 1u << 20;     // the most a request may ask for
  size_t max_stop = 4;                // stop strings per request, as OpenAI allows
  Sampling defaults;                  // temperature, top_p, ... when the request gives none
};

struct ApiRequest {
  bool chat = true;                 // /v1/chat/completions (else /v1/completions)
  std::vector<ChatMsg> messages;    // chat
  std::string prompt;               // completion: text
  std::vector<int32_t> prompt_ids;  // completion: token ids instead of text (prompt_is_ids)
  bool prompt_is_ids = false;
  uint32_t max_tokens = 0;
  Sampling sampling;
  bool seed_given = false;          // else the caller picks a random seed
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  bool echo = false;                // completion: the prompt text before the answer
};

// Parses and validates a request body. Unknown fields are ignored (clients send
// extras); wrong types and out-of-range values are refused naming the field.
std::variant<ApiRequest, ApiError> parse_request(std::string_view body, bool chat, const ApiLimits& limits);

struct Usage {
  uint64_t prompt_tokens = 0;      // the whole prompt, as the client sent it
  uint64_t completion_tokens = 0;
  uint64_t cached_tokens = 0;      // prompt tokens the stream had already seen (not computed again)
};

struct Completion {
  std::string id;       // chatcmpl-... / cmpl-...
  int64_t created = 0;  // unix seconds
  std::string model;
  std::string text;
  std::string finish_reason;  // stop, length
  Usage usage;
  std::string reasoning;  // chat, harmony: the analysis channel (message.reasoning_content when not empty)
};

std::string chat_response(const Completion& c);
std::string completion_response(const Completion& c);
// One stream chunk: text (may be empty), and finish_reason when it is the last.
// `role_chunk`: the first chat chunk, which carries the assistant role.
// `reasoning`: delta.reasoning_content, as llama.cpp's and vLLM's servers send it.
std::string chat_chunk(const Completion& c, const std::string& text, const std::optional<std::string>& finish,
                       bool role_chunk, const std::string& reasoning = {});
std::string completion_chunk(const Completion& c, const std::string& text, const std::optional<std::string>& finish);
// The last chunk when stream_options.include_usage: empty choices, the usage.
std::string usage_chunk(const Completion& c, bool chat);

// An SSE event carrying `data` (each line of it its own data: field).
std::string sse_event(std::string_view data);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// Authorization: Bearer KEY, compared in constant time. An empty key accepts all.
bool authorized(std::string_view authorization_header, std::string_view key);

}  // namespace sinkstream::serve
