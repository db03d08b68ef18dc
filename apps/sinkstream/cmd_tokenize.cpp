// `sinkstream tokenize`: shows how a model's tokenizer splits a text, the
// same ids the model will see (checked against llama.cpp's test vectors).
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "files.hpp"
#include "sinkstream/error.hpp"
#include "sinkstream/tokenizer.hpp"

namespace sinkstream::app {
namespace {

constexpr const char* kHelp =
    "usage: sinkstream tokenize --model PATH [--tokenizer PATH] (--text TEXT | --file PATH) "
    "[options]\n"
    "Prints the token ids of a text, one per line with its piece, or on one line with --ids.\n"
    "  --model PATH      GGUF model (its tokenizer.ggml.* metadata is used)\n"
    "  --tokenizer PATH  tokenizer to use instead: a llama2.c tok*.bin or a GGUF file\n"
    "                    (needed for llama2.c checkpoints, which hold no tokenizer)\n"
    "  --text TEXT       the text to tokenize\n"
    "  --file PATH       or: tokenize the whole file\n"
    "  --ids             print only the ids, space-separated on one line\n"
    "  --bos             start with the BOS token (off by default)\n"
    "  --no-special      treat control-token text such as <|im_start|> as plain text\n";

Tokenizer load_tokenizer(const cli::Args& args) {
  const std::string tok = args.str("tokenizer", ""), model_path = args.str("model", "");
  if (!tok.empty()) return Tokenizer::load(tok);
  if (model_path.empty())
    throw InvalidArgument("--model (or --tokenizer) is required (see --help)");
  if (!is_gguf_file(model_path))
    throw InvalidArgument(
        "'" + model_path +
        "' is not a GGUF file, so it holds no tokenizer; pass --tokenizer (e.g. tok512.bin)");
  return Tokenizer::load(model_path);
}

std::string load_text(const cli::Args& args) {
  if (args.has("text") == args.has("file"))
    throw InvalidArgument("give exactly one of --text and --file");
  if (args.has("text")) return args.str("text", "");
  return read_text_file(args.str("file", ""));
}

// A piece as a readable, single-line literal: escapes for quotes, control
// characters and bytes that are not (complete) UTF-8.
std::string quoted(const std::string& p) {
  std::string out = "'";
  for (size_t i = 0; i < p.size();) {
    const auto c = static_cast<unsigned char>(p[i]);
    const size_t n = utf8_sequence_length(c);
    bool whole = n > 1 && i + n <= p.size();
    for (size_t k = 1; whole && k < n; ++k)
      whole = (static_cast<unsigned char>(p[i + k]) & 0xC0) == 0x80;
    char buf[8];
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\'' || c == '\\')
      out += {'\\', static_cast<char>(c)};
    else if (c >= 0x20 && c < 0x7F)
      out += static_cast<char>(c);
    else if (whole) {
      out.append(p, i, n);
      i += n;
      continue;
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
    ++i;
  }
  return out + "'";
}

}  // namespace

int cmd_tokenize(const std::vector<std::string>& argv) {
  const cli::Args args(argv, {"ids", "bos", "no-special", "help"},
                       {"model", "tokenizer", "text", "file"});
  if (args.has("help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const Tokenizer tok = load_tokenizer(args);
  const auto ids = tok.encode(load_text(args), args.has("bos"), !args.has("no-special"));
  if (args.has("ids")) {
    for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
    std::printf("\n");
    return 0;
  }
  for (const int32_t id : ids) std::printf("%6d %s\n", id, quoted(tok.piece(id)).c_str());
  std::fprintf(stderr, "%zu tokens\n", ids.size());
  return 0;
}

}  // namespace sinkstream::app
