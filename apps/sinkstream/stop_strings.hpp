// --stop S: generation ends where the text produces S (llama.cpp's and Ollama's
// "stop"). Text that may be the start of a stop string is held back until it is
// known not to be, so the stop string itself never reaches the output.
#pragma once
#include <string>
#include <vector>

namespace sinkstream::app {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);

  // Takes newly generated text; returns what can be shown now. Once a stop
  // string completes, returns the text before it and matched() turns true.
  std::string push(const std::string& text);
  // What is still held back (at the end of generation, when nothing matched).
  std::string flush();
  bool matched() const { return matched_; }
  bool empty() const { return stops_.empty(); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
};

}  // namespace sinkstream::app
