// Backend over the library's public Scheduler (include/sinkstream): one copy
// of the weights, one stream per conversation. The only serve/ file that
// talks to the engine.
#include "serve/backend_sched.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

#include "model_args.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/harmony.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/scheduler.hpp"

namespace sinkstream::serve {
namespace {

EndReason end_reason(StopReason r) {
  switch (r) {
    case StopReason::max_tokens: return EndReason::length;
    case StopReason::end_of_generation: return EndReason::stop_token;
    case StopReason::callback: return EndReason::stopped_by_caller;
    case StopReason::cancelled: return EndReason::cancelled;
    case StopReason::none:
    case StopReason::stop_string:  // the scheduler takes no stop strings: serve matches them itself
    case StopReason::error: return EndReason::error;
  }
  return EndReason::error;
}

std::string model_name(const cli::Args& a) {
  if (a.has("alias")) return a.str("alias", "");
  std::string p = a.str("model", "");
  p = p.substr(p.find_last_of('/') + 1);
  const size_t dot = p.rfind('.');
  return dot == std::string::npos || dot == 0 ? p : p.substr(0, dot);
}

class SchedulerBackend final : public Backend {
 public:
  SchedulerBackend(const cli::Args& a, uint32_t max_streams)
      : model_(app::load_model(a)),
        template_(app::chat_template_option(a, model_)),
        settings_(app::stream_settings(a)) {
    SchedulerOptions so;
    so.max_streams = max_streams;
    so.step_tokens = settings_.chunk;
    so.ingest_latency = a.real("ingest-latency", 2.0, 0.0, 1e6);
    scheduler_ = std::make_unique<Scheduler>(model_, so);
    const ModelInfo info = model_.info();
    desc_.name = model_name(a);
    desc_.device = model_.device_name();
    desc_.context = info.context;
    desc_.vocab = static_cast<uint32_t>(model_.vocab_size());
    desc_.sinks = settings_.sinks;
    desc_.window = settings_.window ? settings_.window
                                    : (desc_.context > settings_.sinks ? desc_.context - settings_.sinks : 1);
    desc_.chat_format = template_.name();
    desc_.harmony = uses_harmony(model_, template_);
    needs_bos_ = model_.chat_needs_bos(template_);
    stops_ = model_.end_of_generation_tokens();
  }

  const ModelDesc& model() const override { return desc_; }

  std::vector<int32_t> chat_ids(const std::vector<ChatMsg>& messages, bool generation_prompt) const override {
    return render(messages, generation_prompt);
  }

  // As `chat` closes a reply: render a marker in its place, take what follows it.
  std::vector<int32_t> turn_close_ids(const std::vector<ChatMsg>& messages) const override {
    if (messages.empty()) return {};
    const std::string marker = "\x01sinkstream-end-of-reply\x01";
    auto m = to_model(messages);
    m.back().content = marker;
    const std::string text = history(render_text(m, false));
    const size_t at = text.rfind(marker);
    if (at == std::string::npos) return {};
    return model_.tokenize(text.substr(at + marker.size()), TokenizeOptions{false, true});
  }

  uint32_t system_tokens(const std::vector<ChatMsg>& system) const override {
    if (system.empty()) return 0;
    return static_cast<uint32_t>(render(system, false).size());
  }

  std::vector<int32_t> text_prompt(const std::string& text) const override {
    return model_.tokenize(text, TokenizeOptions{true, true});
  }

  bool is_bos(int32_t id) const override { return id >= 0 && id == model_.bos(); }

