// Resource failures and numerical faults: the NaN/Inf guard names the first op
// that produced a non-finite value; a lost device gives a clear error and a
// fresh device works afterwards in the same process.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"
#include "engine/engine.hpp"
#include "testing/synthetic.hpp"
#include "sinkstream/error.hpp"

namespace sinkstream::test {
namespace {

struct TinyModel {
  std::string path;
  std::unique_ptr<model::ModelFile> file;
  explicit TinyModel(const std::string& name) : path(temp_path(name + ".gguf")) {
    model::write_synthetic_gguf(path, {});
    file = model::load_model(path);
  }
  ~TinyModel() { std::filesystem::remove(path); }
};

// Sets elements [first, first + count) of an F32 tensor to `value` (the copy lives in `store`).
void poison(model::Tensor& t, size_t first, size_t count, float value,
            std::vector<uint8_t>& store) {
  REQUIRE(t.type == model::GgmlType::f32);
  store.assign(t.data.begin(), t.data.end());
  for (size_t i = first; i < first + count; ++i) std::memcpy(store.data() + i * 4, &value, 4);
  t.data = store;
}

std::string feed_error(model::Engine& engine, const std::vector<int32_t>& ids) {
  try {
    engine.feed(ids);
  } catch (const NumericalError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("reliability") {
  TEST_CASE("the NaN/Inf guard names the first layer and op that produced a non-finite value") {
    ValidationScope validation;
    const std::vector<int32_t> ids{1, 7, 42, 3};
    auto config = f32_engine(2, 20, 4);
    config.check_finite = true;
    {
      TinyModel m("nan-up");
      std::vector<uint8_t> store;
      poison(m.file->layers[1].w_up, 5, 1, std::numeric_limits<float>::quiet_NaN(), store);
      model::Engine engine(gpu(), *m.file, config);
      const std::string err = feed_error(engine, ids);
      INFO(err);
      CHECK(err.find("layer 1 ffn_up (matmul)") != std::string::npos);
      CHECK(err.find("tokens 0..3") != std::string::npos);
    }
    {
      // A finite weight so large that the product overflows float: Inf, not NaN.
      TinyModel m("inf-v");
      std::vector<uint8_t> store;
      poison(m.file->layers[0].wv, 0, 64, 3e38f, store);  // one whole row: dim = 64
      model::Engine engine(gpu(), *m.file, config);
      const std::string err = feed_error(engine, ids);
      INFO(err);
      CHECK(err.find("layer 0 attn_v (matmul)") != std::string::npos);
    }
    {
      TinyModel m("finite");
      model::Engine checked(gpu(), *m.file, config);
      config.check_finite = false;
      model::Engine plain(gpu(), *m.file, config);
      const auto a = checked.feed(ids);
      const std::vector<float> with_guard(a.begin(), a.end());
      const auto b = plain.feed(ids);
      CHECK(with_guard == std::vector<float>(b.begin(), b.end()));  // the guard only reads
    }
  }

  TEST_CASE("a lost device is a clear DeviceLost error, and a new device works afterwards") {
    TinyModel m("lost");
    const std::vector<int32_t> ids{1, 2, 3};
    {
      setenv("SINKSTREAM_INJECT_DEVICE_LOST", "3", 1);
      Gpu lost;
      unsetenv("SINKSTREAM_INJECT_DEVICE_LOST");
      model::Engine engine(lost, *m.file, f32_engine(2, 20, 4));
      bool threw = false;
      for (int i = 0; i < 4 && !threw; ++i) {
        try {
          engine.feed(ids);
        } catch (const DeviceLost& e) {
          threw = true;
          CHECK(std::string(e.what()).find("device lost") != std::string::npos);
        }
      }
      CHECK(threw);
      CHECK_THROWS_AS(engine.feed(ids), DeviceLost);  // it stays lost
    }
    Gpu fresh;
    model::Engine engine(fresh, *m.file, f32_engine(2, 20, 4));
    const auto logits = engine.feed(ids);
    CHECK(std::isfinite(logits[0]));
  }

  TEST_CASE("the submission timeout: per device type, $SINKSTREAM_SUBMIT_TIMEOUT, bad values refused") {
    CHECK(vk::default_submit_timeout_ms(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU) == 120000);
    CHECK(vk::default_submit_timeout_ms(VK_PHYSICAL_DEVICE_TYPE_CPU) == 1800000);
    {
      ScopedEnv unset("SINKSTREAM_SUBMIT_TIMEOUT", nullptr);
      Gpu g;
      const auto& ctx = g.context();
      CHECK(ctx.submit_timeout_ns() == vk::default_submit_timeout_ms(ctx.info().type) * 1000000ull);
    }
    {
      ScopedEnv seven("SINKSTREAM_SUBMIT_TIMEOUT", "7");
      Gpu g;
      CHECK(g.context().submit_timeout_ns() == 7000000000ull);
    }
    for (const char* bad : {"0", "-3", "2m", "99999999"}) {
      ScopedEnv e("SINKSTREAM_SUBMIT_TIMEOUT", bad);
      CHECK_THROWS_AS(Gpu(), InvalidArgument);
    }
  }

  TEST_CASE("a model larger than the device memory is a clear OutOfDeviceMemory error") {
    TinyModel m("too-big");
    GpuOptions o;
    o.memory_limit = 64 * 1024;  // the tiny model's weights alone are ~0.4 MiB
    Gpu small(o);
    // The advice names the next smaller KV type: f16 for f32, q8_0 for f16, none for q8_0.
    for (KvType kv : {KvType::f32, KvType::f16, KvType::q8_0}) {
      model::EngineConfig cfg = f32_engine(2, 20, 4);
      cfg.kv_type = kv;
      try {
        model::Engine engine(small, *m.file, cfg);
        FAIL("the engine was created under a 64 KiB cap");
      } catch (const OutOfDeviceMemory& e) {
        const std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find("needs about") != std::string::npos);
        CHECK((msg.find("--kv-type f16") != std::string::npos) == (kv == KvType::f32));
        CHECK((msg.find("--kv-type q8_0") != std::string::npos) == (kv == KvType::f16));
      }
    }
    CHECK(small.allocated_bytes() == 0);  // everything was released on the way out
  }
}

}  // namespace sinkstream::test
