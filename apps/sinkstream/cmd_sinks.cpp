// `sinkstream sinks`: does this model have attention sinks, and how many?
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
#include "files.hpp"
#include "json.hpp"
#include "model_args.hpp"
#include "progress.hpp"
#include "sinkstream/analysis.hpp"
#include "sinkstream/error.hpp"
#include "svg_plot.hpp"
#include "warnings.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream sinks --model PATH --text FILE [options]\n"
    "Runs BOS + the text through the model with dense attention, within its training\n"
    "context, and measures per layer and head the mean attention alpha(j) that queries\n"
    "(from position 16 on) give to each of the first positions j (Gu et al., ICLR 2025).\n"
    "A head has a sink at j when alpha(j) > the threshold; the report gives, per position,\n"
    "the fraction of such heads (layers 1.., as Gu et al.) and recommends a sink count.\n"
    "  --tokens N          tokens to analyse (the training context)\n"
    "  --first K           positions to measure (4)\n"
    "  --threshold T       alpha above which a head counts as a sink (0.3)\n"
    "  --heatmap FILE.svg  layers x heads, colour = attention on the first token\n"
    "  --json              one JSON object\n"
    "  --model PATH        GGUF model, or llama2.c checkpoint (.bin) with --tokenizer\n"
    "  --tokenizer PATH    tokenizer file (llama2.c tok*.bin, or a GGUF to take it from)\n"
    "  --device SEL        Vulkan device index or name substring\n"
    "(No cache options: the analysis attends densely, with no sinks and no window.)\n";

void print_report(const SinkReport& r, const std::string& title) {
  std::printf(
      "%s\n%u queries averaged; alpha = mean attention on each of the first %u positions\n\n",
      title.c_str(), static_cast<unsigned>(r.queries), r.first);
  std::printf("%6s", "layer");
  for (uint32_t j = 0; j < r.first; ++j) std::printf("  alpha(%u)", j);
  std::printf("  heads>%.2f on 0\n", r.threshold);
  for (uint32_t l = 0; l < r.layers; ++l) {
    std::printf("%6u", l);
    for (uint32_t j = 0; j < r.first; ++j) std::printf(" %9.3f", r.layer_mean(l, j));
    uint32_t above = 0;
    for (uint32_t h = 0; h < r.heads; ++h) above += r.at(l, h, 0) > r.threshold;
    std::printf("  %u/%u\n", above, r.heads);
  }
  std::printf("\nfraction of heads (layers 1..%u) with alpha > %.2f:", r.layers - 1, r.threshold);
  for (uint32_t j = 0; j < r.first; ++j) std::printf("  pos %u: %.0f%%", j, 100 * r.head_ratio(j));
  const uint32_t n = r.recommended_sinks();
  if (n)
    std::printf(
        "\nattention sinks detected: recommended --sinks %u (positions with >= 10%% of heads above "
        "%.2f)\n",
        n, r.threshold);
  else
    std::printf(
        "\nno attention sink detected (no initial position draws > %.2f from >= 10%% of heads): "
        "plain window\n"
        "attention should work about as well as sinks for this model\n",
        r.threshold);
}

std::string report_json(const SinkReport& r) {
  JsonWriter j;
  j.field("layers", r.layers)
      .field("heads", r.heads)
      .field("first", r.first)
      .field("queries", r.queries);
  j.field("threshold", r.threshold).field("recommended_sinks", r.recommended_sinks());
  std::vector<double> ratio, first_token;
  for (uint32_t p = 0; p < r.first; ++p) ratio.push_back(r.head_ratio(p));
  for (uint32_t l = 0; l < r.layers; ++l)
    for (uint32_t h = 0; h < r.heads; ++h) first_token.push_back(r.at(l, h, 0));
  j.field("head_ratio", ratio).field("alpha_first_token", first_token).field("alpha", r.alpha);
  return j.str();
}

}  // namespace

int cmd_sinks(const std::vector<std::string>& argv) {
  const cli::Args a(argv, {"help", "json"},
                    {"model", "tokenizer", "device", "text", "tokens", "first", "threshold", "heatmap"});
  if (a.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (!a.has("text")) throw InvalidArgument("--text FILE is required");
  if (a.has("heatmap")) write_text_file(a.str("heatmap", ""), "");
  const Model model = load_model(a);
  const ModelInfo info = model.info();
  std::vector<int32_t> ids = model.tokenize(read_text_file(a.str("text", "")), {true, false});
  const uint64_t context = info.context ? info.context : 2048;
  ids.resize(std::min<uint64_t>(ids.size(), a.u64("tokens", context, 2, 1 << 20)));
  if (info.context && ids.size() > info.context)
    warn_once("context", "analysing " + std::to_string(ids.size()) + " tokens, past the model's training context of " +
                             std::to_string(info.context) +
                             ": positions beyond it were never trained, so the attention measured there may not "
                             "be the model's own (a smaller --tokens stays within it)");
  SinkAnalysisOptions o;
  o.first = static_cast<uint32_t>(a.u64("first", 4, 1, 64));
  o.threshold = a.real("threshold", 0.3, 0.0, 1.0);

  Progress progress("analysing", ids.size());
  const auto r = analyse_sinks(model, ids, o, [&](uint64_t d) { progress.update(d); });
  progress.finish();
  if (a.has("heatmap")) {
    std::vector<double> v;
    for (uint32_t l = 0; l < r.layers; ++l)
      for (uint32_t h = 0; h < r.heads; ++h) v.push_back(r.at(l, h, 0));
    write_text_file(a.str("heatmap", ""),
                    svg_heatmap("Attention on the first token: " + display_name(info.path), "layer", "head",
                                r.layers, r.heads, v));
  }
  if (a.has("json")) {
    std::printf("%s\n", report_json(r).c_str());
  } else {
    print_report(r, info.path + ", " + std::to_string(ids.size()) + " tokens (" + info.device + ")");
    if (info.learned_sinks)
      std::printf(
          "this model has learned per-head sink logits (blk.N.attn_sinks): it needs no pinned "
          "tokens\n");
  }
  return 0;
}

}  // namespace sinkstream::app
