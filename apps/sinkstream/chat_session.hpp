// One chat conversation on one endless stream: feeds each user turn as the
// chat format renders it, streams the reply to stdout, and closes every turn
// in the cache (also one cut short by a stop string, --tokens or Ctrl-C), so the
// next turn follows a well-formed conversation.
#pragma once
#include "chat_renderer.hpp"
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "text/chat_template.hpp"
#include "engine/engine.hpp"
#include "sample/sampler.hpp"
#include "text/tokenizer.hpp"
#include "summary.hpp"

namespace sinkstream::app {

class ChatSession {
 public:
  ChatSession(const model::Tokenizer& tok, model::Engine& engine, const model::SamplerConfig& sampling,
              ChatRenderer renderer, std::vector<model::ChatMessage> preamble, std::vector<std::string> stops,
              uint32_t context);

  void add_user_turn(const std::string& user);
  // Streams the reply to stdout; says why it ended.
  StopReason reply(uint64_t max_tokens);
  // Forgets the conversation (the system prompt stays): a fresh stream.
  void clear();
  void print_stats(std::FILE* out) const;

 private:
  std::string special(int32_t id) const { return id >= 0 ? tok_.piece(id) : std::string(); }
  std::string render(bool generation_prompt) const;
  void feed_text(const std::string& text, bool with_bos);
  void close_turn();

  const model::Tokenizer& tok_;
  model::Engine& engine_;
  model::SamplerConfig sampling_;
  model::Sampler sampler_;
  ChatRenderer renderer_;
  std::vector<model::ChatMessage> preamble_, messages_;
  std::vector<std::string> stops_;
  uint32_t context_;
  std::vector<float> logits_;  // after the last token fed, shape (vocab)
  std::string fed_;            // the rendered conversation fed so far
  uint64_t generated_ = 0;
  double decode_s_ = 0;
};

}  // namespace sinkstream::app
