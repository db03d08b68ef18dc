// Whole-file reads and writes for the CLI, with errors that name the path.
#pragma once
#include <string>

namespace sinkstream::app {

// Throws InvalidArgument naming the path and the OS reason when it cannot be read.
std::string read_text_file(const std::string& path);
// Throws Error naming the path when it cannot be written.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace sinkstream::app
