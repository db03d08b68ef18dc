#include "serve/api.hpp"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

namespace sinkstream::serve {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

ApiError bad(const std::string& param, const std::string& message) {
  return ApiError{400, message, "invalid_request_error", param, ""};
}

// A field's value when present and not null.
const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::optional<ApiError> number_in(const json& body, const char* name, double lo, double hi, float& out) {
  const json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) return bad(name, std::string("'") + name + "' must be a number");
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi)
    return bad(name, std::string("'") + name + "' must be between " + json(lo).dump() + " and " + json(hi).dump());
  out = static_cast<float>(d);
  return std::nullopt;
}

std::optional<ApiError> max_tokens(const json& body, const ApiLimits& limits, uint32_t& out) {
  out = limits.default_max_tokens;
  for (const char* name : {"max_tokens", "max_completion_tokens", "n_predict"}) {
    const json* v = field(body, name);
    if (!v) continue;
    if (!v->is_number_integer()) return bad(name, std::string("'") + name + "' must be an integer");
    const bool ok = v->is_number_unsigned() ? v->get<uint64_t>() >= 1 && v->get<uint64_t>() <= limits.max_tokens
                                            : v->get<int64_t>() >= 1 && v->get<int64_t>() <= int64_t{limits.max_tokens};
    if (!ok) return bad(name, std::string("'") + name + "' must be between 1 and " + std::to_string(limits.max_tokens));
    out = static_cast<uint32_t>(v->get<uint64_t>());
  }
  return std::nullopt;
}

std::optional<ApiError> sampling(const json& body, const ApiLimits& limits, ApiRequest& r) {
  r.sampling = limits.defaults;
  if (auto e = number_in(body, "temperature", 0.0, 2.0, r.sampling.temperature)) return e;
  if (auto e = number_in(body, "top_p", 0.0, 1.0, r.sampling.top_p)) return e;
  r.sampling.top_p = std::max(r.sampling.top_p, 1e-6f);  // OpenAI allows 0: the top token alone
  if (auto e = number_in(body, "min_p", 0.0, 0.999, r.sampling.min_p)) return e;
  if (auto e = number_in(body, "repeat_penalty", 0.01, 10.0, r.sampling.repeat_penalty)) return e;
  float top_k = static_cast<float>(r.sampling.top_k);
  if (const json* v = field(body, "top_k"); v && !v->is_number_integer()) return bad("top_k", "'top_k' must be an integer");
  if (auto e = number_in(body, "top_k", 0.0, 1 << 24, top_k)) return e;
  r.sampling.top_k = static_cast<uint32_t>(top_k);
  if (const json* v = field(body, "seed")) {
    if (!v->is_number_integer()) return bad("seed", "'seed' must be an integer");
    r.sampling.seed = v->is_number_unsigned() ? v->get<uint64_t>() : static_cast<uint64_t>(v->get<int64_t>());
    r.seed_given = true;
  }
  return std::nullopt;
}

std::optional<ApiError> stops(const json& body, const ApiLimits& limits, ApiRequest& r) {
  const json* v = field(body, "stop");
  if (!v) return std::nullopt;
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) r.stop.push_back(v->get<std::string>());
    return std::nullopt;
  }
  if (!v->is_array()) return bad("stop", "'stop' must be a string or an array of strings");
  if (v->size() > limits.max_stop) return bad("stop", "'stop' takes at most " + std::to_string(limits.max_stop) + " strings");
  for (const auto& s : *v) {
    if (!s.is_string()) return bad("stop", "'stop' must be a string or an array of strings");
    if (!s.get<std::string>().empty()) r.stop.push_back(s.get<std::string>());
  }
  return std::nullopt;
}

std::optional<ApiError> unsupported(const json& body, bool chat) {
  if (const json* n = field(body, "n"); n && !(n->is_number_integer() && n->get<int64_t>() == 1))
    return bad("n", "only n=1 is supported");
  if (const json* l = field(body, "logprobs"); l && !(l->is_boolean() && !l->get<bool>()))
    return bad("logprobs", "logprobs are not supported");
  if (const json* t = field(body, "tools"); chat && t && !(t->is_array() && t->empty()))
    return bad("tools", "tools (function calling) are not supported");
  if (const json* f = field(body, "response_format")) {
    const json* type = f->is_object() ? field(*f, "type") : nullptr;
    if (!type || *type != "text") return bad("response_format", "only response_format {\"type\": \"text\"} is supported");
  }
  return std::nullopt;
}

