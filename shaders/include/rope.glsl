// RoPE of one element from a host-made cos/sin table (angles reduced exactly on
// the host in extended precision, so positions near 1e9 stay exact).
// x(d) reads element d of the unrotated vector; cs is the (cos, sin) of pair p.
#ifndef ROPE_GLSL
#define ROPE_GLSL

// Pair index of element d and its partner, for both pairing conventions.
// Returns false for elements past the rotary dims (they pass through).
bool rope_pair(uint d, uint rot_half, bool neox, out uint pair, out uint partner, out bool first) {
  if (d >= 2u * rot_half) return false;
  if (neox) {
    first = d < rot_half;
    pair = first ? d : d - rot_half;
    partner = first ? d + rot_half : d - rot_half;
  } else {
    first = (d & 1u) == 0u;
    pair = d >> 1u;
    partner = first ? d + 1u : d - 1u;
  }
  return true;
}

float rope_apply(float self, float other, bool first, vec2 cs) {
  // first: y = x0*c - x1*s; second: y = x1*c + x0*s
  return first ? self * cs.x - other * cs.y : self * cs.x + other * cs.y;
}

#endif
