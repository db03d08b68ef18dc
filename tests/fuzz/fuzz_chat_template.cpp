// libFuzzer target: chat-template detection on arbitrary template text, and
// rendering of arbitrary messages (roles, contents, BOS/EOS texts) in every format.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "text/chat_template.hpp"

using namespace sinkstream::model;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::string warning;
  (void)choose_chat_format(in, warning);
  // Split the input at NUL bytes: first the BOS and EOS texts, then (role, content) pairs.
  std::vector<std::string> parts(1);
  for (char c : in) {
    if (c == 0)
      parts.emplace_back();
    else
      parts.back().push_back(c);
  }
  parts.resize(std::max<size_t>(parts.size(), 2));
  std::vector<ChatMessage> messages;
  for (size_t i = 2; i + 1 < parts.size(); i += 2) messages.push_back({parts[i], parts[i + 1]});
  for (int f = 0; f <= static_cast<int>(ChatFormat::plain); ++f)
    for (bool prompt : {false, true})
      (void)render_chat(static_cast<ChatFormat>(f), messages, prompt, parts[0], parts[1]);
  return 0;
}
