// The C API's handles and its error translation: every entry point runs its
// body through guard(), which turns any exception into an ss_status and the
// thread's last-error message, so no exception crosses the C boundary.
#pragma once
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "sinkstream/model.hpp"
#include "sinkstream/sampler.hpp"
#include "sinkstream/session.hpp"
#include "sinkstream/sinkstream.h"

struct ss_model {
  sinkstream::Model model;
};

struct ss_stream {
  sinkstream::Stream stream;
  // The sampler of ss_stream_sample: kept while the params stay the same (its
  // RNG goes on), made anew from the recent tokens when they change.
  std::optional<sinkstream::Sampler> sampler;
  ss_sampler_params sampler_params{};
  std::vector<int32_t> recent;  // the last tokens fed, for a new sampler's repetition penalty
};

namespace sinkstream::capi {

void set_error(const std::string& message);
// Runs f; SS_OK, or the status of the exception it threw (message kept).
template <typename F>
ss_status guard(F&& f) noexcept;
ss_status fail(ss_status s, const std::string& message);  // sets the message, returns s
ss_status current_exception_status() noexcept;

template <typename F>
ss_status guard(F&& f) noexcept {
  try {
    f();
    return SS_OK;
  } catch (...) {
    return current_exception_status();
  }
}

SamplerParams sampler_params(const ss_sampler_params& p);  // throws InvalidArgument for top_k < 0

}  // namespace sinkstream::capi
