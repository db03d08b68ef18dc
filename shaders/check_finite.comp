#version 450
// The NaN/Inf guard: when any of data[0..count) is NaN or +-Inf, raises
// status[0] to at least pc.tag. The engine tags ops in decreasing order
// through a chunk, so status[0] names the first op that produced one.
#extension GL_GOOGLE_include_directive : require
#define PC_CHECK_FINITE
#include "model_pc.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Data { float d[]; };
layout(std430, binding = 1) buffer Status { uint status[]; };

void main() {
  bool bad = false;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  // Exponent bits all ones: NaN or Inf, whatever the compiler assumes about isnan().
  for (uint i = gl_GlobalInvocationID.x; i < pc.count; i += stride)
    bad = bad || (floatBitsToUint(d[i]) & 0x7F800000u) == 0x7F800000u;
  if (bad) atomicMax(status[0], pc.tag);
}
