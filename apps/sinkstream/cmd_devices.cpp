// `sinkstream devices`: what Vulkan sees, in a table or JSON.
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "sinkstream/gpu.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream devices [--json]\n"
    "Lists every Vulkan device: index, name, type, driver, memory, subgroup size,\n"
    "fp16 arithmetic, 16-bit storage and cooperative-matrix support. Select one\n"
    "with --device INDEX|NAME on other commands or SINKSTREAM_DEVICE.\n";

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    o += c;
  }
  return o;
}

const char* yes(bool b) { return b ? "yes" : "no"; }
const char* tf(bool b) { return b ? "true" : "false"; }

}  // namespace

int cmd_devices(const std::vector<std::string>& argv) {
  const cli::Args args(argv, {"json", "help"}, {});
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const auto devices = list_devices();
  if (args.has("json")) {
    std::printf("[");
    for (size_t i = 0; i < devices.size(); ++i) {
      const auto& d = devices[i];
      std::printf(
          "%s{\"index\":%u,\"name\":\"%s\",\"type\":\"%s\",\"driver\":\"%s\",\"device_local_bytes\":%llu,"
          "\"uma\":%s,\"subgroup_size\":%u,\"subgroup_arithmetic\":%s,\"fp16\":%s,\"storage_16bit\":%s,"
          "\"coopmat_khr\":%s,\"coopmat_nv\":%s,\"coopmat_prefill\":%s,\"integer_dot\":%s,"
          "\"integer_dot_fast\":%s,\"max_shared_bytes\":%u,"
          "\"compute_units\":%u}",
          i ? "," : "", d.index, json_escape(d.name).c_str(), d.type.c_str(),
          json_escape(d.driver).c_str(), static_cast<unsigned long long>(d.device_local_bytes), tf(d.uma),
          d.subgroup_size, tf(d.subgroup_arithmetic), tf(d.fp16_arithmetic), tf(d.storage_16bit), tf(d.coopmat_khr),
          tf(d.coopmat_nv), tf(d.coopmat_prefill), tf(d.integer_dot), tf(d.integer_dot_fast), d.max_shared_bytes,
          d.compute_units);
    }
    std::printf("]\n");
    return 0;
  }
  if (devices.empty()) std::printf("Vulkan sees no device.\n");
  for (const auto& d : devices) {
    std::printf("[%u] %s (%s)\n", d.index, d.name.c_str(), d.type.c_str());
    std::printf("    driver %s, Vulkan %u.%u\n", d.driver.c_str(), d.api_major, d.api_minor);
    std::printf("    memory %.1f GiB%s, shared %u KiB, subgroup %u (arithmetic %s)\n",
                static_cast<double>(d.device_local_bytes) / (1 << 30), d.uma ? " (host-visible, UMA)" : "",
                d.max_shared_bytes / 1024, d.subgroup_size, yes(d.subgroup_arithmetic));
    std::printf("    fp16 %s, 16-bit storage %s, cooperative matrix KHR %s / NV %s (prefill kernel %s)\n",
                yes(d.fp16_arithmetic), yes(d.storage_16bit), yes(d.coopmat_khr), yes(d.coopmat_nv),
                yes(d.coopmat_prefill));
    std::printf("    integer dot products %s%s\n", yes(d.integer_dot),
                d.integer_dot ? (d.integer_dot_fast ? " (accelerated: Q8_0/Q4_0 decode takes them)" : " (not accelerated: unused)")
                              : "");
    if (d.compute_units) std::printf("    %u compute units\n", d.compute_units);
  }
  return 0;
}

}  // namespace sinkstream::app
