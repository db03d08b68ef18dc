// The scheduler through the command line: `bench batch --json` and
// `generate --prompts` (one stream per prompt line, run together).
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "fixtures.hpp"
#include "gpu_fixture.hpp"

namespace sinkstream::test {

TEST_SUITE("scheduler_cli") {
  TEST_CASE("bench batch --json: a row per count, alone and beside an ingest, finite logits with full rings") {
    REQUIRE_FIXTURE("stories260K.gguf");
    // The NaN guard on and sampled streams: the benchmark's assumed-full rings must hold finite values.
    const auto r = run_sh("SINKSTREAM_CHECK_FINITE=1 \"$B\" bench batch --model " + fixture("stories260K.gguf") +
                          " --streams 1,3 --steps 3 --ingest-tokens 40 --window 60 --sample --json 2>/dev/null");
    REQUIRE(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    REQUIRE(j["rows"].size() == 4);
    CHECK(j["window"] == 60);
    const uint32_t streams[] = {1, 3, 1, 3};
    for (size_t i = 0; i < 4; ++i) {
      const auto& row = j["rows"][i];
      INFO(row.dump());
      CHECK(row["streams"] == streams[i]);
      CHECK(row["ingesting"] == (i >= 2));
      CHECK(row["aggregate_tokens_per_s"].get<double>() > 0);
      CHECK(row["p99_step_ms"].get<double>() >= row["median_step_ms"].get<double>());
      CHECK((row["prompt_tokens_ingested"].get<uint64_t>() > 0) == (i >= 2));
    }
  }

  TEST_CASE("generate --prompts: one stream per line, results in input order, each as generate alone") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const std::string model = fixture("stories260K.gguf");
    const std::string prompts = temp_path("prompts.txt");
    {
      std::ofstream f(prompts);
      f << "Once upon a time\nThe little dog\n\nLily and Ben\n";
    }
    const auto batch = run("generate --model " + model + " --prompts " + prompts +
                           " --temperature 0 --tokens 24 --window 30 --json 2>/dev/null");
    REQUIRE(batch.code == 0);
    std::vector<std::string> lines;
    for (size_t at = 0; at < batch.out.size();) {
      const size_t end = batch.out.find('\n', at);
      lines.push_back(batch.out.substr(at, end - at));
      at = end + 1;
    }
    REQUIRE(lines.size() == 4);
    const char* texts[] = {"Once upon a time", "The little dog", "", "Lily and Ben"};
    for (size_t i = 0; i < 4; ++i) {
      INFO(lines[i]);
      CHECK(lines[i].find("\"index\":" + std::to_string(i) + ",") != std::string::npos);
      const auto one = run(std::string("generate --model ") + model + " --prompt '" + texts[i] +
                           "' --temperature 0 --tokens 24 --window 30 --ids 2>/dev/null");
      REQUIRE(one.code == 0);
      std::string ids = one.out.substr(0, one.out.find('\n'));
      for (char& ch : ids) ch = ch == ' ' ? ',' : ch;
      CHECK(lines[i].find("\"ids\":[" + ids + "]") != std::string::npos);
    }
  }
}

}  // namespace sinkstream::test