  // A stream destroyed during a step is freed at the next one: until then it
  // still counts (in memory and against max_streams), so a full scheduler is
  // asked again for a few steps before the caller is told no more fit.
  std::optional<uint64_t> create_stream(uint32_t sinks, uint32_t window) override {
    StreamSettings settings = settings_;
    settings.sinks = sinks;
    settings.window = window;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (;;) {
      try {
        return scheduler_->create_stream(settings);
      } catch (const OutOfDeviceMemory&) {
      } catch (const StreamLimitReached&) {
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void submit(uint64_t stream, GenRequest r) override {
    Request q;
    q.prompt = std::move(r.prompt);
    q.max_tokens = r.max_tokens;
    const Sampling& s = r.sampling;
    q.sampler = SamplerParams{s.temperature, s.top_k, s.top_p, s.min_p, s.repeat_penalty, 64, s.seed};
    validate(q.sampler);
    q.stop_tokens = stops_;
    // Harmony's messages and channels are special tokens: the parser reads them as text.
    auto decoder = std::make_shared<TextDecoder>(model_, desc_.harmony);
    auto first = std::make_shared<bool>(r.first_piece_after_bos);
    q.on_token = [decoder, first, cb = std::move(r.on_token)](int32_t t) {
      std::string piece = decoder->push(t);
      // As SentencePiece does (and `generate`), the first piece after a bare BOS loses its leading space.
      if (*first && !piece.empty()) {
        if (piece[0] == ' ') piece.erase(0, 1);
        *first = false;
      }
      return cb(t, piece);
    };
    q.on_finish = [decoder, cb = std::move(r.on_end)](const Finish& f) {
      cb(GenEnd{end_reason(f.reason), f.generated, f.error}, decoder->flush());
    };
    scheduler_->submit(stream, std::move(q));
  }

  void cancel(uint64_t stream) override { scheduler_->cancel(stream); }
  void destroy(uint64_t stream) override { scheduler_->destroy(stream); }

  StreamState state(uint64_t stream) const override {
    const StreamInfo i = scheduler_->info(stream);
    return StreamState{stream,        i.settings.sinks, i.capacity - i.settings.sinks, i.capacity, i.slots_used,
                       i.position,    i.evicted,        i.generated,                   i.device_bytes, i.busy};
  }

  EngineStats stats() const override {
    const SchedulerCounters c = scheduler_->counters();
    return EngineStats{c.steps, c.prompt_tokens, c.generated_tokens, c.evicted, c.live_streams, c.device_bytes,
                       c.weight_bytes};
  }

  void run(const std::atomic<bool>& stop, const std::function<void(double)>& on_step) override {
    for (;;) {
      const auto t0 = std::chrono::steady_clock::now();
      if (scheduler_->step()) {
        on_step(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      } else if (stop.load()) {
        return;
      } else {
        scheduler_->wait_for_work(std::chrono::milliseconds(50));
      }
    }
  }

 private:
  static std::vector<ChatMessage> to_model(const std::vector<ChatMsg>& messages) {
    std::vector<ChatMessage> m;
    for (const auto& x : messages) m.push_back({x.role, x.content});
    return m;
  }

  std::string special(int32_t id) const { return id >= 0 ? model_.piece(id) : std::string(); }

  std::string render_text(const std::vector<ChatMessage>& m, bool generation_prompt) const {
    try {
      return template_.render(m, generation_prompt, special(model_.bos()), special(model_.eos()));
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("the chat template refused the messages: ") + e.what());
    }
  }

  // A conversation as the next request's prompt holds it.
  std::string history(std::string rendered) const {
    return desc_.harmony ? harmony_history(std::move(rendered)) : rendered;
  }

  std::vector<int32_t> render(const std::vector<ChatMsg>& messages, bool generation_prompt) const {
    std::string text = render_text(to_model(messages), generation_prompt);
    if (!generation_prompt) text = history(std::move(text));
    std::vector<int32_t> ids;
    if (needs_bos_) ids.push_back(model_.bos());
    const auto enc = model_.tokenize(text, TokenizeOptions{false, true});
    ids.insert(ids.end(), enc.begin(), enc.end());
    return ids;
  }

  Model model_;
  ChatTemplate template_;     // thread-safe (const): requests render on the HTTP threads
  StreamSettings settings_;   // --sinks, --window, --kv-type, --chunk: a new stream's defaults
  std::unique_ptr<Scheduler> scheduler_;
  ModelDesc desc_;
  std::vector<int32_t> stops_;
  bool needs_bos_ = false;  // a rendered conversation starts with BOS (Model::chat_needs_bos)
};

}  // namespace

std::unique_ptr<Backend> make_scheduler_backend(const cli::Args& a, uint32_t max_streams) {
  return std::make_unique<SchedulerBackend>(a, max_streams);
}

}  // namespace sinkstream::serve
