// Running the real sinkstream binary from tests: a shell line with $B set to
// it, stdout and stderr together (or as the line redirects them), and the exit code.
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

namespace sinkstream::test {

struct Run {
  int code;
  std::string out;  // stdout and stderr together
};

inline Run run_sh(const std::string& line) {
  const std::string cmd = "B=" + std::string(SINKSTREAM_CLI) + "; { " + line + "; } 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), &pclose);
  REQUIRE(p != nullptr);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(p.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline Run run(const std::string& args) { return run_sh("\"$B\" " + args); }

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace sinkstream::test
