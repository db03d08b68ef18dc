// `sinkstream generate --prompts FILE`: one stream per line of FILE, all run
// together through the scheduler on one copy of the weights. Every other
// generate option applies to each stream (the same seed too, so each stream
// samples what `generate --prompt LINE` would). Results print in input order.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "files.hpp"
#include "interrupt.hpp"
#include "json.hpp"
#include "model_args.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/scheduler.hpp"

namespace sinkstream::app {
namespace {

std::vector<std::string> read_lines(const std::string& path) {
  const std::string text = read_text_file(path);
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    at = end + 1;
  }
  if (lines.empty()) throw InvalidArgument("'" + path + "' holds no prompt (one prompt per line)");
  return lines;
}

struct Result {
  std::vector<int32_t> input;
  std::vector<int32_t> ids;
  std::string text;
  std::unique_ptr<TextDecoder> decoder;
  std::unique_ptr<StopStrings> stop;  // --stop: the text ends before a stop string
  StopReason reason = StopReason::max_tokens;
  std::string error;
  bool done = false;
  uint64_t evicted = 0;
};

// The words --json has always printed for why a stream ended.
const char* finish_word(StopReason r) {
  switch (r) {
    case StopReason::max_tokens: return "length";
    case StopReason::end_of_generation: return "stop_token";
    case StopReason::callback: return "callback";
    case StopReason::cancelled: return "cancelled";
    default: return "error";
  }
}

// Prints finished results in input order: result `next` once it and all before it are done.
class OrderedPrinter {
 public:
  OrderedPrinter(std::vector<Result>& results, bool json, bool ids, uint64_t seed)
      : r_(results), json_(json), ids_(ids), seed_(seed) {}
  void flush() {
    for (; next_ < r_.size() && r_[next_].done; ++next_) print(next_);
  }

 private:
  void print(size_t i) {
    const Result& r = r_[i];
    if (json_) {
      JsonWriter j;
      j.field("index", static_cast<uint64_t>(i)).field("ids", r.ids).field("text", r.text);
      j.field("seed", seed_).field("prompt_tokens", static_cast<uint64_t>(r.input.size()))
          .field("tokens", static_cast<uint64_t>(r.ids.size()))
          .field("stop", r.stop->matched() ? "stop_string" : finish_word(r.reason))
          .field("evicted_tokens", r.evicted);
      if (!r.error.empty()) j.field("error", r.error);
      std::printf("%s\n", j.str().c_str());
    } else if (ids_) {
      for (size_t k = 0; k < r.ids.size(); ++k) std::printf("%s%d", k ? " " : "", r.ids[k]);
      std::printf("\n");
    } else {
      std::printf("%s\n", r.text.c_str());
    }
    std::fflush(stdout);
  }

  std::vector<Result>& r_;
  bool json_, ids_;
  uint64_t seed_;
  size_t next_ = 0;
};


}  // namespace

int generate_prompts(const cli::Args& a) {
  const std::vector<std::string> prompts = read_lines(a.str("prompts", ""));
  const uint64_t limit = token_limit(a, "tokens", 256);  // 0: no limit
  const uint32_t n_generate = limit == 0 || limit > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(limit);
  const auto max_streams = static_cast<uint32_t>(a.u64("streams", 32, 1, 4096));
  const SamplerParams sampling = sampler_params(a);
  validate(sampling);
  const StreamSettings settings = stream_settings(a);
  const Model model = load_model(a);
  SchedulerOptions sc;
  sc.max_streams = std::min<uint32_t>(max_streams, static_cast<uint32_t>(prompts.size()));
  sc.step_tokens = settings.chunk;
  Scheduler scheduler(model, sc);

  std::vector<Result> results(prompts.size());
  const std::vector<int32_t> stops = a.has("ignore-eos") ? std::vector<int32_t>{} : model.end_of_generation_tokens();
  OrderedPrinter printer(results, a.has("json"), a.has("ids"), sampling.seed);
  size_t started = 0;
  // Starts prompt `i` on a fresh stream; its stream is freed when it finishes,
  // and the next waiting prompt takes the room.
  std::function<void()> start_next = [&] {
    if (started == prompts.size() || interrupted()) return;
    const size_t i = started++;
    Result& r = results[i];
    r.input = model.tokenize(prompts[i]);
    if (r.input.empty()) throw InvalidArgument("the model has no BOS token: prompt " + std::to_string(i) + " is empty");
    r.decoder = std::make_unique<TextDecoder>(model);
    r.stop = std::make_unique<StopStrings>(a.all("stop"));
    const StreamId id = scheduler.create_stream(settings);
    Request req;
    req.prompt = r.input;
    req.max_tokens = n_generate;
    req.sampler = sampling;
    req.stop_tokens = stops;
    req.on_token = [&r](int32_t t) {
      std::string piece = r.decoder->push(t);
      // As SentencePiece does, the first piece after a bare BOS loses its leading space.
      if (r.ids.empty() && r.input.size() == 1 && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
      r.ids.push_back(t);
      r.text += r.stop->push(piece);
      return !interrupted() && !r.stop->matched();
    };
    req.on_finish = [&, id, i](const Finish& f) {
      Result& done = results[i];
      if (!done.stop->matched()) done.text += done.stop->push(done.decoder->flush()) + done.stop->flush();
      done.reason = f.reason;
      done.error = f.error;
      done.evicted = scheduler.info(id).evicted;
      done.done = true;
      scheduler.destroy(id);
      start_next();
      printer.flush();
    };
    scheduler.submit(id, std::move(req));
  };
  const uint32_t fit = scheduler.streams_that_fit(settings);
  if (fit > 0 && fit < sc.max_streams)
    std::fprintf(stderr, "note: %u streams of this size fit in device memory; running %u at a time\n", fit, fit);
  for (uint32_t s = 0; s < std::max(1u, std::min(fit, sc.max_streams)); ++s) start_next();
  scheduler.run();
  printer.flush();
  return interrupted() ? 130 : 0;
}

}  // namespace sinkstream::app
