// Where the shared model fixtures are (../shared/fixtures unless
// $SINKSTREAM_FIXTURES or -DSINKSTREAM_FIXTURES says otherwise). Tests that
// need them call REQUIRE_FIXTURE, which reports the case as skipped, visibly,
// when the folder is absent.
#pragma once
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace sinkstream::test {

inline std::string fixture(const std::string& name) {
  const char* env = std::getenv("SINKSTREAM_FIXTURES");
  return std::string(env ? env : SINKSTREAM_FIXTURES) + "/" + name;
}

inline bool have_fixture(const std::string& name) { return std::filesystem::exists(fixture(name)); }

}  // namespace sinkstream::test

// Skips the rest of the test case (with a message in the output) when a fixture is missing.
#define REQUIRE_FIXTURE(name)                                                                   \
  do {                                                                                          \
    if (!::sinkstream::test::have_fixture(name)) {                                              \
      MESSAGE("SKIPPED: fixture " << ::sinkstream::test::fixture(name) << " is not available"); \
      return;                                                                                   \
    }                                                                                           \
  } while (0)
