// `sinkstream logits`: the raw logits of every position of a token sequence,
// for cross-framework checks (tools/train/compare_logits.py compares them with
// the training code's own PyTorch forward pass).
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "files.hpp"
#include "json.hpp"
#include "model_args.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/model.hpp"
#include "sinkstream/session.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream logits --model PATH (--token-ids FILE | --text TEXT) --out FILE.f32 "
    "[options]\n"
    "Runs the tokens through the model and writes the logits of every position as raw\n"
    "little-endian float32, shape (tokens, vocab), row-major. Prints the shape and the\n"
    "top-5 ids per position (JSON with --json).\n"
    "  --token-ids FILE    exactly these whitespace-separated ids (no BOS added)\n"
    "  --text TEXT         BOS + the tokenised text\n"
    "  --out FILE.f32      where the logits go\n"
    "  --json              one JSON object\n";

// The model (without its tokenizer for --token-ids) and the ids to run.
std::vector<int32_t> input_ids(const cli::Args& a, std::optional<Model>& model) {
  if (a.has("text") == a.has("token-ids"))
    throw InvalidArgument("give exactly one of --text TEXT and --token-ids FILE");
  if (a.has("token-ids")) {
    ModelOptions o;
    o.gpu = gpu_options(a);
    o.load_tokenizer = false;
    model = Model::load(a.str("model", ""), o);
    return read_token_ids(a.str("token-ids", ""));
  }
  model = load_model(a);
  return model->tokenize(a.str("text", ""), {true, false});
}

std::vector<int32_t> top5(const float* row, uint32_t vocab) {
  std::vector<int32_t> idx(vocab);
  std::iota(idx.begin(), idx.end(), 0);
  const size_t k = std::min<size_t>(5, vocab);
  std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(k), idx.end(),
                    [&](int32_t x, int32_t y) { return row[x] > row[y]; });
  idx.resize(k);
  return idx;
}

}  // namespace

int cmd_logits(const std::vector<std::string>& argv) {
  auto options = model_options();
  options.insert({"text", "token-ids", "out"});
  const cli::Args a(argv, {"help", "json"}, options);
  if (a.has("help")) {
    std::printf("%s%s", kHelp, kModelOptionsHelp);
    return 0;
  }
  if (!a.has("out")) throw InvalidArgument("--out FILE.f32 is required");
  const std::string out = a.str("out", "");
  write_text_file(out, "");  // fail on an unwritable path before any GPU work
  std::optional<Model> model;
  const std::vector<int32_t> ids = input_ids(a, model);
  if (ids.empty()) throw InvalidArgument("no tokens to run");

  Stream stream(*model, stream_settings(a));
  const auto vocab = static_cast<uint32_t>(model->vocab_size());
  const auto logits = stream.feed_all_logits(ids);
  write_text_file(out,
                  std::string(reinterpret_cast<const char*>(logits.data()), logits.size_bytes()));

  std::string rows = "[";
  for (size_t t = 0; t < ids.size(); ++t) {
    std::string row = "[";
    for (const int32_t id : top5(logits.data() + t * vocab, vocab))
      append_item(row, row.size() == 1, std::to_string(id));
    append_item(rows, t == 0, row + "]");
  }
  if (a.has("json")) {
    JsonWriter j;
    j.field("model", model->info().path).field("device", model->device_name()).field("tokens", ids.size());
    j.field("vocab", vocab).field("out", out).raw("top5", rows + "]");
    std::printf("%s\n", j.str().c_str());
  } else {
    std::printf("%zu x %u logits written to %s (%s)\nposition  input id  top-5 ids\n", ids.size(), vocab,
                out.c_str(), model->device_name().c_str());
    for (size_t t = 0; t < ids.size(); ++t) {
      std::printf("%8zu  %8d ", t, ids[t]);
      for (const int32_t id : top5(logits.data() + t * vocab, vocab)) std::printf(" %d", id);
      std::printf("\n");
    }
  }
  return 0;
}

}  // namespace sinkstream::app
