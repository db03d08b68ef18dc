#include "line_input.hpp"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace sinkstream::app {
namespace {
constexpr const char* kBlock = "\"\"\"";

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}
}  // namespace

LineInput::LineInput() : tty_(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
  if (tty_) using_history();
}

std::optional<std::string> LineInput::line(const char* prompt) {
  if (!tty_) {
    std::string s;
    if (!std::getline(std::cin, s)) return std::nullopt;
    return s;
  }
  char* s = readline(prompt);
  if (!s) return std::nullopt;
  std::string out(s);
  std::free(s);
  return out;
}

std::optional<std::string> LineInput::message() {
  auto first = line("> ");
  if (!first) return std::nullopt;
  std::string text = *first;
  if (text.rfind(kBlock, 0) == 0) {
    text.erase(0, 3);
    // A block closes on a line that ends with """ (the opening line too, after its quotes).
    bool closed = ends_with(text, kBlock);
    while (!closed) {
      auto more = line("... ");
      if (!more) break;
      closed = ends_with(*more, kBlock);
      text += "\n" + *more;
    }
    if (ends_with(text, kBlock)) text.resize(text.size() - 3);
  } else {
    while (!text.empty() && text.back() == '\\') {
      text.back() = '\n';
      auto more = line("... ");
      if (!more) break;
      text += *more;
    }
  }
  if (tty_ && !text.empty()) add_history(text.c_str());
  return text;
}

}  // namespace sinkstream::app
