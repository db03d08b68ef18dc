// The sinkstream command line as scripts use it: exit codes, --ids, --json,
// and clear errors. Runs the real binary.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "fixtures.hpp"
#include "golden.hpp"
#include "testing/synthetic.hpp"
#include "text/utf8.hpp"

namespace sinkstream::test {

// Well-formed XML, checked the simple way: every tag closes in order.
bool balanced_xml(const std::string& x) {
  std::vector<std::string> open;
  for (size_t i = x.find('<'); i != std::string::npos; i = x.find('<', i + 1)) {
    const size_t end = x.find('>', i);
    if (end == std::string::npos) return false;
    const std::string tag = x.substr(i + 1, end - i - 1);
    if (tag.empty() || tag[0] == '?' || tag.back() == '/') continue;
    const std::string name =
        tag.substr(tag[0] == '/' ? 1 : 0, tag.find_first_of(" \t\n") - (tag[0] == '/' ? 1 : 0));
    if (tag[0] != '/') {
      open.push_back(name);
    } else {
      if (open.empty() || open.back() != name) return false;
      open.pop_back();
    }
  }
  return open.empty();
}

TEST_SUITE("cli") {
  TEST_CASE("ppl --compare writes JSON, CSV and an SVG chart with one line per policy") {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string model = (dir / "sinkstream-cli-tiny.gguf").string(),
                      ids = (dir / "sinkstream-cli-ids.txt").string(),
                      csv = (dir / "sinkstream-cli.csv").string(),
                      svg = (dir / "sinkstream-cli.svg").string();
    model::write_synthetic_gguf(model, {});
    {
      std::ofstream out(ids);
      for (int i = 0; i < 50; ++i) out << (i * 17 + 3) % 300 << (i % 10 == 9 ? "\n" : " ");
    }
    const auto r =
        run("ppl --model " + model + " --token-ids " + ids +
            " --compare sinks,window,recompute --sinks 2 --window 10 --segment 16 --json --csv " +
            csv + " --plot " + svg);
    REQUIRE(r.code == 0);
    CHECK(r.out.rfind("{\"runs\":[", 0) == 0);
    for (const char* key :
         {"\"policy\":\"sinks\"", "\"policy\":\"window\"", "\"policy\":\"recompute\"",
          "\"tokens\":49", "\"ppl\":", "\"segment_tokens\":16", "\"segments\":[",
          "\"tokens_per_s\":", "\"device_bytes\":", "\"window\":12"})
      CHECK_MESSAGE(r.out.find(key) != std::string::npos, key);
    const std::string c = slurp(csv);
    CHECK(c.rfind("policy,segment,first_token,last_token,ppl\n", 0) == 0);
    CHECK(std::count(c.begin(), c.end(), '\n') ==
          1 + 3 * 4);  // 49 predictions in segments of 16: 4 rows each
    const std::string s = slurp(svg);
    CHECK(balanced_xml(s));
    CHECK(s.find("<svg") != std::string::npos);
    for (const char* name :
         {"data-name=\"sinks (2+10)\"", "data-name=\"window (0+12)\"",
          "data-name=\"recompute (0+12)\"", "tokens processed", "perplexity (log scale)"})
      CHECK_MESSAGE(s.find(name) != std::string::npos, name);
    const auto bad =
        run("ppl --model " + model + " --token-ids " + ids + " --csv /nonexistent-dir/x.csv");
    CHECK(bad.code == 1);
    CHECK(bad.out.find("cannot write") != std::string::npos);
    for (const auto& f : {model, ids, csv, svg}) std::filesystem::remove(f);
  }

  TEST_CASE("generate --ids reproduces the golden greedy ids from BOS") {
    REQUIRE_FIXTURE("stories260K.bin");
    const auto r = run("generate --model " + fixture("stories260K.bin") + " --tokenizer " +
                       fixture("tok512.bin") + " --temperature 0 --tokens 40 --kv-type f32 --ids");
    REQUIRE(r.code == 0);
    std::istringstream in(r.out);
    std::vector<int32_t> ids;
    for (int32_t id; in >> id;) ids.push_back(id);
    CHECK(ids ==
          std::vector<int32_t>(stories260k_golden().begin(), stories260k_golden().begin() + 40));
    CHECK(r.out.find("validation") == std::string::npos);
  }

  // --temperature 0 takes Engine::decode_greedy (batches, pick on the GPU);
  // temperature 1 with top-k 1 picks the same tokens through the host sampler,
  // one step per submission. Seed 5's model ends at token 8, seed 3's at 345:
  // inside a batch, where the rest of the batch must not be printed. The NaN
  // guard off lets the batches overlap; on, they run one at a time.
  TEST_CASE("generate --temperature 0 batches steps on the GPU and stops at end-of-sequence inside a batch") {
    for (uint64_t seed : {3u, 5u}) {
      const std::string model =
          (std::filesystem::temp_directory_path() / ("sinkstream-cli-eos" + std::to_string(seed) + ".gguf")).string();
      model::SyntheticSpec spec;
      spec.seed = seed;
      model::write_synthetic_gguf(model, spec);
      const std::string base = "generate --model " + model + " --tokens 400 --ids ";
      // The ids alone: the summary on stderr holds timings (and a seed) that differ.
      const auto host = run(base + "--temperature 1 --top-k 1 --top-p 1 --min-p 0 2>/dev/null");
      REQUIRE(host.code == 0);
      for (const char* finite : {"0", "1"}) {
        CAPTURE(seed);
        CAPTURE(finite);
        const auto gpu = run_sh(std::string("SINKSTREAM_CHECK_FINITE=") + finite + " \"$B\" " + base + "--temperature 0 2>/dev/null");
        REQUIRE(gpu.code == 0);
        CHECK(gpu.out == host.out);
      }
      std::istringstream in(host.out);
      size_t n = 0;
      for (int32_t id; in >> id;) ++n;
      CHECK(n == (seed == 5 ? 8u : 345u));
      std::filesystem::remove(model);
    }
  }

  TEST_CASE("generate --json prints one object with the statistics") {
    REQUIRE_FIXTURE("stories260K.gguf");
    const auto r = run("generate --model " + fixture("stories260K.gguf") +
                       " --prompt \"Once upon\" --tokens 12 --json");
    REQUIRE(r.code == 0);
    CHECK(r.out.front() == '{');
    for (const char* key : {"\"text\":", "\"ids\":", "\"tokens\":12",
                            "\"prefill_tokens_per_s\":", "\"decode_tokens_per_s\":",
                            "\"cache_slots_used\":", "\"evicted_tokens\":0", "\"device_bytes\":"})
      CHECK_MESSAGE(r.out.find(key) != std::string::npos, key);
  }

  TEST_CASE("generate --json stays valid UTF-8 when the model emits stray bytes") {
    // The synthetic vocabulary is mostly byte tokens, so sampled text is mostly
    // broken UTF-8: JSON readers must still get well-formed text, with U+FFFD.
    const std::string model =
        (std::filesystem::temp_directory_path() / "sinkstream-cli-json-utf8.gguf").string();
    model::write_synthetic_gguf(model, model::SyntheticSpec{});
    const auto r = run("generate --model " + model + " --tokens 64 --seed 5 --ignore-eos --json");
    REQUIRE(r.code == 0);
    CHECK(r.out.find("\\ufffd") != std::string::npos);
    size_t bad = 0;
    for (size_t i = 0; i < r.out.size(); ++i) {
      if (static_cast<unsigned char>(r.out[i]) < 0x80) continue;
      const size_t n = model::utf8_valid_length(r.out, i);
      bad += n == 0;
      i += n == 0 ? 0 : n - 1;
    }
    CHECK(bad == 0);
    std::filesystem::remove(model);
  }

  TEST_CASE("bench generate --json reports both decode modes at each position") {
    const std::string model =
        (std::filesystem::temp_directory_path() / "sinkstream-cli-bench-generate.gguf").string();
    model::write_synthetic_gguf(model, model::SyntheticSpec{});
    const auto r = run("bench generate --model " + model +
                       " --prompt-tokens 20 --decode-tokens 8 --positions 60,200 --chunk 16 --json");
    REQUIRE(r.code == 0);
    for (const char* key :
         {"\"prefill_tokens\":20", "\"chunk\":16", "\"decode_tokens_per_s\":", "\"decode_batched_tokens_per_s\":",
          "\"copy_gbs\":", "\"position\":60", "\"position\":200", "\"ms_per_token_batched\":",
          "\"decode_bound_fraction_at_end\":", "\"coop_prefill\":"})
      CHECK_MESSAGE(r.out.find(key) != std::string::npos, key);
    // The warm-up's stream was reset, so only the timed stream's tokens count: 20
    // prompt, 8 + 8 decoded, to 60, 8 + 8, to 200, 8 + 8 = 216, minus 4 sinks and a
    // window of 124 (the synthetic model's context 128).
    CHECK(r.out.find("\"evicted\":88") != std::string::npos);
    std::filesystem::remove(model);
  }

  TEST_CASE("bench stream reports flat memory and the re-computation speed-up") {
    const std::string model =
        (std::filesystem::temp_directory_path() / "sinkstream-cli-stream.gguf").string();
    model::SyntheticSpec spec;
    spec.context = 24;
    model::write_synthetic_gguf(model, spec);
    const auto r =
        run("bench stream --model " + model + " --stream-tokens 600 --window-tokens 50 --json");
    REQUIRE(r.code == 0);
    for (const char* key :
         {"\"checkpoints\":[", "\"tokens\":600", "\"memory_identical\":true",
          "\"speedup\":", "\"recompute_ms_per_token\":", "\"window\":20", "\"vulkan_objects\":"})
      CHECK_MESSAGE(r.out.find(key) != std::string::npos, key);
    std::filesystem::remove(model);
  }

  TEST_CASE(
      "logits writes (tokens, vocab) float32 that match between the prefill and decode paths") {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string model = (dir / "sinkstream-cli-logits.gguf").string(),
                      ids = (dir / "sinkstream-cli-ids.txt").string();
    model::SyntheticSpec spec;
    model::write_synthetic_gguf(model, spec);
    {
      std::ofstream out(ids);
      out << "1 5 9\n 2 7 3 3 0 11";
    }
    std::vector<std::vector<float>> got;
    for (const char* chunk : {"64", "1"}) {
      const std::string out =
          (dir / (std::string("sinkstream-cli-logits-") + chunk + ".f32")).string();
      const auto r = run("logits --model " + model + " --token-ids " + ids +
                         " --kv-type f32 --chunk " + chunk + " --json --out " + out);
      REQUIRE_MESSAGE(r.code == 0, r.out);
      CHECK(r.out.find("\"tokens\":9") != std::string::npos);
      std::ifstream in(out, std::ios::binary);
      std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
      REQUIRE(bytes.size() == size_t{9} * spec.vocab * 4);
      std::vector<float> f(bytes.size() / 4);
      std::memcpy(f.data(), bytes.data(), bytes.size());
      got.push_back(f);
      std::filesystem::remove(out);
    }
    float worst = 0;
    for (size_t i = 0; i < got[0].size(); ++i)
      worst = std::max(worst, std::abs(got[0][i] - got[1][i]));
    CHECK(worst < 1e-4f);
    const auto bad =
        run("logits --model " + model + " --token-ids " + ids + " --out /nonexistent-dir/x.f32");
    CHECK(bad.code != 0);
    CHECK(bad.out.find("cannot write") != std::string::npos);
    std::filesystem::remove(model);
    std::filesystem::remove(ids);
  }

  TEST_CASE("info lists every tensor's type, and counts and bytes per type, F32 included") {
    const std::string model = (std::filesystem::temp_directory_path() / "sinkstream-cli-q4_k_m.gguf").string();
    model::SyntheticSpec spec;
    spec.dim = 256;
    spec.ffn = 256;
    spec.layers = 8;
    model::set_synthetic_type(spec, "q4_k_m");
    model::write_synthetic_gguf(model, spec);
    const auto j = run("info --json --model " + model);
    REQUIRE_MESSAGE(j.code == 0, j.out);
    // 8 layers: attn_v and ffn_down of layers 0, 3, 6, 7 and output are Q6_K; 17 norms F32.
    CHECK(j.out.find("\"tensor_count_by_type\":{\"F32\":17,\"Q4_K\":49,\"Q6_K\":9}") != std::string::npos);
    CHECK(j.out.find("{\"name\":\"blk.3.attn_v.weight\",\"type\":\"Q6_K\",\"shape\":[256,128]}") !=
          std::string::npos);
    CHECK(j.out.find("{\"name\":\"blk.4.ffn_down.weight\",\"type\":\"Q4_K\",\"shape\":[256,256]}") !=
          std::string::npos);
    const auto t = run("info --tensors --model " + model);
    REQUIRE_MESSAGE(t.code == 0, t.out);
    CHECK(t.out.find("F32 ") != std::string::npos);
    CHECK(t.out.find("(9 tensors)") != std::string::npos);
    CHECK(t.out.find("output.weight                    Q6_K") != std::string::npos);
    CHECK(t.out.find("blk.7.ffn_down.weight            Q6_K") != std::string::npos);
    CHECK(t.out.find("blk.5.ffn_down.weight            Q4_K") != std::string::npos);
    std::filesystem::remove(model);
  }

  TEST_CASE("sinks --json and the heatmap") {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string model = (dir / "sinkstream-cli-sinks.gguf").string(),
                      text = (dir / "sinkstream-cli.txt").string(),
                      svg = (dir / "sinkstream-cli-heat.svg").string();
    model::write_synthetic_gguf(model, {});
    {
      std::ofstream out(text);
      for (int i = 0; i < 40; ++i)
        out << "\xc3\xa9t\xc3\xa9 " << i << " ";  // bytes tokenize via byte fallback
    }
    const auto r = run("sinks --model " + model + " --text " + text +
                       " --tokens 60 --first 3 --json --heatmap " + svg);
    REQUIRE(r.code == 0);
    for (const char* key :
         {"\"layers\":2", "\"heads\":4", "\"first\":3", "\"queries\":44",
          "\"recommended_sinks\":", "\"head_ratio\":[", "\"alpha_first_token\":["})
      CHECK_MESSAGE(r.out.find(key) != std::string::npos, key);
    const std::string s = slurp(svg);
    CHECK(balanced_xml(s));
    CHECK(std::count(s.begin(), s.end(), '\n') > 8);
    size_t cells = 0;
    for (size_t at = s.find("class=\"cell\""); at != std::string::npos;
         at = s.find("class=\"cell\"", at + 1))
      ++cells;
    CHECK(cells == 2 * 4);  // layers x heads
    for (const auto& f : {model, text, svg}) std::filesystem::remove(f);
  }

  TEST_CASE("resource failures: no driver, too little memory, a lost device, unwritable outputs") {
    const std::string model =
        (std::filesystem::temp_directory_path() / "sinkstream-cli-res.gguf").string();
    model::write_synthetic_gguf(model, {});
    auto r = run_sh("VK_ICD_FILENAMES=/nonexistent.json \"$B\" generate --model " + model +
                    " --tokens 2");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("no Vulkan driver") != std::string::npos, r.out);
    r = run_sh("SINKSTREAM_DEVICE_MEMORY_LIMIT=100K \"$B\" generate --model " + model +
               " --tokens 2");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("needs about") != std::string::npos, r.out);
    r = run_sh("SINKSTREAM_INJECT_DEVICE_LOST=4 \"$B\" generate --model " + model +
               " --tokens 20 --ignore-eos");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("device lost") != std::string::npos, r.out);
    r = run("ppl --model " + model + " --text " + model + " --csv /nonexistent-dir/x.csv");
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("cannot write '/nonexistent-dir/x.csv'") != std::string::npos, r.out);
    std::filesystem::remove(model);
  }

  TEST_CASE("Ctrl-C during a long prompt ingest prints the summary and exits with 130") {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string model = (dir / "sinkstream-cli-int.gguf").string(),
                      prompt = (dir / "sinkstream-cli-int.txt").string();
    model::write_synthetic_gguf(model, {});
    {
      std::ofstream out(prompt);
      for (int i = 0; i < 40000; ++i)
        out << "\xc3\xa9t\xc3\xa9 " << i << " ";  // ~400K byte-fallback tokens
    }
    // A long generation after the prompt keeps a fast GPU busy at the signal too (an
    // H100 ingests the prompt in under 4 s): the statistics come either way.
    const auto r =
        run_sh("\"$B\" generate --model " + model + " --prompt-file " + prompt +
               " --tokens 1000000 --ignore-eos & pid=$!; sleep 4; kill -INT $pid; wait $pid; echo \"exit=$?\"");
    CHECK_MESSAGE(r.out.find("exit=130") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("stopped: interrupted (Ctrl-C)") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("warning: the prompt is ") != std::string::npos, r.out);
    std::filesystem::remove(model);
    std::filesystem::remove(prompt);
  }

  TEST_CASE("bad invocations fail with a message and a non-zero exit code") {
    auto r = run("generate --model /nonexistent/model.gguf");
    CHECK(r.code == 1);
    CHECK(r.out.find("cannot open") != std::string::npos);
    r = run("generate --tokens -3 --model x");
    CHECK(r.code == 2);
    r = run("generate --no-such-flag");
    CHECK(r.code == 2);
    CHECK(r.out.find("unknown option") != std::string::npos);
    r = run("frobnicate");
    CHECK(r.code == 2);
    if (have_fixture("stories260K.bin")) {
      r = run("generate --model " +
              fixture("stories260K.bin"));  // a llama2.c checkpoint needs --tokenizer
      CHECK(r.code == 2);
      CHECK(r.out.find("--tokenizer") != std::string::npos);
    }
    r = run("--help");
    CHECK(r.code == 0);
    CHECK(r.out.find("generate") != std::string::npos);
  }

  TEST_CASE("template prints exactly the rendered chat, and a raising template exits non-zero") {
    const auto dir = std::filesystem::temp_directory_path();
    const std::string tmpl = (dir / "sinkstream-cli-chat.jinja").string(),
                      msgs = (dir / "sinkstream-cli-messages.json").string(),
                      bad = (dir / "sinkstream-cli-raise.jinja").string();
    std::ofstream(tmpl) << "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>\n{{ m.content | trim }}"
                           "{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
                           "{{ strftime_now('%Y-%m-%d') }}\n";
    std::ofstream(msgs) << R"([{"role": "system", "content": " Be brief. "}, {"role": "user", "content": "Hi \u00e9"}])";
    std::ofstream(bad) << "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}";
    auto r = run_sh("\"$B\" template --template-file " + tmpl + " --messages " + msgs +
                    " --add-generation-prompt --bos-token '<s>' --eos-token '</s>' --date 2026-01-15 2>/dev/null");
    CHECK(r.code == 0);
    // The template's final newline is dropped (jinja2's keep_trailing_newline is off); nothing is added.
    CHECK(r.out == "<s><|system|>\nBe brief.</s>\n<|user|>\nHi \xc3\xa9</s>\n<|assistant|>\n2026-01-15");
    r = run("template --template-file " + bad + " --messages " + msgs);
    CHECK(r.code == 1);
    CHECK(r.out.find("System role not supported") != std::string::npos);
    std::ofstream(bad) << "{% for m in messages %}";
    r = run("template --template-file " + bad + " --messages " + msgs);
    CHECK(r.code == 1);
    CHECK(r.out.find("line 1") != std::string::npos);
    r = run("template --template-file " + tmpl);
    CHECK(r.code == 2);
    CHECK(r.out.find("--messages") != std::string::npos);
    if (have_fixture("tokenizers/ggml-vocab-phi-3.gguf")) {  // a GGUF's own template, BOS and EOS
      r = run_sh("\"$B\" template --model " + fixture("tokenizers/ggml-vocab-phi-3.gguf") + " --messages " +
                 msgs + " --add-generation-prompt 2>/dev/null");
      CHECK(r.code == 0);
      CHECK_MESSAGE(r.out.find("<|user|>\nHi \xc3\xa9<|end|>\n<|assistant|>\n") != std::string::npos, r.out);
      CHECK(r.out.rfind("<s>", 0) == 0);
    }
    std::filesystem::remove(tmpl);
    std::filesystem::remove(msgs);
    std::filesystem::remove(bad);
  }
}

}  // namespace sinkstream::test
