// The charts as a reader sees them (issue 30): every SVG is checked as XML by
// tests/check_svg.py (python3's xml.etree) for texts inside the view box,
// markers and round x ticks.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_run.hpp"
#include "testing/synthetic.hpp"

namespace sinkstream::test {
namespace {

std::string temp(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sinkstream-charts-" + name)).string();
}

Run check_svg(const std::string& svg, int min_markers) {
  return run_sh("python3 " + std::string(SINKSTREAM_TESTS_DIR) + "/check_svg.py " + svg + " --markers " +
                std::to_string(min_markers));
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("cli_charts") {
  TEST_CASE("the SVG checker fails on a text outside the view box, missing markers and odd ticks") {
    const std::string bad = temp("bad.svg");
    std::ofstream(bad) << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 100 50\" font-size=\"13\">"
                          "<text x=\"50\" y=\"20\" text-anchor=\"middle\">a title far too long for this box</text>"
                          "<text class=\"xtick\" x=\"10\" y=\"40\">59.8</text>"
                          "<text class=\"xtick\" x=\"30\" y=\"40\">119.6</text></svg>";
    const auto r = check_svg(bad, 1);
    CHECK(r.code == 1);
    CHECK_MESSAGE(r.out.find("leaves the view box") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("0 markers") != std::string::npos, r.out);
    CHECK_MESSAGE(r.out.find("not equal round steps") != std::string::npos, r.out);
    std::filesystem::remove(bad);
  }

  TEST_CASE("ppl on a short run: a segment from its length, markers, round ticks, a note when nothing was evicted") {
    const std::string model = temp("ppl.gguf"), ids = temp("ppl-ids.txt"), svg = temp("ppl.svg");
    model::write_synthetic_gguf(model, {});
    {
      std::ofstream out(ids);
      for (int i = 0; i < 300; ++i) out << (i * 17 + 3) % 300 << ' ';
    }
    // 299 predictions: segments of 20 (about a tenth), 15 points per policy.
    auto r = run("ppl --model " + model + " --token-ids " + ids + " --compare sinks,window --json --plot " + svg);
    REQUIRE(r.code == 0);
    CHECK_MESSAGE(r.out.find("\"segment_tokens\":20") != std::string::npos, r.out);
    CHECK(r.out.find("\"window_filled\":true") != std::string::npos);
    CHECK(r.out.find("nothing was evicted") == std::string::npos);
    auto c = check_svg(svg, 2 * 15);
    CHECK_MESSAGE(c.code == 0, c.out);
    // A window larger than the text: said, and marked in the JSON.
    r = run("ppl --model " + model + " --token-ids " + ids + " --compare sinks,window --window 400 --json --plot " +
            svg);
    REQUIRE(r.code == 0);
    CHECK_MESSAGE(r.out.find("nothing was evicted, so the policies saw the same tokens") != std::string::npos, r.out);
    CHECK(r.out.find("\"window_filled\":false") != std::string::npos);
    c = check_svg(svg, 2 * 15);
    CHECK_MESSAGE(c.code == 0, c.out);
    for (const auto& f : {model, ids, svg}) std::filesystem::remove(f);
  }

  TEST_CASE("chart titles name the model file, not its path, and fit; one recompute timing is one marker") {
    const std::string dir = temp("a-folder-with-a-rather-long-name-that-must-not-reach-any-chart-title");
    std::filesystem::create_directories(dir);
    const std::string model = dir + "/tiny.gguf", text = temp("sinks.txt"), heat = temp("heat.svg"),
                      latency = temp("latency.svg");
    model::SyntheticSpec spec;
    spec.context = 24;
    model::write_synthetic_gguf(model, spec);
    {
      std::ofstream out(text);
      for (int i = 0; i < 40; ++i) out << "word " << i << " ";
    }
    auto r = run("sinks --model " + model + " --text " + text + " --tokens 24 --first 3 --heatmap " + heat);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    std::string s = slurp(heat);
    CHECK(s.find("Attention on the first token: tiny.gguf") != std::string::npos);
    CHECK(s.find("rather-long-name") == std::string::npos);
    auto c = check_svg(heat, 0);
    CHECK_MESSAGE(c.code == 0, c.out);
    r = run("bench stream --model " + model + " --stream-tokens 600 --window-tokens 20 --json --plot " + latency);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    s = slurp(latency);
    CHECK(s.find("Per-token latency while streaming: tiny.gguf") != std::string::npos);
    // Checkpoints 100, 200, 500, 600: four markers for the stream, one for re-computation.
    c = check_svg(latency, 5);
    CHECK_MESSAGE(c.code == 0, c.out);
    CHECK(count(s, "class=\"marker\"") == 5);
    const size_t rec = s.find("data-name=\"recompute");
    REQUIRE(rec != std::string::npos);
    const size_t pts = s.find("points=\"", rec) + 8;
    CHECK(count(s.substr(pts, s.find('"', pts) - pts), ",") == 1);  // one point, not a line across all x
    std::filesystem::remove_all(dir);
    for (const auto& f : {text, heat, latency}) std::filesystem::remove(f);
  }
}

}  // namespace sinkstream::test
