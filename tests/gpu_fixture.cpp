#include "gpu_fixture.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace sinkstream::test {

Gpu& gpu() {
  static std::unique_ptr<Gpu> g = [] {
    GpuOptions o;
    // Always on, except on machines without the layer (the GPU box) where
    // SINKSTREAM_TEST_VALIDATION=0 runs the same checks without it.
    const char* v = std::getenv("SINKSTREAM_TEST_VALIDATION");
    o.validation = !(v && std::string(v) == "0");
    return std::make_unique<Gpu>(o);
  }();
  return *g;
}

ValidationScope::ValidationScope() {
  gpu().take_validation_messages();
}

ValidationScope::~ValidationScope() {
  // (With validation off there are no messages, and the scope checks nothing.)
  for (const std::string& m : gpu().take_validation_messages()) FAIL_CHECK(m);
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> x(n);
  for (float& f : x) f = dist(rng);
  return x;
}

model::EngineConfig f32_engine(uint32_t sinks, uint32_t window, uint32_t chunk) {
  model::EngineConfig c;
  c.sinks = sinks;
  c.window = window;
  c.kv_type = KvType::f32;
  c.max_chunk = chunk;
  c.check_finite = true;  // the NaN/Inf guard is on in tests
  return c;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sinkstream-test-" + name)).string();
}

}  // namespace sinkstream::test
