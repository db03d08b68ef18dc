// `sinkstream serve`'s request parser: any body, as either endpoint, must give
// a request or an OpenAI-style error, never crash, hang or leak; whatever it
// accepts must satisfy the limits it promises.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "serve/api.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sinkstream::serve;
  if (size == 0) return 0;
  ApiLimits limits;
  limits.model = "m";
  limits.vocab = 512;
  limits.max_tokens = 4096;
  const bool chat = data[0] & 1;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto r = parse_request(body, chat, limits);
  if (const auto* e = std::get_if<ApiError>(&r)) {
    if (e->status != 400 && e->status != 404) std::abort();
    (void)error_json(*e);
    return 0;
  }
  const ApiRequest& q = std::get<ApiRequest>(r);
  if (q.max_tokens < 1 || q.max_tokens > limits.max_tokens) std::abort();
  if (q.stop.size() > limits.max_stop) std::abort();
  if (chat && q.messages.empty()) std::abort();
  for (int32_t id : q.prompt_ids)
    if (id < 0 || id >= static_cast<int32_t>(limits.vocab)) std::abort();
  if (!(q.sampling.temperature >= 0 && q.sampling.temperature <= 2)) std::abort();
  Completion c{"id", 0, "m", q.chat && !q.messages.empty() ? q.messages.back().content : q.prompt, "stop", {}};
  (void)sse_event(chat_chunk(c, c.text, std::nullopt, true));
  (void)completion_response(c);
  return 0;
}
