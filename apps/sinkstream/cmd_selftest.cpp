// `sinkstream selftest`: every kernel against its CPU reference on this GPU,
// then the default model end to end; a table, or one JSON object for bug reports.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "sinkstream/selftest.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream selftest [--device SEL] [--json] [--quick] [--model PATH] [--kernel K,...] [--jobs N]\n"
    "Checks every GPU kernel variant this device runs against a CPU reference\n"
    "(edge-case shapes, a stated tolerance each), then greedy decoding of the\n"
    "default model against its committed token ids (f32 KV cache).\n"
    "  --device SEL   device index or name substring (see `sinkstream devices`)\n"
    "  --json         one JSON object (device, kernels, end_to_end) for bug reports\n"
    "  --quick        fewer and smaller cases: a few seconds\n"
    "  --model PATH   the end-to-end model (default models/sinkstream-books-14m.gguf,\n"
    "                 from the repository root; skipped when absent; \"\" skips it)\n"
    "  --kernel K,... only these kernels (matmul) or variants (matmul_q4_k)\n"
    "  --jobs N       checks run at once (default: the CPU's cores, at most 8; 1 when\n"
    "                 SINKSTREAM_VALIDATION=1): a first run mostly compiles pipelines\n"
    "Exit status 1 when any check fails. Variants the device does not run (e.g.\n"
    "cooperative-matrix kernels without VK_NV_cooperative_matrix) are listed as n/a.\n";

std::string variant_label(const KernelReport& k) {
  return k.variant.empty() ? "-" : k.variant;
}

void print_row(const KernelReport& k) {
  static bool header = false;
  if (!header)
    std::printf("%-20s %-8s %5s  %10s  %10s  %-4s %8s\n", "kernel", "variant", "cases", "max error",
                "tolerance", "", "ms");
  header = true;
  if (!k.applicable) return;  // summarised per kernel at the end
  std::printf("%-20s %-8s %5u  %10.3g  %10.3g  %-4s %8.1f%s%s\n", k.kernel.c_str(),
              variant_label(k).c_str(), k.cases, k.max_error, k.tolerance, k.pass ? "ok" : "FAIL",
              k.ms, k.note.empty() ? "" : "  ", k.note.c_str());
  std::fflush(stdout);
}

nlohmann::ordered_json to_json(const SelftestReport& r) {
  const SelftestDevice& d = r.device;
  nlohmann::ordered_json device = {{"name", d.name},
                                   {"type", d.type},
                                   {"driver", d.driver},
                                   {"vulkan", d.vulkan},
                                   {"subgroup_size", d.subgroup_size},
                                   {"subgroup_arithmetic", d.subgroup_arithmetic},
                                   {"subgroup_shuffle", d.subgroup_shuffle},
                                   {"fp16", d.fp16},
                                   {"storage_16bit", d.storage_16bit},
                                   {"coopmat_nv", d.coopmat_nv},
                                   {"coopmat_khr", d.coopmat_khr},
                                   {"coopmat_prefill", d.coopmat_prefill},
                                   {"buffer_address", d.buffer_address},
                                   {"uma", d.uma},
                                   {"max_shared_bytes", d.max_shared_bytes},
                                   {"memory_bytes", d.memory_bytes}};
  nlohmann::ordered_json kernels = nlohmann::ordered_json::array();
  for (const KernelReport& k : r.kernels)
    kernels.push_back({{"kernel", k.kernel},
                       {"variant", k.variant},
                       {"applicable", k.applicable},
                       {"cases", k.cases},
                       {"max_error", k.max_error},
                       {"tolerance", k.tolerance},
                       {"error_measure", k.error_measure},
                       {"pass", k.pass},
                       {"ms", k.ms},
                       {"note", k.note}});
  const EndToEndReport& e = r.end_to_end;
  nlohmann::ordered_json e2e = {{"ran", e.ran},
                                {"model", e.model},
                                {"tokens", e.tokens},
                                {"matched", e.matched},
                                {"first_mismatch", e.first_mismatch},
                                {"pass", e.pass},
                                {"ms", e.ms},
                                {"note", e.note}};
  return {{"device", device},       {"kernels", kernels},    {"jobs", r.jobs},
          {"kernels_ms", r.kernels_ms}, {"end_to_end", e2e}, {"pass", r.pass()}};
}

void print_summary(const SelftestReport& r) {
  uint32_t run = 0, failed = 0, na = 0;
  std::map<std::string, std::pair<uint32_t, std::string>> skipped;  // kernel -> (variants, why)
  for (const KernelReport& k : r.kernels) {
    if (!k.applicable) {
      ++na;
      auto& s = skipped[k.kernel];
      ++s.first;
      s.second = k.note;
      continue;
    }
    ++run;
    failed += !k.pass;
  }
  for (const auto& [kernel, s] : skipped)
    std::printf("%-20s n/a (%u variant%s): %s\n", kernel.c_str(), s.first, s.first == 1 ? "" : "s",
                s.second.c_str());
  const EndToEndReport& e = r.end_to_end;
  if (e.ran)
    std::printf("end to end: %s, %u/%u greedy ids match the golden ids%s (%.0f ms)%s%s\n",
                e.model.c_str(), e.matched, e.tokens,
                e.first_mismatch >= 0
                    ? (", first difference at " + std::to_string(e.first_mismatch)).c_str()
                    : "",
                e.ms, e.note.empty() ? "" : ": ", e.note.c_str());
  else
    std::printf("end to end: %s\n", e.note.c_str());
  std::printf("%s: %u kernel variants checked, %u failed, %u not applicable on %s; %.1f s (%u at once)%s\n",
              r.pass() ? "PASS" : "FAIL", run, failed, na, r.device.name.c_str(), r.kernels_ms / 1000, r.jobs,
              e.ran ? (e.pass ? ", end to end ok" : ", end to end FAILED") : "");
  for (const KernelReport& k : r.kernels)
    if (!k.pass) std::printf("failed: %s %s\n", k.kernel.c_str(), variant_label(k).c_str());
}

}  // namespace

int cmd_selftest(const std::vector<std::string>& argv) {
  const cli::Args args(argv, {"json", "quick", "help"}, {"device", "model", "kernel", "jobs"});
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  SelftestOptions o;
  o.device = args.str("device", "");
  o.quick = args.has("quick");
  o.jobs = static_cast<uint32_t>(args.u64("jobs", 0, 1, 64));
  o.model_path = args.str("model", default_selftest_model());
  for (const std::string& list : args.all("kernel"))
    for (size_t at = 0; at <= list.size();) {
      const size_t comma = std::min(list.find(',', at), list.size());
      if (comma > at) o.only.push_back(list.substr(at, comma - at));
      at = comma + 1;
    }
  const bool json = args.has("json");
  const SelftestReport r =
      run_selftest(o, json ? std::function<void(const KernelReport&)>{} : print_row);
  if (json)
    std::printf("%s\n", to_json(r).dump(2).c_str());
  else
    print_summary(r);
  return r.pass() ? 0 : 1;
}

}  // namespace sinkstream::app
