// The sinkstream command line as scripts use it: exit codes, --ids, --json,
// and clear errors. Runs the real binary.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "fixtures.hpp"
#include "golden.hpp"

namespace sinkstream::test {
namespace {

struct Run {
  int code;
  std::string out;  // stdout and stderr together
};

Run run(const std::string& args) {
  const std::string cmd = std::string(SINKSTREAM_CLI) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), &pclose);
  REQUIRE(p != nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(p.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("generate --ids reproduces the golden greedy ids from BOS") {
    REQUIRE_FIXTURE("stories260K.bin");
    const auto r = run("generate --model " + fixture("stories260K.bin") + " --tokenizer " + fixture("tok512.bin") +
                       " --temperature 0 --tokens 40 --kv-type f32 --ids");
    REQUIRE(r.code == 0);
    std::istringstream in(r.out);
    std::vector<int32_t> ids;
    for (int32_t id; in >> id;) ids.push_back(id);
    CHECK(ids == std::vector<int32_t>(stories260k_golden().begin(), stories260k_golden().begin() + 40));
    CHECK(r.out.find("validation") == std::string::npos);
  }

  TEST_CASE("generate --json prints one object with the statistics") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const auto r = run("generate --model " + fixture("stories260K.gguf") + " --prompt \"Once upon\" --tokens 12 --json");
    REQUIRE(r.code == 0);
    CHECK(r.out.front() == '{');
    for (const char* key : {"\"text\":", "\"ids\":", "\"tokens\":12", "\"prefill_tokens_per_s\":",
                            "\"decode_tokens_per_s\":", "\"cache_slots_used\":", "\"evicted_tokens\":0",
                            "\"device_bytes\":"})
      CHECK_MESSAGE(r.out.find(key) != std::string::npos, key);
  }

  TEST_CASE("bad invocations fail with a message and a non-zero exit code") {
    auto r = run("generate --model /nonexistent/model.gguf");
    CHECK(r.code == 1);
    CHECK(r.out.find("cannot open") != std::string::npos);
    r = run("generate --tokens -3 --model x");
    CHECK(r.code == 2);
    r = run("generate --no-such-flag");
    CHECK(r.code == 2);
    CHECK(r.out.find("unknown option") != std::string::npos);
    r = run("frobnicate");
    CHECK(r.code == 2);
    if (have_fixture("stories260K.bin")) {
      r = run("generate --model " + fixture("stories260K.bin"));  // a llama2.c checkpoint needs --tokenizer
      CHECK(r.code == 2);
      CHECK(r.out.find("--tokenizer") != std::string::npos);
    }
    r = run("--help");
    CHECK(r.code == 0);
    CHECK(r.out.find("generate") != std::string::npos);
  }
}

}  // namespace sinkstream::test
