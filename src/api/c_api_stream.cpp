// The C API: streams (feed, logits, sample, generate) and chat prompts.
#include <cstring>

#include "api/c_api_impl.hpp"
#include "sinkstream/error.hpp"

using sinkstream::capi::fail;
using sinkstream::capi::guard;

namespace {

constexpr size_t kRecent = 256;  // tokens kept for a new sampler's repetition penalty (>= repeat_last_n)

bool same_params(const ss_sampler_params& a, const ss_sampler_params& b) {
  return a.temperature == b.temperature && a.top_k == b.top_k && a.top_p == b.top_p && a.min_p == b.min_p &&
         a.repeat_penalty == b.repeat_penalty && a.seed == b.seed;
}

// Tokens fed: kept for a sampler made later, and recorded by the current one
// (unless it picked them itself, as generate's sampler does).
void remember(ss_stream& s, std::span<const int32_t> tokens, bool sampler_saw_them = false) {
  if (s.sampler && !sampler_saw_them) s.sampler->accept(tokens);
  s.recent.insert(s.recent.end(), tokens.begin(), tokens.end());
  if (s.recent.size() > kRecent) s.recent.erase(s.recent.begin(), s.recent.end() - kRecent);
}

sinkstream::Sampler& sampler_for(ss_stream& s, const ss_sampler_params& p) {
  if (!s.sampler || !same_params(s.sampler_params, p)) {
    s.sampler.emplace(sinkstream::capi::sampler_params(p));
    s.sampler->accept(s.recent);
    s.sampler_params = p;
  }
  return *s.sampler;
}

// A chat template by name, or the model's own (NULL).
sinkstream::ChatTemplate chat_template(const ss_model& m, const char* format) {
  return format ? sinkstream::ChatTemplate::builtin(format) : m.model.chat_template();
}

}  // namespace

