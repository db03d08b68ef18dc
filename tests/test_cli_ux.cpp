// The command line as llama.cpp and Ollama users expect it (issue 30): the
// summary line, warnings for dropped input, the random seed, llama.cpp's
// spellings, "did you mean", --version and the exit codes. Runs the real binary.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "cli_run.hpp"
#include "fixtures.hpp"
#include "testing/synthetic.hpp"

namespace sinkstream::test {
namespace {

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sinkstream-ux-" + name)).string();
}

// A synthetic model (context 128, vocabulary mostly bytes): `seed` picks its weights.
std::string synthetic(const std::string& name, uint64_t seed = 1) {
  const std::string path = temp(name + ".gguf");
  model::SyntheticSpec spec;
  spec.seed = seed;
  model::write_synthetic_gguf(path, spec);
  return path;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

std::string stories() {
  return "--model " + fixture("stories260K.bin") + " --tokenizer " + fixture("tok512.bin") + " ";
}

}  // namespace

TEST_SUITE("cli_ux") {
  TEST_CASE("generate ends with a summary line on stderr: speeds, evictions, seed, why it stopped") {
    REQUIRE_FIXTURE("stories260K.bin");
    // stdout holds the text alone; the summary is on stderr.
    auto r = run_sh("\"$B\" generate " + stories() + "--temperature 0 --tokens 10 2>/dev/null");
    REQUIRE(r.code == 0);
    CHECK(r.out.find("prompt") == std::string::npos);
    r = run_sh("\"$B\" generate " + stories() + "--temperature 0 --tokens 10 --kv-type f32 >/dev/null");
    REQUIRE(r.code == 0);
    CHECK_MESSAGE(std::regex_search(r.out, std::regex(R"(prompt 1 tokens \([0-9.]+ tokens/s\) \| generated 10 tokens )"
                                                      R"(\([0-9.]+ tokens/s\) \| 0 evicted \| stopped: --tokens reached)")),
                  r.out);
    CHECK(r.out.find("seed") == std::string::npos);  // greedy: no seed to report
    // Sampling: the seed is printed; the same seed gives the same text.
    r = run_sh("\"$B\" generate " + stories() + "--seed 7 --tokens 12 2>&1 >/dev/null");
    CHECK_MESSAGE(r.out.find("| seed 7 |") != std::string::npos, r.out);
    // A stop string ends generation and is not printed. The greedy text from BOS is
    // "Once upon a time, there was a little girl named Lily. ..." (the fixture's golden).
    r = run_sh("\"$B\" generate " + stories() + "--temperature 0 --tokens 100 --stop \" named\" --stop \"zzz\"");
    REQUIRE(r.code == 0);
    CHECK_MESSAGE(r.out.rfind("Once upon a time, there was a little girl\n", 0) == 0, r.out);
    CHECK(r.out.find("Lily") == std::string::npos);
    CHECK_MESSAGE(r.out.find("stopped: stop string") != std::string::npos, r.out);
    // End of sequence: the synthetic model of seed 5 ends after 8 tokens; --tokens 0 sets no limit.
    const std::string eos_model = synthetic("eos5", 5);
    r = run("generate --model " + eos_model + " --temperature 0 --tokens 0 --ids");
    CHECK(r.code == 0);
    CHECK_MESSAGE(r.out.find("generated 8 tokens") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("stopped: end of sequence") != std::string::npos, r.out);
    std::filesystem::remove(eos_model);
  }

  TEST_CASE("the seed is random unless given, and reported in --json") {
    const std::string model = synthetic("seed");
    const std::string base = "generate --model " + model + " --tokens 16 --ignore-eos --json";
    const std::regex seed_re(R"("seed":([0-9]+))");
    std::smatch m1, m2;
    const auto a = run(base), b = run(base + " --seed -1");
    REQUIRE(a.code == 0);
    REQUIRE(b.code == 0);
    REQUIRE(std::regex_search(a.out, m1, seed_re));
    REQUIRE(std::regex_search(b.out, m2, seed_re));
    CHECK(m1[1] != m2[1]);
    const auto c = run(base + " --seed " + m1[1].str());
    CHECK(c.out.find("\"seed\":" + m1[1].str()) != std::string::npos);
    CHECK(c.out.find("\"stop_reason\":\"tokens\"") != std::string::npos);
    // The same seed, the same tokens.
    const auto ids = [](const std::string& s) { return s.substr(s.find("\"ids\":"), s.find(']', s.find("\"ids\":"))); };
    CHECK(ids(c.out) == ids(a.out));
    std::filesystem::remove(model);
  }

  TEST_CASE("warnings name what the cache drops, once") {
    const std::string model = synthetic("warn");
    std::string prompt(60, 'a');
    // The prompt into 2 sinks + 8 window slots: all but 10 of its tokens evicted before generation.
    auto r = run("generate --model " + model + " --sinks 2 --window 8 --tokens 3 --prompt " + prompt);
    REQUIRE(r.code == 0);
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_search(r.out, m,
                                      std::regex(R"(warning: the prompt is ([0-9]+) tokens but the cache holds 2 )"
                                                 R"(sinks \+ 8 window slots: the model keeps its first 2 tokens )"
                                                 R"(\(the attention sinks, pinned\) and its last 8; the ([0-9]+) )"
                                                 R"(between them are evicted before the first generated token)")),
                    r.out);
    CHECK(std::stoul(m[1]) > 60);
    CHECK(std::stoul(m[2]) == std::stoul(m[1]) - 10);
    CHECK(count(r.out, "warning:") == 1);
    // A window past the training context (128 for the synthetic model).
    r = run("generate --model " + model + " --window 200 --tokens 2");
    CHECK_MESSAGE(r.out.find("warning: 4 sinks + 200 window slots exceed the model's training context of 128") !=
                      std::string::npos,
                  r.out);
    // chat: a message longer than the window, once over two turns; a pinned system
    // prompt that takes most of the context.
    r = run_sh("printf '" + prompt + "\\n" + prompt + "\\n' | \"$B\" chat --model " + model +
               " --window 16 --tokens 2");
    CHECK_MESSAGE(r.out.find("warning: the message is") != std::string::npos, r.out);
    CHECK(count(r.out, "warning: the message is") == 1);
    r = run_sh("printf '/quit\\n' | \"$B\" chat --model " + model + " --pin-system --system " + std::string(100, 's'));
    CHECK(r.code == 0);
    CHECK_MESSAGE(r.out.find("warning: the pinned system prompt takes") != std::string::npos, r.out);
    std::filesystem::remove(model);
  }