// Message content: a string, or OpenAI's array of parts of which only text parts are supported.
std::optional<ApiError> content_text(const json& c, size_t i, std::string& out) {
  const std::string param = "messages[" + std::to_string(i) + "].content";
  if (c.is_null()) return std::nullopt;
  if (c.is_string()) {
    out = c.get<std::string>();
    return std::nullopt;
  }
  if (!c.is_array()) return bad(param, "'" + param + "' must be a string or an array of content parts");
  for (const auto& part : c) {
    const json* type = part.is_object() ? field(part, "type") : nullptr;
    const json* text = part.is_object() ? field(part, "text") : nullptr;
    if (!type || *type != "text" || !text || !text->is_string())
      return bad(param, "'" + param + "': only text parts {\"type\": \"text\", \"text\": ...} are supported");
    out += text->get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> messages(const json& body, ApiRequest& r) {
  const json* m = field(body, "messages");
  if (!m) return bad("messages", "'messages' is required");
  if (!m->is_array() || m->empty()) return bad("messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < m->size(); ++i) {
    const json& x = (*m)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!x.is_object()) return bad(param, "'" + param + "' must be an object");
    const json* role = field(x, "role");
    if (!role || !role->is_string()) return bad(param + ".role", "'" + param + ".role' must be a string");
    std::string name = role->get<std::string>();
    if (name == "developer") name = "system";  // OpenAI's newer name for it
    if (name != "system" && name != "user" && name != "assistant" && name != "tool")
      return bad(param + ".role", "'" + param + ".role' must be system, developer, user, assistant or tool");
    ChatMsg msg{name, ""};
    const auto it = x.find("content");
    if (it != x.end())
      if (auto e = content_text(*it, i, msg.content)) return e;
    r.messages.push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> prompt(const json& body, const ApiLimits& limits, ApiRequest& r) {
  const json* p = field(body, "prompt");
  if (!p) return bad("prompt", "'prompt' is required");
  const json* one = p;
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) one = &(*p)[0];
  if (one->is_string()) {
    r.prompt = one->get<std::string>();
    return std::nullopt;
  }
  if (!one->is_array() || one->empty())
    return bad("prompt", "'prompt' must be a string, or an array of token ids (one prompt per request)");
  for (const auto& t : *one) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= static_cast<int64_t>(limits.vocab))
      return bad("prompt", "token ids in 'prompt' must be integers from 0 to " + std::to_string(limits.vocab - 1));
    r.prompt_ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  r.prompt_is_ids = true;
  return std::nullopt;
}

std::optional<ApiError> stream_flags(const json& body, ApiRequest& r) {
  if (const json* s = field(body, "stream")) {
    if (!s->is_boolean()) return bad("stream", "'stream' must be true or false");
    r.stream = s->get<bool>();
  }
  if (const json* o = field(body, "stream_options")) {
    if (!o->is_object()) return bad("stream_options", "'stream_options' must be an object");
    if (const json* u = field(*o, "include_usage")) {
      if (!u->is_boolean()) return bad("stream_options.include_usage", "'include_usage' must be true or false");
      r.include_usage = u->get<bool>();
    }
  }
  if (const json* e = field(body, "echo")) {
    if (!e->is_boolean()) return bad("echo", "'echo' must be true or false");
    r.echo = e->get<bool>();
  }
  return std::nullopt;
}

std::optional<ApiError> parse_fields(const json& body, bool chat, const ApiLimits& limits, ApiRequest& r) {
  if (const json* m = field(body, "model")) {
    if (!m->is_string()) return bad("model", "'model' must be a string");
    if (m->get<std::string>() != limits.model)
      return ApiError{404, "The model '" + m->get<std::string>() + "' does not exist; this server has '" + limits.model + "'",
                      "invalid_request_error", "model", "model_not_found"};
  }
  if (auto e = chat ? messages(body, r) : prompt(body, limits, r)) return e;
  if (auto e = max_tokens(body, limits, r.max_tokens)) return e;
  if (auto e = sampling(body, limits, r)) return e;
  if (auto e = stops(body, limits, r)) return e;
  if (auto e = stream_flags(body, r)) return e;
  return unsupported(body, chat);
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

json envelope(const Completion& c, const char* object) {
  return {{"id", c.id}, {"object", object}, {"created", c.created}, {"model", c.model},
          {"system_fingerprint", "sinkstream"}};
}

json finish_json(const std::optional<std::string>& f) { return f ? json(*f) : json(nullptr); }

}  // namespace

std::string error_json(const ApiError& e) {
  json err = {{"message", e.message}, {"type", e.type}, {"param", nullptr}, {"code", nullptr}};
  if (!e.param.empty()) err["param"] = e.param;
  if (!e.code.empty()) err["code"] = e.code;
  return dump(json{{"error", err}});
}

std::variant<ApiRequest, ApiError> parse_request(std::string_view body, bool chat, const ApiLimits& limits) {
  const json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return bad("", "the body is not valid JSON (or not UTF-8)");
  if (!j.is_object()) return bad("", "the body must be a JSON object");
  ApiRequest r;
  r.chat = chat;
  if (auto e = parse_fields(j, chat, limits, r)) return *e;
  return r;
}

std::string chat_response(const Completion& c) {
  json j = envelope(c, "chat.completion");
  json message = {{"role", "assistant"}, {"content", c.text}};
  if (!c.reasoning.empty()) message["reasoning_content"] = c.reasoning;
  j["choices"] = json::array({{{"index", 0},
                               {"message", message},
                               {"logprobs", nullptr},
                               {"finish_reason", c.finish_reason}}});
  j["usage"] = usage_json(c.usage);
  return dump(j);
}

std::string completion_response(const Completion& c) {
  json j = envelope(c, "text_completion");
  j["choices"] = json::array(
      {{{"text", c.text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}}});
  j["usage"] = usage_json(c.usage);
  return dump(j);
}

std::string chat_chunk(const Completion& c, const std::string& text, const std::optional<std::string>& finish,
                       bool role_chunk, const std::string& reasoning) {
  json delta = json::object();
  if (role_chunk) delta["role"] = "assistant";
  if (role_chunk || !text.empty()) delta["content"] = text;
  if (!reasoning.empty()) delta["reasoning_content"] = reasoning;
  json j = envelope(c, "chat.completion.chunk");
  j["choices"] = json::array({{{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish)}}});
  return dump(j);
}

