// OpenAI's harmony format (gpt-oss): the streaming parser splits replies into
// channels whatever the pieces they arrive in, knows what ends a turn and what
// closes one cut short; the real gpt-oss template is recognised, and its
// history continues with what the stream was fed.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fixtures.hpp"
#include "sinkstream/chat.hpp"
#include "sinkstream/harmony.hpp"

namespace sinkstream::test {
namespace {

// What a parser made of a reply: each channel's text (a recipient written as
// "channel>recipient"), and the order of the messages' channels.
struct Parsed {
  std::map<std::string, std::string> text;
  std::vector<std::string> order;  // one entry per run of parts of the same channel
  HarmonyEnd end = HarmonyEnd::none;
  std::string closing;

  void add(const std::vector<HarmonyText>& parts) {
    for (const HarmonyText& p : parts) {
      const std::string key = p.recipient.empty() ? p.channel : p.channel + ">" + p.recipient;
      CHECK_FALSE(p.text.empty());
      text[key] += p.text;
      if (order.empty() || order.back() != key) order.push_back(key);
    }
  }
  bool operator==(const Parsed& o) const {
    return text == o.text && order == o.order && end == o.end && closing == o.closing;
  }
};

Parsed parse(const std::vector<std::string>& pieces, bool finish = true) {
  HarmonyParser p;
  Parsed out;
  for (const auto& piece : pieces) out.add(p.push(piece));
  out.end = p.end();
  out.closing = p.closing();
  if (finish) out.add(p.finish());
  return out;
}

Parsed parse(const std::string& whole, bool finish = true) {
  return parse(std::vector<std::string>{whole}, finish);
}

const std::string kThinkThenAnswer =
    "<|channel|>analysis<|message|>The user greets; answer <politely>.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Hello! <3 2 < 3<|return|>";

}  // namespace

TEST_SUITE("harmony") {
  TEST_CASE("a reply's analysis and final channels are told apart; <|return|> ends the turn") {
    const Parsed r = parse(kThinkThenAnswer);
    CHECK(r.text.at("analysis") == "The user greets; answer <politely>.");
    CHECK(r.text.at("final") == "Hello! <3 2 < 3");
    CHECK(r.order == std::vector<std::string>{"analysis", "final"});
    CHECK(r.end == HarmonyEnd::ret);
    CHECK(r.closing.empty());  // nothing to add: the turn is whole
  }

  TEST_CASE("streamed in pieces cut at any byte, even inside tags, the result is the same") {
    const Parsed whole = parse(kThinkThenAnswer);
    std::vector<std::string> bytes;
    for (const char c : kThinkThenAnswer) bytes.emplace_back(1, c);
    CHECK(parse(bytes) == whole);
    // Every pair of cut points.
    const size_t n = kThinkThenAnswer.size();
    for (size_t i = 0; i <= n; ++i)
      for (size_t j = i; j <= n; j += 3) {
        const std::vector<std::string> pieces = {kThinkThenAnswer.substr(0, i),
                                                 kThinkThenAnswer.substr(i, j - i),
                                                 kThinkThenAnswer.substr(j)};
        REQUIRE_MESSAGE(parse(pieces) == whole, "cut at " << i << " and " << j);
      }
    // Special tokens arriving whole, as a decoder gives them.
    CHECK(parse({"<|channel|>", "analysis", "<|message|>", "The user greets;", " answer <",
                 "politely>.", "<|end|>", "<|start|>", "assistant", "<|channel|>", "final",
                 "<|message|>", "Hello! <", "3 2 < 3", "<|return|>"}) == whole);
  }

  TEST_CASE("text that might begin a tag is held back only until it cannot") {
    HarmonyParser q;
    const auto first = q.push("<|channel|>final<|message|>a <|");
    REQUIRE(first.size() == 1);
    CHECK(first[0].text == "a ");
    const auto second = q.push("x|>");  // "<|x|>" is no harmony tag: text
    REQUIRE(second.size() == 1);
    CHECK(second[0].text == "<|x|>");
    CHECK(q.push("<|ret").empty());
    CHECK(!q.turn_ended());
    CHECK(q.push("urn|>").empty());
    CHECK(q.end() == HarmonyEnd::ret);
    CHECK(q.push("ignored after the turn").empty());
    CHECK(q.finish().empty());
  }

  TEST_CASE("a reply without analysis is all answer") {
    const Parsed r = parse("<|channel|>final<|message|>Paris.<|return|>");
    CHECK(r.text == std::map<std::string, std::string>{{"final", "Paris."}});
    CHECK(r.end == HarmonyEnd::ret);
  }

  TEST_CASE("an unterminated reply gives what it has and says what would close it") {
    // Stopped inside the analysis: its text so far, and <|end|> closes it.
    const Parsed thinking = parse("<|channel|>analysis<|message|>Let me see", false);
    CHECK(thinking.text.at("analysis") == "Let me see");
    CHECK(thinking.end == HarmonyEnd::none);
    CHECK(thinking.closing == "<|end|>");
    // Stopped inside the answer, on what looked like the start of a tag: finish() gives it as text.
    HarmonyParser p;
    const auto parts = p.push("<|channel|>final<|message|>x <|en");
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].text == "x ");
    const auto rest = p.finish();
    REQUIRE(rest.size() == 1);
    CHECK(rest[0].channel == "final");
    CHECK(rest[0].text == "<|en");
    // Stopped inside a header: the message is closed empty, with a channel.
    CHECK(parse("<|channel|>analy", false).closing == "<|message|><|end|>");
    CHECK(parse("<|channel|>analysis<|message|>a<|end|><|start|>assistant", false).closing ==
          "<|channel|>final<|message|><|end|>");
    CHECK(HarmonyParser().closing() == "<|channel|>final<|message|><|end|>");
    // Between messages nothing is owed; the role after <|start|> is no answer text.
    const Parsed between = parse("<|channel|>analysis<|message|>a<|end|><|start|>assistant");
    CHECK(between.text == std::map<std::string, std::string>{{"analysis", "a"}});
    CHECK(parse("<|channel|>analysis<|message|>a<|end|>", false).closing.empty());
    // Stopped inside a tag outside any body: no text comes of it.
    CHECK(parse("<|channel|>analysis<|message|>a<|end|><|sta").text ==
          std::map<std::string, std::string>{{"analysis", "a"}});
  }

  TEST_CASE(
      "several messages: <|end|> ends a message, not the turn; a tool call ends it with <|call|>") {
    const std::string reply =
        "<|channel|>analysis<|message|>Need the weather.<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|> Call it.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.get_weather "
        "<|constrain|>json<|message|>"
        "{\"city\":\"Paris\"}<|call|>";
    HarmonyParser p;
    std::vector<HarmonyText> parts;
    for (size_t at = 0; at < reply.size(); at += 7) {
      for (auto& x : p.push(reply.substr(at, 7))) parts.push_back(std::move(x));
      if (!p.turn_ended()) CHECK(p.end() == HarmonyEnd::none);
    }
    CHECK(p.end() == HarmonyEnd::call);
    Parsed r;
    r.add(parts);
    CHECK(r.order == std::vector<std::string>{"analysis", "commentary", "analysis",
                                              "commentary>functions.get_weather"});
    CHECK(r.text.at("analysis") == "Need the weather. Call it.");
    CHECK(r.text.at("commentary") == "Checking.");
    CHECK(r.text.at("commentary>functions.get_weather") == "{\"city\":\"Paris\"}");
    // The template writes the recipient after the role; same message.
    const Parsed t =
        parse("<|start|>assistant to=functions.f<|channel|>commentary json<|message|>{}<|call|>");
    CHECK(t.text == std::map<std::string, std::string>{{"commentary>functions.f", "{}"}});
  }

  TEST_CASE("channels map to answer, reasoning and tool calls as OpenAI-style APIs expose them") {
    CHECK(reply_channel({"final", "", ""}) == ReplyChannel::answer);
    CHECK(reply_channel({"commentary", "", ""}) ==
          ReplyChannel::answer);  // a preamble for the user
    CHECK(reply_channel({"analysis", "", ""}) == ReplyChannel::reasoning);
    CHECK(reply_channel({"scratchpad", "", ""}) ==
          ReplyChannel::reasoning);  // unknown: not shown as the answer
    CHECK(reply_channel({"commentary", "functions.f", ""}) == ReplyChannel::tool_call);
  }

  TEST_CASE("a model that ignores the format still answers; sloppy structure is tolerated") {
    CHECK(parse("Just text.").text == std::map<std::string, std::string>{{"final", "Just text."}});
    const Parsed ended = parse("Just text.<|return|>");
    CHECK(ended.text == std::map<std::string, std::string>{{"final", "Just text."}});
    CHECK(ended.end == HarmonyEnd::ret);
    // A header without <|channel|> is taken as the answer's.
    CHECK(parse("<|message|>Hi<|return|>").text ==
          std::map<std::string, std::string>{{"final", "Hi"}});
    // <|end|><|start|>assistant left out before the next channel.
    const Parsed skipped =
        parse("<|channel|>analysis<|message|>a<|channel|>final<|message|>b<|return|>");
    CHECK(skipped.text == std::map<std::string, std::string>{{"analysis", "a"}, {"final", "b"}});
    // Whitespace between messages is not text of anything.
    const Parsed spaced = parse(
        "<|channel|>analysis<|message|>a<|end|>\n<|start|>assistant<|channel|>final<|message|>b");
    CHECK(spaced.text == std::map<std::string, std::string>{{"analysis", "a"}, {"final", "b"}});
  }

  TEST_CASE("ReplySplitter: channels by the parser, stop strings on the answer only") {
    std::map<ReplyChannel, std::string> got;
    const ReplySplitter::Sink out = [&](std::string_view s, ReplyChannel ch) {
      CHECK_FALSE(s.empty());
      got[ch] += s;
    };
    ReplySplitter split(true, {"STOP"});
    const std::string reply =
        "<|channel|>analysis<|message|>I must not say STOP "
        "early.<|end|><|start|>assistant<|channel|>commentary "
        "to=functions.f<|message|>{}<|end|><|start|>assistant<|channel|>final<|message|>Go, then "
        "STOP here";
    for (const char c : reply) split.push(std::string(1, c), out);
    CHECK(split.stopped());
    CHECK_FALSE(split.turn_ended());
    split.finish("ignored", out);
    CHECK(got[ReplyChannel::reasoning] == "I must not say STOP early.");
    CHECK(got[ReplyChannel::tool_call] == "{}");
    CHECK(got[ReplyChannel::answer] == "Go, then ");
    CHECK(split.closing() == "<|end|>");  // the answer's message is still open in the stream

    // Without harmony everything is answer, tags included; held text comes out at the end.
    got.clear();
    ReplySplitter plain(false, {"END"});
    plain.push("<|channel|>x E", out);
    plain.push("N", out);
    CHECK(got[ReplyChannel::answer] == "<|channel|>x ");
    plain.finish("", out);
    CHECK(got[ReplyChannel::answer] == "<|channel|>x EN");
    CHECK(got.size() == 1);
    CHECK(plain.closing().empty());
    CHECK_FALSE(plain.turn_ended());
  }

  TEST_CASE("history ends every message with <|end|>: <|return|> is a decode-time stop") {
    CHECK(harmony_history("<|channel|>final<|message|>Hi<|return|>") ==
          "<|channel|>final<|message|>Hi<|end|>");
    CHECK(harmony_history("<|im_start|>assistant\nHi<|im_end|>\n") ==
          "<|im_start|>assistant\nHi<|im_end|>\n");
    CHECK(harmony_history("a <|return|> b") == "a <|return|> b");
  }

  TEST_CASE("gpt-oss's template is harmony; the vocabulary and the template must both say so") {
    REQUIRE_FIXTURE("templates/openai-gpt-oss-120b.jinja");
    std::ifstream in(fixture("templates/openai-gpt-oss-120b.jinja"), std::ios::binary);
    const std::string source{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const ChatTemplate gpt_oss = ChatTemplate::jinja(source, "gpt-oss");
    std::set<std::string> vocab = {"<|start|>", "<|channel|>", "<|message|>",
                                   "<|end|>",   "<|return|>",  "<|call|>"};
    const auto has = [&](std::string_view t) { return vocab.count(std::string(t)) > 0; };
    CHECK(uses_harmony(gpt_oss, has));
    CHECK_FALSE(
        uses_harmony(ChatTemplate::builtin("chatml"), has));  // gpt-oss run with another format
    vocab.erase("<|call|>");
    CHECK_FALSE(uses_harmony(gpt_oss, has));  // the template without the model's tokens

    // Chat's bookkeeping on this template: the conversation as fed after a reply
    // (history, <|return|> made <|end|>) is a prefix of the next turn's prompt,
    // so a new turn feeds only the new user message.
    std::vector<ChatMessage> m = {{"system", "Be brief."}, {"user", "Hi"}};
    const std::string prompt = gpt_oss.render(m, true, "", "");
    CHECK(prompt.ends_with("<|start|>assistant"));
    m.push_back({"assistant", "Hello."});
    const std::string fed = harmony_history(gpt_oss.render(m, false, "", ""));
    CHECK(fed.ends_with("<|channel|>final<|message|>Hello.<|end|>"));
    m.push_back({"user", "Why?"});
    const std::string next = gpt_oss.render(m, true, "", "");
    REQUIRE(next.starts_with(fed));
    CHECK(next.substr(fed.size()) == "<|start|>user<|message|>Why?<|end|><|start|>assistant");
  }

}  // TEST_SUITE

}  // namespace sinkstream::test
