// Backend over sched::Scheduler: one copy of the weights, one stream per
// conversation. The only serve/ file that includes engine headers.
#include "serve/backend_sched.hpp"

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "chat_renderer.hpp"
#include "model_cli.hpp"
#include "sched/scheduler.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/gpu.hpp"

namespace sinkstream::serve {
namespace {

EndReason end_reason(sched::FinishReason r) {
  switch (r) {
    case sched::FinishReason::length: return EndReason::length;
    case sched::FinishReason::stop_token: return EndReason::stop_token;
    case sched::FinishReason::callback: return EndReason::stopped_by_caller;
    case sched::FinishReason::cancelled: return EndReason::cancelled;
    case sched::FinishReason::error: return EndReason::error;
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
      : lm_(app::load_model_and_tokenizer(a)),
        renderer_(app::chat_renderer_from_args(a, lm_.tokenizer->vocab().chat_template)),
        gpu_(app::gpu_options(a)) {
    const model::EngineConfig ec = app::engine_config(a);
    kv_type_ = ec.kv_type;
    auto weights = std::make_shared<const model::GpuModel>(gpu_.context(), *lm_.file);
    sched::SchedulerConfig sc;
    sc.max_streams = max_streams;
    sc.step_tokens = ec.max_chunk;
    scheduler_ = std::make_unique<sched::Scheduler>(weights, sc);
    desc_.name = model_name(a);
    desc_.device = gpu_.device_name();
    desc_.context = lm_.file->hp.context;
    desc_.vocab = lm_.file->hp.vocab;
    desc_.sinks = ec.sinks;
    desc_.window = ec.window ? ec.window : (desc_.context > ec.sinks ? desc_.context - ec.sinks : 1);
    desc_.chat_format = renderer_.name();
    writes_bos_ = renderer_.writes_bos(special(lm_.tokenizer->bos()));
    const auto& tok = *lm_.tokenizer;
    for (size_t i = 0; i < tok.size(); ++i)
      if (tok.is_eog(static_cast<int32_t>(i))) stops_.push_back(static_cast<int32_t>(i));
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
    const std::string text = render_text(m, false);
    const size_t at = text.rfind(marker);
    if (at == std::string::npos) return {};
    return lm_.tokenizer->encode(text.substr(at + marker.size()), false, true);
  }

  uint32_t system_tokens(const std::vector<ChatMsg>& system) const override {
    if (system.empty()) return 0;
    return static_cast<uint32_t>(render(system, false).size());
  }

  std::vector<int32_t> text_prompt(const std::string& text) const override {
    return app::bos_and_encode(*lm_.tokenizer, text, true);
  }

  bool is_bos(int32_t id) const override { return id >= 0 && id == lm_.tokenizer->bos(); }

  // A stream destroyed during a step is freed at the next one: until then it
  // still counts (in memory and against max_streams), so a full scheduler is
  // asked again for a few steps before the caller is told no more fit.
  std::optional<uint64_t> create_stream(uint32_t sinks, uint32_t window) override {
    const sched::StreamSettings settings{sinks, window, kv_type_, 0};
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    for (;;) {
      try {
        return scheduler_->create(settings);
      } catch (const OutOfDeviceMemory&) {
      } catch (const InvalidArgument&) {
        if (scheduler_->streams_that_fit(settings) > 0) throw;  // not a matter of room
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void submit(uint64_t stream, GenRequest r) override {
    sched::Request q;
    q.prompt = std::move(r.prompt);
    q.max_tokens = r.max_tokens;
    const Sampling& s = r.sampling;
    q.sampler = model::SamplerConfig{s.temperature, s.top_k, s.top_p, s.min_p, s.repeat_penalty, 64, s.seed};
    model::validate(q.sampler);
    q.stop_tokens = stops_;
    auto decoder = std::make_shared<model::StreamingDecoder>(*lm_.tokenizer);
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
    q.on_finish = [decoder, cb = std::move(r.on_end)](const sched::Finish& f) {
      cb(GenEnd{end_reason(f.reason), f.generated, f.error}, decoder->flush());
    };
    scheduler_->submit(stream, std::move(q));
  }

  void cancel(uint64_t stream) override { scheduler_->cancel(stream); }
  void destroy(uint64_t stream) override { scheduler_->destroy(stream); }

  StreamState state(uint64_t stream) const override {
    const sched::StreamInfo i = scheduler_->info(stream);
    return StreamState{stream,        i.settings.sinks, i.capacity - i.settings.sinks, i.capacity, i.slots_used,
                       i.tokens,      i.evicted,        i.generated,                   i.device_bytes, i.busy};
  }

  EngineStats stats() const override {
    const sched::SchedulerCounters c = scheduler_->counters();
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
  static std::vector<model::ChatMessage> to_model(const std::vector<ChatMsg>& messages) {
    std::vector<model::ChatMessage> m;
    for (const auto& x : messages) m.push_back({x.role, x.content});
    return m;
  }

  std::string special(int32_t id) const { return id >= 0 ? lm_.tokenizer->piece(id) : std::string(); }

  std::string render_text(const std::vector<model::ChatMessage>& m, bool generation_prompt) const {
    try {
      std::lock_guard<std::mutex> lock(render_mutex_);
      return renderer_.render(m, generation_prompt, special(lm_.tokenizer->bos()), special(lm_.tokenizer->eos()));
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("the chat template refused the messages: ") + e.what());
    }
  }

  std::vector<int32_t> render(const std::vector<ChatMsg>& messages, bool generation_prompt) const {
    const model::Tokenizer& tok = *lm_.tokenizer;
    const std::string text = render_text(to_model(messages), generation_prompt);
    std::vector<int32_t> ids;
    if (tok.bos() >= 0 && !writes_bos_) ids.push_back(tok.bos());
    const auto enc = tok.encode(text, false, true);
    ids.insert(ids.end(), enc.begin(), enc.end());
    return ids;
  }

  app::LoadedModel lm_;
  app::ChatRenderer renderer_;
  Gpu gpu_;
  KvType kv_type_ = KvType::f16;
  std::unique_ptr<sched::Scheduler> scheduler_;
  ModelDesc desc_;
  std::vector<int32_t> stops_;
  bool writes_bos_ = false;  // the template writes BOS itself
  mutable std::mutex render_mutex_;  // the Jinja renderer is not documented as thread-safe
};

}  // namespace

std::unique_ptr<Backend> make_scheduler_backend(const cli::Args& a, uint32_t max_streams) {
  return std::make_unique<SchedulerBackend>(a, max_streams);
}

}  // namespace sinkstream::serve
