#include <algorithm>
#include <nlohmann/json.hpp>

#include "api/model_impl.hpp"
#include "sinkstream/error.hpp"
#include "text/jinja/jinja.hpp"

namespace sinkstream {
namespace {
constexpr int kLastFormat = static_cast<int>(model::ChatFormat::plain);
}

ChatTemplate::ChatTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(const ChatTemplate&) = default;
ChatTemplate& ChatTemplate::operator=(const ChatTemplate&) = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

ChatTemplate ChatTemplate::builtin(const std::string& format_name) {
  for (int f = 0; f <= kLastFormat; ++f)
    if (format_name == model::chat_format_name(static_cast<model::ChatFormat>(f)))
      return ChatTemplate(std::make_shared<const Impl>(Impl{static_cast<model::ChatFormat>(f), nullptr, {}}));
  throw InvalidArgument("no built-in chat format '" + format_name + "'");
}

std::vector<std::string> ChatTemplate::builtin_names() {
  std::vector<std::string> out;
  for (int f = 0; f <= kLastFormat; ++f) out.emplace_back(model::chat_format_name(static_cast<model::ChatFormat>(f)));
  return out;
}

ChatTemplate ChatTemplate::jinja(const std::string& source, const std::string& name) {
  try {
    auto t = std::make_shared<const text::jinja::Template>(source);
    return ChatTemplate(std::make_shared<const Impl>(Impl{model::ChatFormat::plain, std::move(t), name}));
  } catch (const text::jinja::Error& e) {
    throw InvalidArgument(e.what());
  }
}

ChatTemplate ChatTemplate::detect(std::string_view model_template, std::string* warning) {
  std::string w;
  const model::ChatFormat f = model::choose_chat_format(model_template, w);
  if (warning) *warning = w;
  return ChatTemplate(std::make_shared<const Impl>(Impl{f, nullptr, {}}));
}

std::string ChatTemplate::render(std::span<const ChatMessage> messages, bool add_generation_prompt,
                                 const std::string& bos, const std::string& eos) const {
  if (!impl_->jinja) {
    std::vector<model::ChatMessage> m;
    for (const auto& x : messages) m.push_back({x.role, x.content});
    return model::render_chat(impl_->format, m, add_generation_prompt, bos, eos);
  }
  text::jinja::ChatInputs in;
  for (const auto& m : messages) in.messages.push_back({{"role", m.role}, {"content", m.content}});
  in.add_generation_prompt = add_generation_prompt;
  in.bos_token = bos;
  in.eos_token = eos;
  try {
    return text::jinja::render_chat(*impl_->jinja, in);
  } catch (const text::jinja::Error& e) {
    throw Error(e.what());
  }
}

bool ChatTemplate::writes_bos(const std::string& bos) const {
  if (!impl_->jinja) return model::writes_bos(impl_->format);
  if (bos.empty()) return true;
  const ChatMessage probe[] = {{"user", "hi"}};
  return render(probe, true, bos, "").rfind(bos, 0) == 0;
}

std::string ChatTemplate::name() const {
  return impl_->jinja ? impl_->name : model::chat_format_name(impl_->format);
}

StopStrings::StopStrings(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopStrings::push(const std::string& text) {
  if (matched_) return {};
  if (stops_.empty()) return text;
  held_ += text;
  size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    matched_ = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Keep the longest tail of the text that some stop string starts with.
  size_t keep = 0;
  for (const auto& s : stops_)
    for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n)
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStrings::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::none: return "none";
    case StopReason::end_of_generation: return "eos";
    case StopReason::max_tokens: return "length";
    case StopReason::stop_string: return "stop";
    case StopReason::callback: return "callback";
    case StopReason::cancelled: return "cancelled";
    case StopReason::error: return "error";
  }
  return "none";
}

}  // namespace sinkstream
