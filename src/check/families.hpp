// The run functions of the kernel checks, one file per kernel family; the
// registry (registry.cpp) ties each to the shader variants it covers.
#pragma once
#include "check/kernel_check.hpp"

namespace sinkstream::check {

#define SINKSTREAM_CHECK(name) \
  void name(vk::Context& ctx, std::string_view variant, const CheckOptions& o, VariantResult& r)

// elementwise.cpp
SINKSTREAM_CHECK(check_embed);
SINKSTREAM_CHECK(check_rmsnorm);
SINKSTREAM_CHECK(check_swiglu);
SINKSTREAM_CHECK(check_softcap);
SINKSTREAM_CHECK(check_argmax);
SINKSTREAM_CHECK(check_finite);
SINKSTREAM_CHECK(check_copy);
SINKSTREAM_CHECK(check_matmul_reduce);
// products.cpp
SINKSTREAM_CHECK(check_matmul);
SINKSTREAM_CHECK(check_matvec);
// products.cpp: the integer-dot variant
SINKSTREAM_CHECK(check_matvec_idot);
// products_coop.cpp
SINKSTREAM_CHECK(check_matmul_coop);
SINKSTREAM_CHECK(check_matmul_coop_glu);
SINKSTREAM_CHECK(check_matmul_coop64);
SINKSTREAM_CHECK(check_matmul_coop128);
SINKSTREAM_CHECK(check_matmul_coop128_glu);
// attention.cpp
SINKSTREAM_CHECK(check_kv_append);
SINKSTREAM_CHECK(check_attn_decode);
SINKSTREAM_CHECK(check_attn_split);
SINKSTREAM_CHECK(check_attn_reduce);
SINKSTREAM_CHECK(check_attn_coop);
SINKSTREAM_CHECK(check_attn_probe);
// attention_rows.cpp
SINKSTREAM_CHECK(check_kv_append_rows);
SINKSTREAM_CHECK(check_attn_rows);
// moe.cpp: gpt-oss's mixture of experts
SINKSTREAM_CHECK(check_moe_route);
SINKSTREAM_CHECK(check_moe_group);
SINKSTREAM_CHECK(check_moe_matmul);
SINKSTREAM_CHECK(check_moe_combine);
// sampling.cpp: the GPU sampler (penalty, greedy, temperature, top-k, top-p, min-p)
SINKSTREAM_CHECK(check_sample_rows);

#undef SINKSTREAM_CHECK

}  // namespace sinkstream::check
