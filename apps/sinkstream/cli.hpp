// Minimal command-line parsing shared by the sinkstream subcommands: --flag,
// --key value and --key=value, with typed getters that explain bad values.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sinkstream::cli {

class Args {
 public:
  // `flags` take no value; every other --option takes one. Throws
  // InvalidArgument on unknown options.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& flags, const std::set<std::string>& options);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string str(const std::string& name, const std::string& fallback) const;
  uint64_t u64(const std::string& name, uint64_t fallback, uint64_t min, uint64_t max) const;
  double real(const std::string& name, double fallback, double min, double max) const;
  std::vector<uint64_t> u64_list(const std::string& name, const std::vector<uint64_t>& fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// Prints errors as "sinkstream: <message>" and returns the exit code.
int report_error(const std::exception& e);

}  // namespace sinkstream::cli
