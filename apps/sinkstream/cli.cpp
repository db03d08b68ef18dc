#include "cli.hpp"

#include <charconv>
#include <cstdio>
#include <sstream>

#include "sinkstream/error.hpp"

namespace sinkstream::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& flags,
           const std::set<std::string>& options) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) throw InvalidArgument("unexpected argument '" + a + "' (see --help)");
    a = a.substr(2);
    std::string value;
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    if (flags.count(a)) {
      if (eq != std::string::npos) throw InvalidArgument("--" + a + " takes no value");
      values_.insert_or_assign(a, std::string("1"));
    } else if (options.count(a)) {
      if (eq == std::string::npos) {
        if (i + 1 >= argv.size()) throw InvalidArgument("--" + a + " needs a value");
        value = argv[++i];
      }
      values_[a] = value;
    } else {
      throw InvalidArgument("unknown option --" + a + " (see --help)");
    }
  }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

uint64_t Args::u64(const std::string& name, uint64_t fallback, uint64_t min, uint64_t max) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  uint64_t v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max)
    throw InvalidArgument("--" + name + " must be an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                          ", got '" + s + "'");
  return v;
}

double Args::real(const std::string& name, double fallback, double min, double max) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  double v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !(v >= min && v <= max))
    throw InvalidArgument("--" + name + " must be a number in " + std::to_string(min) + ".." + std::to_string(max) +
                          ", got '" + s + "'");
  return v;
}

std::vector<uint64_t> Args::u64_list(const std::string& name, const std::vector<uint64_t>& fallback) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  std::vector<uint64_t> out;
  std::stringstream ss(it->second);
  std::string item;
  while (std::getline(ss, item, ',')) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size() || v == 0)
      throw InvalidArgument("--" + name + " must be a comma-separated list of positive integers, got '" + it->second +
                            "'");
    out.push_back(v);
  }
  if (out.empty()) throw InvalidArgument("--" + name + " is empty");
  return out;
}

int report_error(const std::exception& e) {
  std::fprintf(stderr, "sinkstream: %s\n", e.what());
  return dynamic_cast<const InvalidArgument*>(&e) ? 2 : 1;
}

}  // namespace sinkstream::cli
