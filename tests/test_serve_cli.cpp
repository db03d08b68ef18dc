// `sinkstream serve` as a command: listed by the top-level help, its own help
// lists its flags, and bad options fail with a message before anything loads.
#include <doctest/doctest.h>

#include "cli_run.hpp"

namespace sinkstream::test {

TEST_SUITE("serve_cli") {

TEST_CASE("serve is a command; --help lists its options") {
  CHECK(run("--help").out.find("  serve ") != std::string::npos);
  const Run help = run("serve --help");
  CHECK(help.code == 0);
  for (const char* flag : {"--model", "--host", "--port", "--streams", "--sinks", "--window", "--kv-type", "--api-key",
                           "--device", "--max-body", "--max-tokens", "--cors", "--chat-template", "--drain-timeout"})
    CHECK_MESSAGE(help.out.find(flag) != std::string::npos, flag);
  const Run typo = run("serve --streamz 80");
  CHECK(typo.code != 0);
  CHECK(typo.out.find("--streams") != std::string::npos);  // did you mean
  const Run no_model = run("serve --port 0");
  CHECK(no_model.code != 0);
  CHECK(no_model.out.find("--model") != std::string::npos);
}

}  // TEST_SUITE

}  // namespace sinkstream::test
