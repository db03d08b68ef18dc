// Minimal command-line parsing shared by the sinkstream subcommands: --flag,
// --key value and --key=value, llama.cpp's spellings as aliases (-m, -p, -n,
// --temp, ...), repeatable options, and "did you mean" for misspelt options.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sinkstream::cli {

class Args {
 public:
  // `flags` take no value; every other option takes one. Throws
  // InvalidArgument on unknown options, naming the closest known one.
  Args(const std::vector<std::string>& argv, const std::set<std::string>& flags, const std::set<std::string>& options);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value given (options may be repeated).
  std::string str(const std::string& name, const std::string& fallback) const;
  // Every value given, in order (for repeatable options such as --stop).
  std::vector<std::string> all(const std::string& name) const;
  uint64_t u64(const std::string& name, uint64_t fallback, uint64_t min, uint64_t max) const;
  double real(const std::string& name, double fallback, double min, double max) const;
  std::vector<uint64_t> u64_list(const std::string& name, const std::vector<uint64_t>& fallback) const;
  // A comma-separated list of words (empty items dropped).
  std::vector<std::string> str_list(const std::string& name, const std::string& fallback) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// The canonical long name an alias stands for ("m" -> "model", "temp" ->
// "temperature"), or the name itself. `dashes` is "-" or "--".
std::string canonical(const std::string& dashes, const std::string& name);

// The known option closest to a misspelt one (edit distance), or "" if none is close.
std::string closest(const std::string& name, const std::set<std::string>& known);

// A number as people write it: 100, 0.95, 1e-06 (never 100.000000).
std::string format_number(double v);

// Prints errors as "sinkstream: <message>" and returns the exit code.
int report_error(const std::exception& e);

}  // namespace sinkstream::cli
