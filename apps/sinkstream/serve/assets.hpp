// The web page's files, embedded at build time (cmake/embed_assets.cmake), and
// the static route's lookup: exact names only, so no path reaches the disk.
#pragma once
#include <cstddef>
#include <optional>
#include <string_view>

namespace sinkstream::serve {

struct EmbeddedFile {
  const char* path;  // "/index.html"
  const unsigned char* data;
  size_t size;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const size_t kEmbeddedFileCount;

struct Asset {
  std::string_view body;
  std::string_view content_type;
};

// The file for a request path ("/" is /index.html); nullopt for anything else,
// including every path with "..", a backslash or a NUL in it.
std::optional<Asset> find_asset(std::string_view path);

}  // namespace sinkstream::serve
