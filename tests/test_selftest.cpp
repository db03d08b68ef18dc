// `sinkstream selftest` through the real binary: the table and the JSON report,
// its exit status, and the default model end to end against its golden ids.
// (The kernel checks themselves are the kernels suite.)
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "cli_run.hpp"

namespace sinkstream::test {

TEST_SUITE("selftest") {
  TEST_CASE("selftest is listed in --help and explains its options") {
    CHECK(run("--help").out.find("selftest") != std::string::npos);
    const Run r = run("selftest --help");
    CHECK(r.code == 0);
    for (const char* option : {"--device", "--json", "--quick", "--model", "--kernel"})
      CHECK_MESSAGE(r.out.find(option) != std::string::npos, option);
  }

  TEST_CASE(
      "selftest --json: the device, and each kernel's cases, error, tolerance, verdict and time") {
    const Run r = run(
        "selftest --json --quick --kernel rmsnorm,matmul_q4_k,attn_coop --model '' 2>/dev/null");
    REQUIRE(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["pass"] == true);
    CHECK(!j["device"]["name"].get<std::string>().empty());
    CHECK(j["device"].contains("subgroup_size"));
    REQUIRE(j["kernels"].size() == 3);
    for (const auto& k : j["kernels"]) {
      for (const char* key : {"kernel", "variant", "cases", "max_error", "tolerance", "pass", "ms"})
        CHECK_MESSAGE(k.contains(key), key);
      CHECK(k["pass"].is_boolean());
      if (k["applicable"] == true) {
        CHECK(k["cases"].get<int>() > 0);
        CHECK(k["max_error"].get<double>() <= k["tolerance"].get<double>());
      }
    }
    CHECK(j["kernels"][1]["variant"] == "q4_k");
    CHECK(j["end_to_end"]["ran"] == false);
  }

  TEST_CASE("selftest prints a table and a summary; an unknown kernel is an error") {
    const Run r = run("selftest --quick --kernel swiglu --model ''");
    CHECK(r.code == 0);
    CHECK(r.out.find("swiglu") != std::string::npos);
    CHECK(r.out.find("PASS: 1 kernel variants checked, 0 failed") != std::string::npos);
    const Run bad = run("selftest --kernel nonesuch");
    CHECK(bad.code == 2);
    CHECK(bad.out.find("no kernel or kernel variant named 'nonesuch'") != std::string::npos);
  }

  TEST_CASE(
      "selftest end to end: the default model's greedy ids on this GPU equal the golden ids") {
    const std::string model =
        std::string(SINKSTREAM_TESTS_DIR) + "/../models/sinkstream-books-14m.gguf";
    const Run r = run("selftest --json --kernel copy --model '" + model + "' 2>/dev/null");
    const auto j = nlohmann::json::parse(r.out);
    INFO(j["end_to_end"].dump());
    CHECK(j["end_to_end"]["ran"] == true);
    CHECK(j["end_to_end"]["tokens"] == 33);  // 48 golden ids, the first 15 given as the prompt
    CHECK(j["end_to_end"]["matched"] == 33);
    CHECK(r.code == 0);
  }
}

}  // namespace sinkstream::test
