// The kernel check registry. Every shader variant compiled into the library
// (shaders/CMakeLists.txt, listed in the generated shader_list.inc) must be
// covered by an entry here: the static_asserts at the end fail the build for a
// variant without a check, and for an entry naming a variant that is not built.
#include <array>
#include <string_view>

#include "check/families.hpp"

namespace sinkstream::check {
namespace {

using V = std::string_view;
constexpr V kNone[] = {""};
constexpr V kWeights[] = {"f32",  "f16",  "bf16", "q8_0", "q4_0", "q4_1",   "q5_0",   "q5_1",
                          "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs", "mxfp4"};
constexpr V kWeightsButF16[] = {"f32",  "bf16", "q8_0", "q4_0", "q4_1",   "q5_0",   "q5_1", "q2_k",
                                "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs", "mxfp4"};
constexpr V kKv[] = {"f32", "f16", "q8_0"};
constexpr V kIntegerDot[] = {"q8_0", "q4_0"};
constexpr V kF16[] = {"f16"};

constexpr V kExact = "max |gpu - ref| (bit patterns: exact)";
constexpr V kCount = "wrong results (indices, flags, words)";
constexpr V kScaled = "max |gpu - ref| / (1 + sum of |terms|)";
constexpr V kAbs = "max |gpu - ref|, outputs of magnitude <= 1";

constexpr KernelCheck kChecks[] = {
    {"embed", kWeights, kExact, check_embed},
    {"rmsnorm", kNone, kScaled, check_rmsnorm},
    {"matvec", kWeights, kScaled, check_matvec},
    {"matvec_idot", kIntegerDot, kScaled, check_matvec_idot},
    {"matmul", kWeights, kScaled, check_matmul},
    {"matmul_coop", kWeights, kScaled, check_matmul_coop},
    {"matmul_coop64", kWeights, kScaled, check_matmul_coop64},
    {"matmul_coop128", kWeightsButF16, kScaled, check_matmul_coop128},
    {"matmul_coop_glu", kWeights, kScaled, check_matmul_coop_glu},
    {"matmul_coop128_glu", kWeightsButF16, kScaled, check_matmul_coop128_glu},
    {"matmul_reduce", kNone, kScaled, check_matmul_reduce},
    {"swiglu", kNone, kScaled, check_swiglu},
    {"softcap", kNone, kScaled, check_softcap},
    {"kv_append", kKv, kAbs, check_kv_append},
    {"attn_decode", kKv, kAbs, check_attn_decode},
    {"attn_split", kKv, kAbs, check_attn_split},
    {"attn_reduce", kNone, kAbs, check_attn_reduce},
    {"attn_coop", kF16, kAbs, check_attn_coop},
    {"kv_append_rows", kKv, kAbs, check_kv_append_rows},
    {"attn_rows", kKv, kAbs, check_attn_rows},
    {"attn_probe", kKv, kAbs, check_attn_probe},
    {"argmax", kNone, kCount, check_argmax},
    {"sample_rows", kNone, kCount, check_sample_rows},
    {"check_finite", kNone, kCount, check_finite},
    {"copy", kNone, kCount, check_copy},
    {"moe_route", kNone, kCount, check_moe_route},
    {"moe_group", kNone, kCount, check_moe_group},
    {"moe_matmul", kWeights, kScaled, check_moe_matmul},
    {"moe_combine", kNone, kScaled, check_moe_combine},
};

// The shader variants the build compiled.
constexpr V kShaders[] = {
#define SINKSTREAM_SHADER(name) #name,
#include "shader_list.inc"
#undef SINKSTREAM_SHADER
};

constexpr bool is_variant_of(V shader, const KernelCheck& k, V variant) {
  if (variant.empty()) return shader == k.kernel;
  return shader.size() == k.kernel.size() + 1 + variant.size() &&
         shader.substr(0, k.kernel.size()) == k.kernel && shader[k.kernel.size()] == '_' &&
         shader.substr(k.kernel.size() + 1) == variant;
}

constexpr bool has_check(V shader) {
  for (const KernelCheck& k : kChecks)
    for (V v : k.variants)
      if (is_variant_of(shader, k, v)) return true;
  return false;
}

constexpr bool is_built(const KernelCheck& k, V variant) {
  for (V s : kShaders)
    if (is_variant_of(s, k, variant)) return true;
  return false;
}

constexpr bool every_entry_built() {
  for (const KernelCheck& k : kChecks)
    for (V v : k.variants)
      if (!is_built(k, v)) return false;
  return true;
}

// One assertion per compiled variant, so the compiler's message names it.
#define SINKSTREAM_SHADER(name)                                           \
  static_assert(has_check(#name), "shader variant '" #name                \
                                  "' has no kernel check: add its cases " \
                                  "and CPU reference in src/check and an entry in kChecks");
#include "shader_list.inc"
#undef SINKSTREAM_SHADER
static_assert(every_entry_built(),
              "a kernel check names a shader variant the build does not compile");

}  // namespace

std::span<const KernelCheck> kernel_checks() {
  return kChecks;
}

}  // namespace sinkstream::check
