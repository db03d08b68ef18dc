// The attention probe behind `sinkstream sinks`: the GPU's attention on the
// first tokens equals the CPU reference's softmax weights, and the report's
// statistics are what they claim.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "gpu_fixture.hpp"
#include "eval/sink_analysis.hpp"
#include "testing/synthetic.hpp"
#include "ref/model_ref.hpp"

namespace sinkstream::test {

TEST_SUITE("sinks") {
  TEST_CASE("probe: attention on the first tokens matches the reference, with and without learned sinks") {
    for (bool learned : {false, true}) {
      ValidationScope validation;
      const std::string path = temp_path("probe.gguf");
      model::SyntheticSpec spec;
      spec.learned_sinks = learned;
      model::write_synthetic_gguf(path, spec);
      const auto m = model::load_model(path);
      model::Engine engine(gpu(), *m, f32_engine(0, 40, 1));
      engine.enable_attention_probe(3);
      ref::ReferenceModel reference(*m, 0, 40);
      double worst = 0;
      for (int32_t t = 0; t < 30; ++t) {
        const int32_t id = (t * 53 + 11) % 300;
        engine.feed({&id, 1});
        reference.forward(id);
        const auto probe = engine.attention_probe();
        for (uint32_t l = 0; l < m->hp.layers; ++l) {
          const auto& want = reference.attention().last_attention(l);
          const size_t kept = want.size() / m->hp.heads;
          for (uint32_t h = 0; h < m->hp.heads; ++h)
            for (uint32_t j = 0; j < 3; ++j) {
              const double w = j < kept ? want[h * kept + j] : 0.0;
              worst = std::max(worst, std::abs(probe[(l * m->hp.heads + h) * 3 + j] - w));
            }
        }
      }
      INFO("learned sinks " << learned << ": max |probe - reference| = " << worst);
      CHECK(worst <= 1e-4);
      std::filesystem::remove(path);
    }
  }

  TEST_CASE("report statistics") {
    model::SinkReport r;
    r.layers = 2;
    r.heads = 2;
    r.first = 2;
    r.alpha = {0.9, 0.0, 0.1, 0.0,   // layer 0 (not counted in ratios)
               0.5, 0.05, 0.2, 0.4};  // layer 1: head 0 sinks on position 0, head 1 on position 1
    CHECK(r.head_ratio(0) == doctest::Approx(0.5));
    CHECK(r.head_ratio(1) == doctest::Approx(0.5));
    CHECK(r.layer_mean(1, 0) == doctest::Approx(0.35));
    CHECK(r.recommended_sinks() == 2);
    r.alpha = {0.9, 0.0, 0.1, 0.0, 0.1, 0.05, 0.2, 0.1};
    CHECK(r.recommended_sinks() == 0);  // no head past layer 0 above 0.3: no sink
  }
}

}  // namespace sinkstream::test
