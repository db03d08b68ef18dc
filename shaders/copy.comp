#version 450
// Plain copy, the bandwidth yardstick of the benchmarks: 16 bytes per invocation
// per iteration, grid-stride.
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Src { uvec4 src[]; };
layout(std430, binding = 1) writeonly buffer Dst { uvec4 dst[]; };
layout(push_constant) uniform PC { uint n_vec4; uint pad0; uint pad1; uint pad2; } pc;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < pc.n_vec4; i += stride) dst[i] = src[i];
}
