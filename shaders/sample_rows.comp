#version 450
// Sampling on the GPU, one workgroup per descriptor: the token of a logits row,
// picked as src/sample/sampler.cpp (the CPU reference) picks it. The repetition
// penalty, then greedy (largest, lowest id on ties), or: the top-k candidates
// (a radix select on the logits' order-preserving bits, then a bitonic sort),
// the softmax at the temperature, the top-p / min-p nucleus, and the draw with
// the host's uniform u. The nucleus is exact as long as it fits kCap
// candidates; past that the row is left to the host (kPickFallback), which
// then draws with the same u.
#extension GL_GOOGLE_include_directive : require
#include "sample_rows.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Logits { float logits[]; };  // (logit row, vocab)
layout(std430, binding = 1) readonly buffer Rows { SampleRow rows[]; };  // (entry)
layout(std430, binding = 2) readonly buffer Recent { uvec2 recent[]; };  // (entry, max_recent) (token, count)
layout(std430, binding = 3) buffer Picks { uint picks[]; };              // (slot)

const uint WG = gl_WorkGroupSize.x;
const uint kCap = 1024u;  // candidates a row sorts
const uint kMaxRecent = 64u;

shared uvec2 s_recent[kMaxRecent];
shared float s_f[WG];
shared uint s_u[WG];
shared uint s_gt[WG], s_eq[WG];  // per thread, then their exclusive prefix sums
shared uint s_hist[256];
shared uint s_prefix, s_want, s_bad;  // radix select state; a NaN/Inf seen
shared float cand_v[kCap];  // (candidate) logit, then exp((logit - top) / temperature)
shared uint cand_i[kCap];   // (candidate) token

float logit_at(uint base, uint i, uint n_recent, float penalty) {
  float l = logits[base + i];
  if (n_recent == 0u) return l;
  uint lo = 0u, hi = n_recent;
  while (lo < hi) {
    const uint mid = (lo + hi) >> 1u;
    if (s_recent[mid].x < i) lo = mid + 1u; else hi = mid;
  }
  if (lo < n_recent && s_recent[lo].x == i)
    for (uint c = 0u; c < s_recent[lo].y; ++c) l = l > 0.0 ? l / penalty : l * penalty;
  return l;
}

// Order-preserving bits: a larger float has a larger key (0.0 and -0.0 alike).
uint order_key(float f) {
  const uint b = f == 0.0 ? 0u : floatBitsToUint(f);
  return (b & 0x80000000u) != 0u ? ~b : (b | 0x80000000u);
}

bool before(uint a, uint b) {  // candidate a sorts before b: larger logit, then lower id
  return cand_v[a] > cand_v[b] || (cand_v[a] == cand_v[b] && cand_i[a] < cand_i[b]);
}

// The key of the `want`-th largest logit (1-based), one byte per pass from the
// top; s_want ends as how many logits with exactly that key to take.
uint radix_select(uint base, uint vocab, SampleRow r, uint tid, uint want) {
  if (tid == 0u) {
    s_prefix = 0u;
    s_want = want;
  }
  for (int pass = 3; pass >= 0; --pass) {
    const uint shift = uint(pass) * 8u;
    const uint hi_mask = pass == 3 ? 0u : ~((1u << (shift + 8u)) - 1u);
    for (uint b = tid; b < 256u; b += WG) s_hist[b] = 0u;
    barrier();
    const uint prefix = s_prefix;
    for (uint i = tid; i < vocab; i += WG) {
      const uint k = order_key(logit_at(base, i, r.n_recent, r.repeat_penalty));
      if ((k & hi_mask) == (prefix & hi_mask)) atomicAdd(s_hist[(k >> shift) & 255u], 1u);
    }
    barrier();
    if (tid == 0u) {
      uint above = 0u, d = 255u;
      while (above + s_hist[d] < s_want) above += s_hist[d--];
      s_want -= above;
      s_prefix |= d << shift;
    }
    barrier();
  }
  return s_prefix;
}

void exclusive_scan(uint tid) {
  barrier();
  if (tid == 0u) {
    uint gt = 0u, eq = 0u;
    for (uint t = 0u; t < WG; ++t) {
      const uint g = s_gt[t], e = s_eq[t];
      s_gt[t] = gt;
      s_eq[t] = eq;
      gt += g;
      eq += e;
    }
  }
  barrier();
}

// Candidates: the `n - take` logits above the threshold key, then the
// lowest-id `take` ones equal to it. Contiguous chunks per thread keep ids in
// order, so which equal ones are taken does not depend on timing.
void gather(uint base, uint vocab, SampleRow r, uint tid, uint threshold, uint n, uint take) {
  const uint chunk = (vocab + WG - 1u) / WG;
  const uint b0 = min(tid * chunk, vocab), b1 = min(b0 + chunk, vocab);
  uint gt = 0u, eq = 0u;
  for (uint i = b0; i < b1; ++i) {
    const uint k = order_key(logit_at(base, i, r.n_recent, r.repeat_penalty));
    gt += k > threshold ? 1u : 0u;
    eq += k == threshold ? 1u : 0u;
  }
  s_gt[tid] = gt;
  s_eq[tid] = eq;
  exclusive_scan(tid);
  gt = s_gt[tid];
  eq = s_eq[tid];
  for (uint i = b0; i < b1; ++i) {
    const float l = logit_at(base, i, r.n_recent, r.repeat_penalty);
    const uint k = order_key(l);
    uint at = kCap;
    if (k > threshold) at = gt++;
    else if (k == threshold && eq < take) at = n - take + eq++;
    if (at < kCap) {
      cand_v[at] = l;
      cand_i[at] = i;
    }
  }
}

