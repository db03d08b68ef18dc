"""Tail perplexity of a `sinkstream ppl --compare ... --segment 512 --json` run: the
predictions scored after the first eviction (every 512-token segment after the
first, with a 512-slot cache), pooled, per policy, as issue 7's acceptance and
tools/train/eval_stream.py count them.

  python3 tools/tail_ppl.py RUN.json [LABEL]
where RUN.json may also be a single-policy run; a run with another --segment is refused.
Prints LABEL {policy: (whole-stream ppl, tail ppl, tail tokens)}.
"""
import json, math, sys

SEG = 512  # the segment size, which must also be the cache size for "after the first eviction"
d = json.load(open(sys.argv[1]))
out = {}
for r in d.get("runs", [d]):  # one policy prints one object
    n, segs = r["tokens"], r["segments"]
    if r.get("segment_tokens") != SEG or len(segs) < 2:
        sys.exit(f"{sys.argv[1]}: needs a --segment {SEG} run of more than {SEG} tokens")
    sizes = [min(SEG, n - SEG * i) for i in range(len(segs))]
    tail = sum(s * math.log(p) for s, p in zip(sizes[1:], segs[1:])) / sum(sizes[1:])
    out[r["policy"]] = (round(r["ppl"], 3), round(math.exp(tail), 3), sum(sizes[1:]))
print(sys.argv[2] if len(sys.argv) > 2 else sys.argv[1], out)
