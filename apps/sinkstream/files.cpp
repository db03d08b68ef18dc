#include "files.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "sinkstream/error.hpp"

namespace sinkstream::app {

std::string read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InvalidArgument("cannot read '" + path + "': it is a directory, not a text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidArgument("cannot read '" + path + "': " + std::strerror(errno));
  try {
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  } catch (const std::exception&) {  // a device or special file that cannot be read as a stream
    throw InvalidArgument("cannot read '" + path + "' as a text file");
  }
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write '" + path + "': " + std::strerror(errno));
  out << text;
  out.close();
  if (!out) throw Error("cannot write '" + path + "' (disk full?)");
}

std::vector<int32_t> read_token_ids(const std::string& path) {
  std::istringstream in(read_text_file(path));
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long v = -1;
    try {
      v = std::stol(word, &used);
    } catch (const std::exception&) {
    }
    if (used != word.size() || v < 0 || v > INT32_MAX)
      throw InvalidArgument("'" + path + "' holds '" + word + "', not a token id");
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

}  // namespace sinkstream::app
