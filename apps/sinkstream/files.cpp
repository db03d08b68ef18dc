#include "files.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "sinkstream/error.hpp"

namespace sinkstream::app {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidArgument("cannot read '" + path + "': " + std::strerror(errno));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write '" + path + "': " + std::strerror(errno));
  out << text;
  out.close();
  if (!out) throw Error("cannot write '" + path + "' (disk full?)");
}

}  // namespace sinkstream::app
