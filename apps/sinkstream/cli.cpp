#include "cli.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <sstream>

#include "sinkstream/error.hpp"

namespace sinkstream::cli {
namespace {

// llama.cpp's (llama-cli's) spellings of options sinkstream has. -c / --ctx-size
// is the whole cache, sinks + window, as llama.cpp's context is.
struct Alias {
  const char* spelling;  // with its dashes
  const char* canonical;
};
constexpr Alias kAliases[] = {
    {"-m", "model"},          {"-p", "prompt"},          {"-f", "prompt-file"},
    {"-n", "tokens"},         {"--n-predict", "tokens"}, {"-c", "ctx-size"},
    {"-s", "seed"},           {"--temp", "temperature"}, {"-h", "help"},
    {"-r", "stop"},           {"--reverse-prompt", "stop"}, {"-sys", "system"},
    {"--system-prompt", "system"},
};

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

[[noreturn]] void unknown(const std::string& spelling, const std::string& name, const std::set<std::string>& known) {
  const std::string near = closest(name, known);
  throw InvalidArgument("unknown option " + spelling + (near.empty() ? "" : "; did you mean --" + near + "?") +
                        " (see --help)");
}

}  // namespace

std::string canonical(const std::string& dashes, const std::string& name) {
  const std::string spelling = dashes + name;
  for (const auto& a : kAliases)
    if (spelling == a.spelling) return a.canonical;
  return name;
}

std::string closest(const std::string& name, const std::set<std::string>& known) {
  std::string best;
  size_t best_d = std::max<size_t>(1, std::min<size_t>(3, name.size() / 3)) + 1;
  for (const auto& k : known) {
    const size_t d = edit_distance(name, k);
    if (d < best_d) best_d = d, best = k;
  }
  return best;
}

std::string format_number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& flags,
           const std::set<std::string>& options) {
  std::set<std::string> known = flags;
  known.insert(options.begin(), options.end());
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    const size_t dashes = arg.rfind("--", 0) == 0 ? 2 : arg.size() > 1 && arg[0] == '-' ? 1 : 0;
    if (dashes == 0) throw InvalidArgument("unexpected argument '" + arg + "' (see --help)");
    std::string a = arg.substr(dashes), value;
    const auto eq = dashes == 2 ? a.find('=') : std::string::npos;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    const std::string spelling = arg.substr(0, dashes) + a;
    const std::string name = canonical(arg.substr(0, dashes), a);
    if (dashes == 1 && name == a) unknown(spelling, a, known);  // one dash: llama.cpp's short flags only
    if (flags.count(name)) {
      if (eq != std::string::npos) throw InvalidArgument(spelling + " takes no value");
      values_[name] = {"1"};
    } else if (options.count(name)) {
      if (eq == std::string::npos) {
        if (i + 1 >= argv.size()) throw InvalidArgument(spelling + " needs a value");
        value = argv[++i];
      }
      values_[name].push_back(value);
    } else {
      unknown(spelling, a, known);
    }
  }
}

std::string Args::str(const std::string& name, const std::string& fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::all(const std::string& name) const {
  const auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

uint64_t Args::u64(const std::string& name, uint64_t fallback, uint64_t min, uint64_t max) const {
  if (!has(name)) return fallback;
  uint64_t v = 0;
  const std::string s = str(name, "");
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max)
    throw InvalidArgument("--" + name + " must be an integer " +
                          (max == std::numeric_limits<uint64_t>::max()
                               ? ">= " + std::to_string(min)
                               : "in " + std::to_string(min) + ".." + std::to_string(max)) +
                          ", got '" + s + "'");
  return v;
}

double Args::real(const std::string& name, double fallback, double min, double max) const {
  if (!has(name)) return fallback;
  double v = 0;
  const std::string s = str(name, "");
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !(v >= min && v <= max))
    throw InvalidArgument("--" + name + " must be a number in " + format_number(min) + ".." + format_number(max) +
                          ", got '" + s + "'");
  return v;
}

std::vector<std::string> Args::str_list(const std::string& name,
                                        const std::string& fallback) const {
  std::stringstream ss(str(name, fallback));
  std::vector<std::string> out;
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<uint64_t> Args::u64_list(const std::string& name, const std::vector<uint64_t>& fallback) const {
  if (!has(name)) return fallback;
  const std::string all_items = str(name, "");
  std::vector<uint64_t> out;
  std::stringstream ss(all_items);
  std::string item;
  while (std::getline(ss, item, ',')) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size() || v == 0)
      throw InvalidArgument("--" + name + " must be a comma-separated list of positive integers, got '" + all_items +
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
