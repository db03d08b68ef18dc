// SPIR-V embedded at build time (see cmake/Shaders.cmake); looked up by variant name.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sinkstream::vk {

struct ShaderBlob {
  const char* name;
  const uint32_t* words;
  size_t word_count;
};

std::span<const ShaderBlob> embedded_shaders();

// Throws sinkstream::Error if no variant has this name (a build bug, not user input).
const ShaderBlob& find_shader(std::string_view name);

}  // namespace sinkstream::vk
