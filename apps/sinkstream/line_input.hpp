// The chat's input: line editing and history through libedit (BSD licence;
// readline-compatible) when stdin is a terminal, plain lines otherwise, and
// multi-line messages: a trailing backslash continues the line, and a """
// block (as in Ollama) runs until a line that ends with """.
#pragma once
#include <optional>
#include <string>

namespace sinkstream::app {

class LineInput {
 public:
  LineInput();
  LineInput(const LineInput&) = delete;
  LineInput& operator=(const LineInput&) = delete;

  // The next message (continuation lines joined with newlines), or nothing at
  // the end of input (Ctrl-D) or when Ctrl-C interrupted the prompt.
  std::optional<std::string> message();
  bool terminal() const { return tty_; }

 private:
  std::optional<std::string> line(const char* prompt);
  bool tty_;
};

}  // namespace sinkstream::app
