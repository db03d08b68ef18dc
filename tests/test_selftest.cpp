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
    for (const char* option : {"--device", "--json", "--quick", "--model", "--kernel", "--jobs"})
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

  TEST_CASE("selftest --jobs: checks on several threads give the reports of one at a time, in order") {
    // Validation off: with it on, checks run one at a time whatever --jobs says.
    const std::string kernels = "--kernel rmsnorm,matvec,moe_group,kv_append,attn_decode_f16,argmax --model ''";
    const auto selftest = [&](const std::string& jobs) {
      return run_sh("SINKSTREAM_VALIDATION=0 \"$B\" selftest --json --quick --jobs " + jobs + " " + kernels + " 2>/dev/null");
    };
    const Run many = selftest("3"), one = selftest("1");
    REQUIRE((many.code == 0 && one.code == 0));
    const auto a = nlohmann::json::parse(many.out), b = nlohmann::json::parse(one.out);
    CHECK(a["jobs"] == 3);
    CHECK(b["jobs"] == 1);
    CHECK(a["kernels_ms"].get<double>() > 0);
    REQUIRE(a["kernels"].size() == b["kernels"].size());
    CHECK(a["kernels"].size() == 1 + 16 + 1 + 3 + 1 + 1);
    for (size_t i = 0; i < a["kernels"].size(); ++i) {
      const auto &x = a["kernels"][i], &y = b["kernels"][i];
      INFO(x.dump() << " / " << y.dump());
      CHECK(x["kernel"] == y["kernel"]);
      CHECK(x["variant"] == y["variant"]);
      CHECK(x["cases"] == y["cases"]);
      CHECK(x["max_error"] == y["max_error"]);  // the same data and kernels: the same errors
      CHECK(x["pass"] == true);
    }
    const Run validated =
        run_sh("SINKSTREAM_VALIDATION=1 \"$B\" selftest --json --quick --jobs 3 --kernel swiglu --model '' 2>/dev/null");
    CHECK(nlohmann::json::parse(validated.out)["jobs"] == 1);
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