extern "C" {

ss_status ss_stream_create(ss_model* m, const ss_stream_params* p, ss_stream** out) {
  if (out) *out = nullptr;
  if (!m || !out) return fail(SS_ERR_INVALID_ARGUMENT, "ss_stream_create: model and out must not be NULL");
  const ss_stream_params d = ss_stream_default_params();
  const ss_stream_params& q = p ? *p : d;
  // A C caller can store any int in the enum: read its bits, since loading an
  // out-of-range value as ss_kv_type is undefined behaviour in C++.
  int32_t kv_type = 0;
  static_assert(sizeof(q.kv_type) == sizeof(kv_type));
  std::memcpy(&kv_type, &q.kv_type, sizeof kv_type);
  if (kv_type != SS_KV_F16 && kv_type != SS_KV_F32 && kv_type != SS_KV_Q8_0)
    return fail(SS_ERR_INVALID_ARGUMENT,
                "ss_stream_create: kv_type must be SS_KV_F16, SS_KV_F32 or SS_KV_Q8_0");
  return guard([&] {
    sinkstream::StreamSettings s;
    s.sinks = q.sinks;
    s.window = q.window;
    s.kv_type = kv_type == SS_KV_F32    ? sinkstream::KvType::f32
                : kv_type == SS_KV_Q8_0 ? sinkstream::KvType::q8_0
                                        : sinkstream::KvType::f16;
    *out = new ss_stream{sinkstream::Stream(m->model, s), std::nullopt, {}, {}};
  });
}

void ss_stream_free(ss_stream* s) { delete s; }

ss_status ss_stream_feed(ss_stream* s, const int32_t* tokens, int32_t n) {
  if (!s || !tokens || n <= 0)
    return fail(SS_ERR_INVALID_ARGUMENT, "ss_stream_feed: NULL stream or tokens, or n <= 0");
  return guard([&] {
    const std::span<const int32_t> t(tokens, static_cast<size_t>(n));
    s->stream.feed(t);
    remember(*s, t);
  });
}

const float* ss_stream_logits(const ss_stream* s) {
  if (!s) return fail(SS_ERR_INVALID_ARGUMENT, "ss_stream_logits: stream is NULL"), nullptr;
  const auto l = s->stream.logits();
  return l.empty() ? nullptr : l.data();
}

ss_status ss_stream_sample(ss_stream* s, const ss_sampler_params* p, int32_t* token) {
  if (!s || !p || !token) return fail(SS_ERR_INVALID_ARGUMENT, "ss_stream_sample: NULL stream, params or token");
  return guard([&] { *token = s->stream.sample(sampler_for(*s, *p)); });
}

ss_status ss_stream_reset(ss_stream* s) {
  if (!s) return fail(SS_ERR_INVALID_ARGUMENT, "ss_stream_reset: stream is NULL");
  return guard([&] {
    s->stream.reset();
    s->recent.clear();
    s->sampler.reset();
  });
}

ss_status ss_stream_get_stats(const ss_stream* s, ss_stream_stats* out) {
  if (!s || !out) return fail(SS_ERR_INVALID_ARGUMENT, "ss_stream_get_stats: NULL stream or out");
  return guard([&] {
    const sinkstream::StreamStats st = s->stream.stats();
    *out = {st.tokens, st.evicted, st.slots_used, st.capacity, st.device_bytes};
  });
}

ss_status ss_stream_generate(ss_stream* s, const ss_sampler_params* p, int32_t max_tokens,
                             ss_token_callback on_token, void* user, int32_t* n_generated) {
  if (n_generated) *n_generated = 0;
  if (!s || !p || max_tokens < 0)
    return fail(SS_ERR_INVALID_ARGUMENT, "ss_stream_generate: NULL stream or params, or max_tokens < 0");
  return guard([&] {
    sinkstream::GenerateOptions o;
    o.max_tokens = static_cast<uint64_t>(max_tokens);
    sinkstream::Sampler& sampler = sampler_for(*s, *p);
    const auto r = s->stream.generate(sampler, o, [&](int32_t t, std::string_view text) {
      const bool keep = !on_token || on_token(t, text.data(), static_cast<int32_t>(text.size()), user);
      return keep;
    });
    remember(*s, r.tokens, true);
    if (n_generated) *n_generated = static_cast<int32_t>(r.tokens.size());
  });
}

int32_t ss_chat_apply(const ss_model* m, const char* format, const char* const* roles, const char* const* contents,
                      int32_t n_messages, bool add_generation_prompt, char* buf, int32_t capacity) {
  if (!m || n_messages < 0 || (n_messages > 0 && (!roles || !contents)) || capacity < 0 || (!buf && capacity > 0)) {
    fail(SS_ERR_INVALID_ARGUMENT, "ss_chat_apply: NULL model, roles, contents or buffer, or a negative count");
    return -static_cast<int32_t>(SS_ERR_INVALID_ARGUMENT);
  }
  int32_t n = -1;
  const ss_status st = guard([&] {
    std::vector<sinkstream::ChatMessage> msgs;
    for (int32_t i = 0; i < n_messages; ++i) {
      if (!roles[i] || !contents[i]) throw sinkstream::InvalidArgument("ss_chat_apply: a NULL role or content");
      msgs.push_back({roles[i], contents[i]});
    }
    const std::string text = m->model.apply_chat_template(chat_template(*m, format), msgs, add_generation_prompt);
    if (text.size() >= INT32_MAX) throw sinkstream::InvalidArgument("ss_chat_apply: the prompt is too long");
    n = static_cast<int32_t>(text.size());
    if (n + 1 <= capacity) std::memcpy(buf, text.c_str(), text.size() + 1);
  });
  return st == SS_OK ? n : -static_cast<int32_t>(st);
}

bool ss_chat_needs_bos(const ss_model* m, const char* format) {
  if (!m) return false;
  bool needs = false;
  guard([&] {
    needs = m->model.chat_needs_bos(chat_template(*m, format));
  });
  return needs;
}

}  // extern "C"