  TEST_CASE("llama.cpp's spellings, did-you-mean, --version and plain number ranges") {
    const std::string model = synthetic("alias");
    const auto longer = run("generate --model " + model + " --prompt ab --tokens 5 --temperature 0.7 --seed 3 --ids "
                            "--window 20 --sinks 4 2>/dev/null");
    const auto shorter = run("generate -m " + model + " -p ab -n 5 --temp 0.7 -s 3 --ids -c 24 2>/dev/null");
    REQUIRE(longer.code == 0);
    REQUIRE(shorter.code == 0);
    CHECK(longer.out == shorter.out);
    auto r = run("generate -m " + model + " -c 24 --json -n 1");
    CHECK_MESSAGE(r.out.find("\"cache_capacity\":24") != std::string::npos, r.out);
    r = run("generate -m " + model + " -c 24 --window 20");
    CHECK(r.code == 2);
    r = run("generate --tokns 5");
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find("unknown option --tokns; did you mean --tokens?") != std::string::npos, r.out);
    r = run("generate -z 5");
    CHECK(r.code == 2);
    CHECK(r.out.find("unknown option -z") != std::string::npos);
    r = run("generat");
    CHECK(r.out.find("did you mean 'generate'?") != std::string::npos);
    r = run("--version");
    CHECK(r.code == 0);
    CHECK_MESSAGE(std::regex_search(r.out, std::regex(R"(^sinkstream [0-9]+\.[0-9]+\.[0-9]+\n$)")), r.out);
    r = run("generate -m " + model + " --top-p 3");
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find("--top-p must be a number in 1e-06..1, got '3'") != std::string::npos, r.out);
    r = run("generate -h");
    CHECK(r.code == 0);
    CHECK(r.out.find("--tokens N") != std::string::npos);
    std::filesystem::remove(model);
  }

  TEST_CASE("Ctrl-C exits with 130 after the partial result: ppl and demo") {
    const std::string model = synthetic("int");
    const std::string ids = temp("int-ids.txt");
    {
      std::ofstream out(ids);
      for (int i = 0; i < 20000; ++i) out << (i * 7 + 3) % 300 << ' ';
    }
    auto r = run_sh("\"$B\" ppl --model " + model + " --token-ids " + ids +
                    " --policy recompute & pid=$!; sleep 5; kill -INT $pid; wait $pid; echo \"exit=$?\"");
    CHECK_MESSAGE(r.out.find("exit=130") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("interrupted") != std::string::npos, r.out);
    r = run_sh("\"$B\" demo --tokens 0 --check 0 & pid=$!; sleep 4; kill -INT $pid; wait $pid; echo \"exit=$?\"");
    CHECK_MESSAGE(r.out.find("exit=130") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find(", interrupted") != std::string::npos, r.out);
    std::filesystem::remove(model);
    std::filesystem::remove(ids);
  }

  TEST_CASE("errors name the real problem") {
    REQUIRE_FIXTURE("tok512.model");
    const std::string text = temp("not-a-model.txt");
    std::ofstream(text) << "Once upon a time there was a text file given as a model.\n";
    auto r = run("generate --model " + text);
    CHECK(r.code != 0);
    CHECK_MESSAGE(r.out.find("not a GGUF file and not a llama2.c checkpoint: it starts with text") !=
                      std::string::npos,
                  r.out);
    const std::string model = synthetic("err");
    r = run("generate --model " + model + " --prompt-file " + std::filesystem::temp_directory_path().string());
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find("it is a directory") != std::string::npos, r.out);
    r = run("tokenize --tokenizer " + fixture("tok512.model") + " --text hi");
    CHECK(r.code == 2);
    CHECK_MESSAGE(r.out.find("looks like a SentencePiece tokenizer.model") != std::string::npos, r.out);
    // A cache path in a folder that does not exist: the folder is not created.
    const std::string missing = temp("no-such-folder");
    std::filesystem::remove_all(missing);
    r = run_sh("SINKSTREAM_PIPELINE_CACHE=" + missing + "/sub/x.bin \"$B\" generate --model " + model + " -n 2");
    CHECK(r.code == 0);
    CHECK(!std::filesystem::exists(missing));
    CHECK_MESSAGE(r.out.find("cannot write the pipeline cache") != std::string::npos, r.out);
    std::filesystem::remove(text);
    std::filesystem::remove(model);
  }

  TEST_CASE("chat without a terminal: slash commands, --chat-template, --stop") {
    REQUIRE_FIXTURE("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    const std::string model = synthetic("chat");
    auto r = run_sh("printf '/help\\n/nope\\nhello\\n/stats\\n/quit\\n' | \"$B\" chat --model " + model +
                    " --tokens 4 --chat-template chatml");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK(r.out.find("chat format chatml") != std::string::npos);
    CHECK(r.out.find("/clear   forget the conversation") != std::string::npos);
    CHECK_MESSAGE(r.out.find("unknown command /nope") != std::string::npos, r.out);
    CHECK(r.out.find("tokens streamed") != std::string::npos);
    // A .jinja file is rendered by the Jinja engine: Qwen 2.5's template adds its
    // default system prompt, which the built-in chatml format does not.
    const auto streamed = [](const std::string& out) {
      std::smatch m;
      REQUIRE_MESSAGE(std::regex_search(out, m, std::regex(R"(([0-9]+) tokens streamed)")), out);
      return std::stoull(m[1]);
    };
    const std::string say = "printf 'hello\\n/stats\\n/quit\\n' | \"$B\" chat --model " + model + " --tokens 1 --temperature 0";
    const auto builtin = run_sh(say + " --chat-template chatml");
    r = run_sh(say + " --chat-template " + fixture("templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK_MESSAGE(r.out.find("chat format Qwen-Qwen2.5-7B-Instruct.jinja") != std::string::npos, r.out);
    CHECK(streamed(r.out) > streamed(builtin.out) + 5);
    r = run("chat --model " + model + " --chat-template /nonexistent.jinja");
    CHECK(r.code == 2);
    std::filesystem::remove(model);
  }

  TEST_CASE("chat --show-reasoning is in --help; a format without a reasoning channel says so") {
    CHECK(run("chat --help").out.find("--show-reasoning") != std::string::npos);
    const std::string model = synthetic("chat-reasoning");
    const auto r = run_sh("printf 'hello\\n/quit\\n' | \"$B\" chat --model " + model +
                          " --tokens 2 --chat-template chatml --show-reasoning");
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK_MESSAGE(r.out.find("--show-reasoning: this chat format has no reasoning channel") != std::string::npos, r.out);
    CHECK(r.out.find("harmony replies") == std::string::npos);
    std::filesystem::remove(model);
  }

  TEST_CASE("chat and info use the model's own template by default, and say when they cannot") {
    REQUIRE_FIXTURE("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    std::ifstream in(fixture("templates/Qwen-Qwen2.5-7B-Instruct.jinja"), std::ios::binary);
    const std::string qwen{std::istreambuf_iterator<char>(in), {}};
    const auto with_template = [](const std::string& name, const std::string& source) {
      const std::string path = temp(name + ".gguf");
      model::SyntheticSpec spec;
      spec.chat_template = source;
      model::write_synthetic_gguf(path, spec);
      return path;
    };
    const std::string own = with_template("own-template", qwen);
    const std::string say = "printf 'hello\\n/stats\\n/quit\\n' | \"$B\" chat --tokens 1 --temperature 0 --model ";
    const auto streamed = [](const std::string& out) {
      std::smatch m;
      REQUIRE_MESSAGE(std::regex_search(out, m, std::regex(R"(([0-9]+) tokens streamed)")), out);
      return std::stoull(m[1]);
    };
    auto r = run_sh(say + own);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK_MESSAGE(r.out.find("chat format the model's template") != std::string::npos, r.out);
    // Qwen 2.5's template writes its default system prompt; chatml would not.
    const auto builtin = run_sh(say + own + " --chat-template chatml");
    CHECK(streamed(r.out) > streamed(builtin.out) + 5);
    r = run("info --model " + own + " --json");
    CHECK_MESSAGE(r.out.find("\"chat_format\":\"jinja\"") != std::string::npos, r.out);
    // A template the engine cannot parse: the built-in format of its family, said on stderr.
    const std::string broken = with_template("broken-template", "<|im_start|>{% for m in messages %}");
    r = run_sh(say + broken);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    CHECK_MESSAGE(r.out.find("the model's chat template cannot be rendered") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("chat format chatml") != std::string::npos, r.out);
    std::filesystem::remove(own);
    std::filesystem::remove(broken);
  }

  TEST_CASE("analysis commands: logits prints its top-5 ids, info adds up, helps list what works") {
    const std::string model = synthetic("analysis"), out = temp("logits.f32");
    auto r = run("logits --model " + model + " --text ab --out " + out);
    REQUIRE(r.code == 0);
    CHECK_MESSAGE(std::regex_search(r.out, std::regex(R"(\n +0 +[0-9]+ +[0-9]+ [0-9]+ [0-9]+ [0-9]+ [0-9]+\n)")), r.out);
    r = run("info --model " + model + " --json");
    std::smatch m;
    REQUIRE(std::regex_search(r.out, m, std::regex(R"("weight_bytes":([0-9]+))")));
    const uint64_t total = std::stoull(m[1]);
    uint64_t sum = 0;
    const size_t from = r.out.find("\"tensor_bytes_by_type\"");
    const std::string types = r.out.substr(from, r.out.find('}', from) - from);  // that object alone
    const std::regex number(R"(:([0-9]+))");
    for (std::sregex_iterator it(types.begin(), types.end(), number), end; it != end; ++it)
      sum += std::stoull((*it)[1]);
    CHECK(sum == total);
    // gemma2: its sliding layers' own rings and its soft-caps, and its norms counted too.
    const std::string gemma = temp("gemma2.gguf");
    model::write_synthetic_gguf(gemma, model::synthetic_preset("gemma2-tiny"));
    r = run("info --model " + gemma);
    CHECK_MESSAGE(r.out.find("2 of 4 layers trained with a window of 8 tokens keep a ring of their own") !=
                      std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("attention scores 50, final logits 30") != std::string::npos, r.out);
    r = run("info --model " + gemma + " --json");
    CHECK_MESSAGE(r.out.find("\"sliding_layers\":2") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("\"sliding_kv_bytes\":2048") != std::string::npos, r.out);  // K, V x 2 layers x 8 x 2 heads x 16 x 2 B
    std::filesystem::remove(gemma);
    CHECK(run("bench generate --help").out.find("--json") != std::string::npos);
    const auto sinks_help = run("sinks --help").out;
    for (const char* ignored : {"--window", "--sinks N", "--kv-type"})
      CHECK_MESSAGE(sinks_help.find(ignored) == std::string::npos, ignored);
    CHECK(run("sinks --model " + model + " --text x --window 5").code == 2);
    std::filesystem::remove(model);
    std::filesystem::remove(out);
  }

  TEST_CASE("the top-level help and the README list the same environment variables") {
    const auto r = run("--help");
    const std::string all = slurp(std::string(SINKSTREAM_TESTS_DIR) + "/../README.md");
    const size_t from = all.find("Environment:"), to = all.find("lists the same variables");
    REQUIRE(from != std::string::npos);
    REQUIRE(to != std::string::npos);
    const std::string readme = all.substr(from, to - from);  // the section (SINKSTREAM_FIXTURES is CMake's)
    const std::regex var(R"(SINKSTREAM_[A-Z_]+)");
    std::set<std::string> in_help, in_readme;
    for (std::sregex_iterator it(r.out.begin(), r.out.end(), var), end; it != end; ++it) in_help.insert(it->str());
    for (std::sregex_iterator it(readme.begin(), readme.end(), var), end; it != end; ++it) in_readme.insert(it->str());
    CHECK(in_help.size() >= 10);
    CHECK(in_help == in_readme);
  }
}

}  // namespace sinkstream::test
