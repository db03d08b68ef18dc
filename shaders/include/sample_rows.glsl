// The rows of a GPU sampling step (sample_rows.comp): one descriptor per
// logits row to sample. Mirrors sample::SampleRow and SampleRowsPC
// (src/sample/gpu_sampler.hpp, static_asserts there).
#ifndef SAMPLE_ROWS_GLSL
#define SAMPLE_ROWS_GLSL

struct SampleRow {
  uint logit_row;        // row of the logits buffer
  uint slot;             // picks[slot] receives the token
  float temperature;     // 0: greedy
  uint top_k;            // 0: off
  float top_p;           // 1: off
  float min_p;           // 0: off
  float repeat_penalty;  // 1: off
  uint n_recent;         // (token, count) pairs in recent[row, 0..n_recent), by token
  float u;               // the stream's next uniform draw in [0, 1)
  uint pad0, pad1, pad2;
};

layout(push_constant) uniform PC {
  uint vocab;
  uint max_recent;  // recent pairs per row
} pc;

// picks[slot] when the kernel leaves the row to the host (the nucleus has more
// tokens than the candidate buffer holds), or when a logit is NaN or Inf.
const uint kPickFallback = 0xffffffffu;
const uint kPickNonFinite = 0xfffffffeu;

#endif