std::string completion_chunk(const Completion& c, const std::string& text, const std::optional<std::string>& finish) {
  json j = envelope(c, "text_completion");
  j["choices"] = json::array({{{"text", text}, {"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish)}}});
  return dump(j);
}

std::string usage_chunk(const Completion& c, bool chat) {
  json j = envelope(c, chat ? "chat.completion.chunk" : "text_completion");
  j["choices"] = json::array();
  j["usage"] = usage_json(c.usage);
  return dump(j);
}

std::string sse_event(std::string_view data) {
  std::string out;
  size_t at = 0;
  for (;;) {
    size_t end = data.find('\n', at);
    std::string_view line = data.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.append("data: ").append(line).append("\n");
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return out + "\n";
}

bool authorized(std::string_view header, std::string_view key) {
  if (key.empty()) return true;
  constexpr std::string_view scheme = "Bearer ";
  if (header.size() < scheme.size() || header.substr(0, scheme.size()) != scheme) return false;
  const std::string_view given = header.substr(scheme.size());
  // Every byte of the key is compared whatever the first difference: no timing hint.
  unsigned diff = given.size() == key.size() ? 0u : 1u;
  for (size_t i = 0; i < key.size(); ++i)
    diff |= static_cast<unsigned char>(i < given.size() ? given[i] : 0) ^ static_cast<unsigned char>(key[i]);
  return diff == 0;
}

}  // namespace sinkstream::serve
