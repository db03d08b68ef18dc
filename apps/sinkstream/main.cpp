// sinkstream: endless LLM streams in constant memory on any Vulkan GPU.
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "sinkstream_version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: sinkstream <command> [options]\n"
    "\n"
    "commands:\n"
    "  generate           stream text from a model (GGUF, or llama2.c with --tokenizer)\n"
    "  chat               multi-turn chat on one endless stream\n"
    "  serve              OpenAI-compatible HTTP server with a live web view of the streams\n"
    "  info               what a model file holds\n"
    "  ppl                streaming perplexity under cache policies (sinks, window, dense, "
    "recompute)\n"
    "  sinks              does the model have attention sinks, and how many?\n"
    "  demo               stream synthetic tokens through a GPU sinks + window cache\n"
    "  devices            list the Vulkan devices and what they support\n"
    "  selftest           check every GPU kernel against a CPU reference on this device\n"
    "  bench attention    decode attention and KV append speed vs a copy kernel\n"
    "  bench generate     prefill and decode speed, latency at stream positions\n"
    "  bench stream       per-token latency and memory over a long stream vs re-computation\n"
    "  tokenize           print the token ids (and pieces) of a text\n"
    "  logits             write the logits of every position (cross-framework checks)\n"
    "  template           render a chat template (the model's own, or a file) for messages\n"
    "\n"
    "Run `sinkstream <command> --help` for the options of a command;\n"
    "`sinkstream --version` prints the version.\n"
    "\n"
    "environment (the README says more):\n"
    "  SINKSTREAM_DEVICE=SEL              the device, by index or name substring\n"
    "  SINKSTREAM_VALIDATION=1            Khronos validation + synchronization validation\n"
    "  SINKSTREAM_DEVICE_MEMORY_LIMIT=N   cap on device memory, e.g. 512M\n"
    "  SINKSTREAM_PIPELINE_CACHE=FILE     compiled-pipeline cache file, or off\n"
    "  SINKSTREAM_CHECK_FINITE=1          NaN/Inf guard naming the first bad layer and op\n"
    "  SINKSTREAM_FUSED_DECODE=0          one-token steps through the general kernels\n"
    "  SINKSTREAM_COOPMAT=0               prompt chunks through the portable kernels\n"
    "  SINKSTREAM_INTEGER_DOT=0|1         Q8_0/Q4_0 decode products on integer dot products: never|wherever possible\n"
    "  SINKSTREAM_MOE_GROUPED=0           experts of a chunk read once per pair, not per tile of pairs\n"
    "  SINKSTREAM_INJECT_DEVICE_LOST=N    submission N fails as a lost device (tests)\n"
    "  SINKSTREAM_SUBMIT_TIMEOUT=S        a submission unfinished after S s is a lost device\n"
    "  SINKSTREAM_PIPELINE_STATS=1        print each kernel's driver statistics\n"
    "  SINKSTREAM_DECODE_UNROLL=U         keys in flight per lane group in decode attention\n"
    "  SINKSTREAM_DECODE_LANES=L          most lanes per key in decode attention (a power of two)\n"
    "  SINKSTREAM_BATCH_DECODE=0          many streams' decode steps one dispatch per stream\n"
    "  SINKSTREAM_BUFFER_ADDRESS=0        leave buffer device addresses off\n"
    "  SINKSTREAM_MATVEC_ROWS=N           scheduler steps of up to N rows on the matvec kernels (1)\n"
    "  SINKSTREAM_GPU_SAMPLING=0          many streams' sampling on the host\n"
    "  SINKSTREAM_RECORD_AHEAD=0          record each scheduler step when it runs\n"
    "  SINKSTREAM_INGEST_LATENCY=F        scheduler steps with a prompt chunk aim at F x a decode step\n";

const std::set<std::string> kCommands = {"generate", "chat", "info",     "ppl",   "sinks",
                                          "devices",  "demo", "bench",    "logits", "tokenize", "template",
                                          "selftest", "serve"};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("sinkstream %s\n", sinkstream::app::kVersion);
    return 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  try {
    if (cmd == "generate") return sinkstream::app::cmd_generate(args);
    if (cmd == "chat") return sinkstream::app::cmd_chat(args);
    if (cmd == "info") return sinkstream::app::cmd_info(args);
    if (cmd == "ppl") return sinkstream::app::cmd_ppl(args);
    if (cmd == "sinks") return sinkstream::app::cmd_sinks(args);
    if (cmd == "devices") return sinkstream::app::cmd_devices(args);
    if (cmd == "demo") return sinkstream::app::cmd_demo(args);
    if (cmd == "bench") return sinkstream::app::cmd_bench(args);
    if (cmd == "logits") return sinkstream::app::cmd_logits(args);
    if (cmd == "tokenize") return sinkstream::app::cmd_tokenize(args);
    if (cmd == "template") return sinkstream::app::cmd_template(args);
    if (cmd == "selftest") return sinkstream::app::cmd_selftest(args);
    if (cmd == "serve") return sinkstream::app::cmd_serve(args);
    const std::string near = sinkstream::cli::closest(cmd, kCommands);
    std::fprintf(stderr, "sinkstream: unknown command '%s'%s\n\n%s", cmd.c_str(),
                 near.empty() ? "" : ("; did you mean '" + near + "'?").c_str(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    return sinkstream::cli::report_error(e);
  }
}
