// One validated Vulkan device shared by the whole test process (creating an
// instance with validation per test would dominate the suite's run time).
#pragma once
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.hpp"
#include "sinkstream/gpu.hpp"

namespace sinkstream::test {

// The shared device, opened with validation and synchronization validation on.
Gpu& gpu();

// Put one at the top of every GPU test: at scope exit it fails the test if any
// validation message was reported meanwhile.
class ValidationScope {
 public:
  ValidationScope();
  ~ValidationScope();
};

std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// An engine configuration with f32 KV, the one the exact comparisons use.
model::EngineConfig f32_engine(uint32_t sinks, uint32_t window, uint32_t chunk = 16);

// A path in the temporary directory, unique to this suite's files.
std::string temp_path(const std::string& name);

// Sets (or, with nullptr, unsets) an environment variable for its lifetime and
// restores what was there before, even when the scope exits by an exception:
// scripts/test.sh sets SINKSTREAM_* switches that later tests must still see.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    set(value);
  }
  ~ScopedEnv() { set(saved_ ? saved_->c_str() : nullptr); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  void set(const char* value) const {
    if (value)
      setenv(name_.c_str(), value, 1);
    else
      unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

}  // namespace sinkstream::test
