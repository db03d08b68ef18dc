// The C API: models, tokens, chat prompts (streams in c_api_stream.cpp).
#include <cstring>
#include <filesystem>
#include <system_error>

#include "api/c_api_impl.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/version.hpp"

namespace sinkstream::capi {
namespace {
thread_local std::string last_error;
}

void set_error(const std::string& message) {
  try {
    last_error = message;
  } catch (...) {
    last_error.clear();
  }
}

ss_status fail(ss_status s, const std::string& message) {
  set_error(message);
  return s;
}

ss_status current_exception_status() noexcept {
  try {
    throw;
  } catch (const InvalidArgument& e) {
    return fail(SS_ERR_INVALID_ARGUMENT, e.what());
  } catch (const NoDeviceError& e) {
    return fail(SS_ERR_NO_DEVICE, e.what());
  } catch (const OutOfDeviceMemory& e) {
    return fail(SS_ERR_OUT_OF_MEMORY, e.what());
  } catch (const DeviceLost& e) {
    return fail(SS_ERR_DEVICE_LOST, e.what());
  } catch (const NumericalError& e) {
    return fail(SS_ERR_NUMERICAL, e.what());
  } catch (const VulkanError& e) {
    return fail(SS_ERR_INTERNAL, e.what());
  } catch (const Error& e) {
    // Model-file problems are reported as Error naming the file and what is wrong.
    return fail(SS_ERR_FORMAT, e.what());
  } catch (const std::bad_alloc&) {
    return fail(SS_ERR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::system_error& e) {
    return fail(SS_ERR_IO, e.what());
  } catch (const std::exception& e) {
    return fail(SS_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(SS_ERR_INTERNAL, "unknown error");
  }
}

SamplerParams sampler_params(const ss_sampler_params& p) {
  if (p.top_k < 0) throw InvalidArgument("top_k must be >= 0");
  SamplerParams s;
  s.temperature = p.temperature;
  s.top_k = static_cast<uint32_t>(p.top_k);
  s.top_p = p.top_p;
  s.min_p = p.min_p;
  s.repeat_penalty = p.repeat_penalty;
  s.seed = p.seed;
  validate(s);
  return s;
}

}  // namespace sinkstream::capi

using sinkstream::capi::fail;
using sinkstream::capi::guard;

extern "C" {

ss_model_params ss_model_default_params(void) { return {nullptr, nullptr}; }
ss_stream_params ss_stream_default_params(void) { return {4, 0, SS_KV_F16}; }
ss_sampler_params ss_sampler_default_params(void) {
  const sinkstream::SamplerParams d;
  return {d.temperature, static_cast<int32_t>(d.top_k), d.top_p, d.min_p, d.repeat_penalty, d.seed};
}

const char* ss_last_error(void) { return sinkstream::capi::last_error.c_str(); }
const char* ss_version(void) { return SINKSTREAM_VERSION_STRING; }

ss_status ss_model_load(const char* path, const ss_model_params* p, ss_model** out) {
  if (out) *out = nullptr;
  if (!path || !out) return fail(SS_ERR_INVALID_ARGUMENT, "ss_model_load: path and out must not be NULL");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return fail(SS_ERR_IO, std::string("cannot open '") + path + "': no such file");
  return guard([&] {
    sinkstream::ModelOptions o;
    if (p && p->device) o.gpu.device = p->device;
    if (p && p->tokenizer) o.tokenizer = p->tokenizer;
    *out = new ss_model{sinkstream::Model::load(path, o)};
  });
}

void ss_model_free(ss_model* m) { delete m; }

int32_t ss_model_vocab_size(const ss_model* m) {
  if (!m) return fail(SS_ERR_INVALID_ARGUMENT, "ss_model_vocab_size: model is NULL"), -1;
  return m->model.vocab_size();
}
int32_t ss_model_context(const ss_model* m) {
  if (!m) return fail(SS_ERR_INVALID_ARGUMENT, "ss_model_context: model is NULL"), -1;
  return static_cast<int32_t>(m->model.info().context);
}
int32_t ss_token_bos(const ss_model* m) {
  int32_t t = -1;
  if (m) guard([&] { t = m->model.bos(); });
  return t;
}
int32_t ss_token_eos(const ss_model* m) {
  int32_t t = -1;
  if (m) guard([&] { t = m->model.eos(); });
  return t;
}
bool ss_token_is_eog(const ss_model* m, int32_t token) {
  bool eog = false;
  if (m) guard([&] { eog = m->model.is_end_of_generation(token); });
  return eog;
}

int32_t ss_tokenize(const ss_model* m, const char* text, int32_t len, bool add_bos, int32_t* out, int32_t capacity) {
  if (!m || (!text && len != 0) || capacity < 0 || (!out && capacity > 0)) {
    fail(SS_ERR_INVALID_ARGUMENT, "ss_tokenize: NULL model or text, or a negative capacity");
    return -static_cast<int32_t>(SS_ERR_INVALID_ARGUMENT);
  }
  int32_t n = -1;
  const ss_status s = guard([&] {
    const std::string_view t = !text ? std::string_view() : len < 0 ? std::string_view(text)
                                                                     : std::string_view(text, static_cast<size_t>(len));
    const auto ids = m->model.tokenize(t, {add_bos, true});
    if (ids.size() > INT32_MAX) throw sinkstream::InvalidArgument("ss_tokenize: the text has too many tokens");
    n = static_cast<int32_t>(ids.size());
    if (n <= capacity && n > 0) std::memcpy(out, ids.data(), ids.size() * sizeof(int32_t));
  });
  return s == SS_OK ? n : -static_cast<int32_t>(s);
}

int32_t ss_token_to_piece(const ss_model* m, int32_t token, char* buf, int32_t capacity) {
  if (!m || capacity < 0 || (!buf && capacity > 0)) {
    fail(SS_ERR_INVALID_ARGUMENT, "ss_token_to_piece: NULL model or buffer, or a negative capacity");
    return -static_cast<int32_t>(SS_ERR_INVALID_ARGUMENT);
  }
  int32_t n = -1;
  const ss_status s = guard([&] {
    const std::string p = m->model.piece(token);
    n = static_cast<int32_t>(p.size());
    if (n <= capacity && n > 0) std::memcpy(buf, p.data(), p.size());
  });
  return s == SS_OK ? n : -static_cast<int32_t>(s);
}

}  // extern "C"
