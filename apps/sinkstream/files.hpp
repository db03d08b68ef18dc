// Whole-file reads and writes for the CLI, with errors that name the path.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sinkstream::app {

// Throws InvalidArgument naming the path and the OS reason when it cannot be read.
std::string read_text_file(const std::string& path);
// Throws Error naming the path when it cannot be written.
void write_text_file(const std::string& path, const std::string& text);
// Whitespace-separated non-negative token ids; InvalidArgument names the first bad word.
std::vector<int32_t> read_token_ids(const std::string& path);

}  // namespace sinkstream::app
