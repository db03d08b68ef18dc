// Every kernel variant against its CPU reference, one subcase each, from the
// kernel check registry (src/check/registry.cpp) that `sinkstream selftest`
// runs too. A compiled shader variant without an entry there fails the build.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "check/golden.hpp"
#include "check/kernel_check.hpp"
#include "gpu_fixture.hpp"
#include "ref/model_ref.hpp"
#include "sinkstream/selftest.hpp"
#include "vk/shader_registry.hpp"

namespace sinkstream::test {

TEST_SUITE("kernels") {
  TEST_CASE("every kernel variant matches its CPU reference within its tolerance") {
    // SINKSTREAM_KERNEL_CHECKS=full runs the full case lists (selftest without --quick);
    // CI runs the quick ones at both subgroup sizes.
    check::CheckOptions options;
    options.quick = vk::env("SINKSTREAM_KERNEL_CHECKS") != "full";
    for (const check::KernelCheck& k : check::kernel_checks())
      for (std::string_view variant : k.variants) {
        const std::string name = check::shader_name(k.kernel, variant);
        SUBCASE(name.c_str()) {
          ValidationScope validation;
          const check::VariantResult r = check::run_variant(gpu().context(), k, variant, options);
          INFO(name << ": " << r.cases << " cases, max error " << r.max_error << " ("
                    << std::string(k.error) << "), tolerance " << r.tolerance << ", " << r.note);
          if (!r.applicable) {
            MESSAGE(name << " is not applicable on this device: " << r.note);
            continue;
          }
          CHECK(r.cases > 0);
          CHECK(r.pass);
        }
      }
  }

  TEST_CASE("the default model's committed greedy ids are the CPU reference's") {
    const std::string path = std::string(SINKSTREAM_TESTS_DIR) + "/../" + default_selftest_model();
    REQUIRE(std::filesystem::exists(path));
    const auto m = model::load_model(path);
    const check::Golden& g = check::default_model_golden();
    CHECK_MESSAGE(check::fingerprint(*m) == g.fingerprint,
                  "the default model changed: new golden ids in src/check/golden.cpp (fingerprint "
                      << check::fingerprint(*m) << ")");
    ref::ReferenceModel reference(*m, g.sinks, g.window);
    std::vector<int32_t> ids;
    double closest =
        1e9;  // the smallest gap between the two best logits: a tie would make the ids fragile
    int32_t token = g.first;
    for (size_t i = 0; i < std::max<size_t>(g.ids.size(), 48); ++i) {
      auto logits = reference.forward(token);
      token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      const float best = logits[token];
      logits[token] = -1e30f;
      closest = std::min<double>(closest, best - *std::max_element(logits.begin(), logits.end()));
      ids.push_back(token);
    }
    std::string list;
    for (int32_t id : ids) list += std::to_string(id) + ", ";
    INFO("reference ids: " << list << " smallest top-2 gap " << closest);
    CHECK(ids == g.ids);
    CHECK(closest > 1e-3);
  }

  TEST_CASE("the registry's variant names are the embedded shaders'") {
    for (const check::KernelCheck& k : check::kernel_checks())
      for (std::string_view variant : k.variants)
        CHECK_NOTHROW(vk::find_shader(check::shader_name(k.kernel, variant)));
  }
}

}  // namespace sinkstream::test
