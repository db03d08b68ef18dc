// A minimal chat loop through sinkstream's C++ API: each line read from stdin
// is a user turn; the reply streams to stdout from a callback. sinkstream::Chat
// renders the model's chat format, feeds only what is new, and closes every
// turn in the stream, which never ends: old turns leave the window.
//
//   c++ -std=c++20 chat.cpp $(pkg-config --cflags --libs sinkstream) -o chat-cpp
//   ./chat-cpp model.gguf [tokens per reply]
#include <sinkstream/sinkstream.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " MODEL.gguf [tokens per reply]\n";
    return 2;
  }
  const uint64_t max_tokens = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 64;
  try {
    std::cout << "sinkstream " << sinkstream::version() << "\n";
    const sinkstream::Model model = sinkstream::Model::load(argv[1]);
    sinkstream::Stream stream(model, {});  // 4 sinks, the model's context, f16 cache
    sinkstream::ChatOptions options;
    options.sampler = sinkstream::SamplerParams::greedy();  // the same reply every run
    sinkstream::Chat chat(stream, model.chat_template(), options);
    std::string line;
    while (std::cout << "> " << std::flush, std::getline(std::cin, line)) {
      chat.add_user_turn(line);
      const sinkstream::ChatReply reply = chat.reply(max_tokens, [](std::string_view text) {
        std::cout << text << std::flush;
        return true;  // false would stop the reply after this token
      });
      const sinkstream::StreamStats st = stream.stats();
      std::cout << "\n[" << reply.tokens << " tokens, " << sinkstream::stop_reason_name(reply.reason) << "; cache "
                << st.slots_used << "/" << st.capacity << " slots, " << st.evicted << " evicted]\n";
    }
  } catch (const sinkstream::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
