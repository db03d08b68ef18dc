// OpenAI's harmony response format: a streaming parser of what gpt-oss writes
// after its generation prompt. Pure text, no model: the tests feed it bytes.
#include "sinkstream/harmony.hpp"

#include <algorithm>
#include <array>

namespace sinkstream {
namespace {

constexpr std::string_view kStart = "<|start|>", kChannel = "<|channel|>", kMessage = "<|message|>",
                           kEnd = "<|end|>", kReturn = "<|return|>", kCall = "<|call|>",
                           kConstrain = "<|constrain|>";
constexpr std::array<std::string_view, 7> kTags = {kStart,  kChannel, kMessage,  kEnd,
                                                   kReturn, kCall,    kConstrain};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), is_space);
}

// The tag `s` starts with (its length), 0 when none; `partial` when `s` is
// shorter than some tag and could still become it.
size_t tag_at(std::string_view s, bool& partial) {
  partial = false;
  for (const std::string_view t : kTags) {
    if (s.starts_with(t)) return t.size();
    if (s.size() < t.size() && t.starts_with(s)) partial = true;
  }
  return 0;
}

// A header's channel and recipient. Its words: the role ("assistant", maybe
// with " to=..."), then after <|channel|> the channel, maybe " to=..." and a
// content type, then after <|constrain|> the content type again ("json").
// Both places for the recipient occur: the template writes it after the role,
// the model after the channel.
HarmonyText parse_header(std::string_view h) {
  HarmonyText m;
  bool in_channel = false;
  for (size_t i = 0; i < h.size();) {
    if (h.substr(i).starts_with(kChannel) || h.substr(i).starts_with(kConstrain)) {
      in_channel = h.substr(i).starts_with(kChannel);
      i += in_channel ? kChannel.size() : kConstrain.size();
      continue;
    }
    if (is_space(h[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < h.size() && !is_space(h[j]) && !h.substr(j).starts_with("<|")) ++j;
    if (j == i) j = i + 2;  // a stray "<|": not a word
    const std::string_view word = h.substr(i, j - i);
    if (word.starts_with("to=")) {
      m.recipient = word.substr(3);
    } else if (in_channel && m.channel.empty()) {
      m.channel = word;
    }
    i = j;
  }
  // Harmony requires a channel; a model that omits it is taken to be answering.
  if (m.channel.empty()) m.channel = "final";
  return m;
}

}  // namespace

ReplyChannel reply_channel(const HarmonyText& t) {
  if (!t.recipient.empty()) return ReplyChannel::tool_call;
  // Commentary without a recipient is a preamble the user is meant to see.
  if (t.channel == "final" || t.channel == "commentary") return ReplyChannel::answer;
  return ReplyChannel::reasoning;
}

std::vector<HarmonyText> HarmonyParser::push(std::string_view piece) {
  std::vector<HarmonyText> out;
  held_.append(piece);
  const std::string_view s = held_;
  size_t i = 0;
  while (i < s.size()) {
    const size_t lt = s.find('<', i);
    if (lt == std::string_view::npos) {
      text(s.substr(i), out);
      i = s.size();
      break;
    }
    text(s.substr(i, lt - i), out);
    bool partial = false;
    if (const size_t n = tag_at(s.substr(lt), partial)) {
      tag(s.substr(lt, n), out);
      i = lt + n;
    } else if (partial) {
      i = lt;  // settled by the next piece
      break;
    } else {
      text(s.substr(lt, 1), out);
      i = lt + 1;
    }
  }
  held_.erase(0, i);
  return out;
}

std::vector<HarmonyText> HarmonyParser::finish() {
  std::vector<HarmonyText> out;
  // In a body a held "<|..." was text after all; elsewhere it can only be a
  // tag the output stopped inside.
  if (state_ == State::body) text(held_, out);
  held_.clear();
  if (state_ == State::header) flush_bare_header(out);
  return out;
}

std::string HarmonyParser::closing() const {
  switch (state_) {
    case State::body:
      return std::string(kEnd);
    case State::header:
      // Without a channel the message would break harmony's rule; an empty answer does not.
      return (header_.find(kChannel) == std::string::npos ? std::string(kChannel) + "final"
                                                          : std::string()) +
             std::string(kMessage) + std::string(kEnd);
    case State::between:
    case State::done:
      return {};
  }
  return {};
}

void HarmonyParser::text(std::string_view s, std::vector<HarmonyText>& out) {
  if (s.empty()) return;
  switch (state_) {
    case State::header:
      header_.append(s);
      break;
    case State::body:
      emit(s, out);
      break;
    case State::between:  // text where a <|start|> belongs: the model skipped it
      start_header(s, false);
      break;
    case State::done:
      break;
  }
}

void HarmonyParser::tag(std::string_view t, std::vector<HarmonyText>& out) {
  switch (state_) {
    case State::header:
      header_tag(t, out);
      break;
    case State::body:
      body_tag(t, out);
      break;
    case State::between:
      between_tag(t);
      break;
    case State::done:
      break;
  }
}

void HarmonyParser::header_tag(std::string_view t, std::vector<HarmonyText>& out) {
  if (t == kChannel || t == kConstrain) {
    header_.append(t);
    return;
  }
  if (t == kMessage) return open_body();
  flush_bare_header(out);
  if (t == kStart) return start_header({}, true);
  if (t == kEnd) {
    header_.clear();
    state_ = State::between;
    return;
  }
  end_turn(t);
}

void HarmonyParser::body_tag(std::string_view t, std::vector<HarmonyText>& out) {
  if (t == kEnd) {
    state_ = State::between;
  } else if (t == kReturn || t == kCall) {
    end_turn(t);
  } else if (t == kStart) {  // the message never ended: a new one begins anyway
    start_header({}, true);
  } else if (t == kChannel) {  // "<|end|><|start|>assistant" left out
    start_header(t, false);
  } else {  // <|message|>, <|constrain|> inside a body: text, as far as the body goes
    emit(t, out);
  }
}

void HarmonyParser::between_tag(std::string_view t) {
  if (t == kStart) {
    start_header({}, true);
  } else if (t == kChannel || t == kConstrain) {
    start_header(t, false);
  } else if (t == kMessage) {
    header_.clear();
    open_body();
  } else if (t == kReturn || t == kCall) {
    end_turn(t);
  }
}

void HarmonyParser::start_header(std::string_view with, bool after_start) {
  state_ = State::header;
  header_.assign(with);
  after_start_ = after_start;
}

void HarmonyParser::open_body() {
  current_ = parse_header(header_);
  header_.clear();
  state_ = State::body;
  fresh_ = true;
}

void HarmonyParser::end_turn(std::string_view t) {
  state_ = State::done;
  end_ = t == kCall ? HarmonyEnd::call : HarmonyEnd::ret;
}

// Header text that never reached a tag, where no <|start|> announced a role,
// is no header: a model that wrote plain text ignored the format, and that
// text is its answer.
void HarmonyParser::flush_bare_header(std::vector<HarmonyText>& out) {
  const bool bare = !after_start_ && header_.find("<|") == std::string::npos && !blank(header_);
  if (!bare) return;
  current_ = HarmonyText{"final", "", ""};
  fresh_ = true;
  emit(header_, out);
  header_.clear();
}

void HarmonyParser::emit(std::string_view s, std::vector<HarmonyText>& out) {
  if (s.empty()) return;
  if (fresh_ || out.empty()) {
    out.push_back(current_);
    out.back().text.assign(s);
  } else {
    out.back().text.append(s);
  }
  fresh_ = false;
}

ReplySplitter::ReplySplitter(bool harmony, std::vector<std::string> stop_strings)
    : harmony_(harmony), stops_(std::move(stop_strings)) {}

void ReplySplitter::push(std::string_view text, const Sink& out) {
  if (stopped()) return;
  if (harmony_)
    route(parser_.push(text), out);
  else
    answer(text, out);
}

void ReplySplitter::finish(std::string_view tail, const Sink& out) {
  push(tail, out);
  if (harmony_ && !stopped()) route(parser_.finish(), out);
  if (stopped()) return;
  const std::string rest = stops_.flush();
  if (!rest.empty()) out(rest, ReplyChannel::answer);
}

void ReplySplitter::route(const std::vector<HarmonyText>& parts, const Sink& out) {
  for (const HarmonyText& p : parts) {
    if (stopped()) return;
    const ReplyChannel ch = reply_channel(p);
    if (ch == ReplyChannel::answer)
      answer(p.text, out);
    else
      out(p.text, ch);
  }
}

void ReplySplitter::answer(std::string_view text, const Sink& out) {
  const std::string shown = stops_.push(std::string(text));
  if (!shown.empty()) out(shown, ReplyChannel::answer);
}

std::string harmony_history(std::string rendered) {
  if (rendered.ends_with(kReturn))
    rendered.replace(rendered.size() - kReturn.size(), kReturn.size(), kEnd);
  return rendered;
}

}  // namespace sinkstream