void bitonic_sort(uint n, uint tid) {
  uint p = 1u;
  while (p < n) p <<= 1u;
  for (uint t = n + tid; t < p; t += WG) {
    cand_v[t] = -1.0 / 0.0;
    cand_i[t] = 0xffffffffu;
  }
  barrier();
  for (uint k = 2u; k <= p; k <<= 1u)
    for (uint j = k >> 1u; j > 0u; j >>= 1u) {
      for (uint t = tid; t < p; t += WG) {
        const uint o = t ^ j;
        if (o > t && (((t & k) == 0u) ? before(o, t) : before(t, o))) {
          const float v = cand_v[t];
          const uint i = cand_i[t];
          cand_v[t] = cand_v[o];
          cand_i[t] = cand_i[o];
          cand_v[o] = v;
          cand_i[o] = i;
        }
      }
      barrier();
    }
}

// Largest (penalised) logit, lowest id on ties, in s_f[0] / s_u[0]; s_bad set
// when a logit is NaN or Inf.
void find_max(uint base, uint vocab, SampleRow r, uint tid) {
  float v = 0.0;
  uint at = 0xffffffffu;
  bool bad = false;
  for (uint i = tid; i < vocab; i += WG) {
    const float raw = logits[base + i];
    if (isnan(raw) || isinf(raw)) bad = true;
    const float l = logit_at(base, i, r.n_recent, r.repeat_penalty);
    if (at == 0xffffffffu || l > v) {
      v = l;
      at = i;
    }
  }
  if (bad) atomicOr(s_bad, 1u);
  s_f[tid] = v;
  s_u[tid] = at;
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s && s_u[tid + s] != 0xffffffffu &&
        (s_u[tid] == 0xffffffffu || s_f[tid + s] > s_f[tid] || (s_f[tid + s] == s_f[tid] && s_u[tid + s] < s_u[tid]))) {
      s_f[tid] = s_f[tid + s];
      s_u[tid] = s_u[tid + s];
    }
    barrier();
  }
}

// Sum over the whole row of exp((logit - top) / temperature), into s_f[0].
void full_sum(uint base, uint vocab, SampleRow r, uint tid, float top) {
  float sum = 0.0;
  for (uint i = tid; i < vocab; i += WG) sum += exp((logit_at(base, i, r.n_recent, r.repeat_penalty) - top) / r.temperature);
  s_f[tid] = sum;
  barrier();
  for (uint s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) s_f[tid] += s_f[tid + s];
    barrier();
  }
}

// The nucleus walk of sampler.cpp over the sorted candidates (thread 0).
uint draw(SampleRow r, uint n_cand, uint keep, float total) {
  float sum = total;
  if (sum < 0.0) {
    sum = 0.0;
    for (uint c = 0u; c < n_cand; ++c) sum += cand_v[c];
  }
  uint n = 0u;
  float cum = 0.0;
  while (n < keep) {
    if (n > 0u) {
      if (!(cum < r.top_p)) break;
      if (n == n_cand) return kPickFallback;  // the next token's p is not known here
      if (!(cand_v[n] / sum >= r.min_p * (cand_v[0] / sum))) break;
    }
    cum += cand_v[n++] / sum;
  }
  float x = r.u * cum;
  for (uint c = 0u; c < n; ++c) {
    const float p = cand_v[c] / sum;
    if (x < p) return cand_i[c];
    x -= p;
  }
  return cand_i[n - 1u];
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const SampleRow r = rows[gl_WorkGroupID.x];
  const uint vocab = pc.vocab, base = r.logit_row * vocab;
  for (uint c = tid; c < r.n_recent; c += WG) s_recent[c] = recent[gl_WorkGroupID.x * pc.max_recent + c];
  if (tid == 0u) s_bad = 0u;
  barrier();
  find_max(base, vocab, r, tid);
  const float top = s_f[0];
  if (s_bad != 0u || r.temperature == 0.0) {
    if (tid == 0u) picks[r.slot] = s_bad != 0u ? kPickNonFinite : s_u[0];
    return;
  }
  const uint keep = r.top_k == 0u ? vocab : min(r.top_k, vocab);
  if (keep > kCap && r.top_k != 0u) {  // a large top-k: the host's
    if (tid == 0u) picks[r.slot] = kPickFallback;
    return;
  }
  const uint n_cand = min(keep, kCap);
  const uint threshold = radix_select(base, vocab, r, tid, n_cand);
  gather(base, vocab, r, tid, threshold, n_cand, s_want);
  bitonic_sort(n_cand, tid);
  float total = -1.0;  // the softmax sum, over the candidates unless some tokens are not among them
  if (keep > n_cand) {
    full_sum(base, vocab, r, tid, top);
    total = s_f[0];
  }
  for (uint c = tid; c < n_cand; c += WG) cand_v[c] = exp((cand_v[c] - top) / r.temperature);
  barrier();
  if (tid == 0u) picks[r.slot] = draw(r, n_cand, keep, total);
}
