"""Tail perplexity of a `sinkstream ppl --compare ... --segment 512 --json` run: the
predictions scored after the first eviction (every 512-token segment after the
first, with a 512-slot cache), pooled, per policy, as issue 7's acceptance and
tools/train/eval_stream.py count them.

  python3 tools/tail_ppl.py RUN.json [LABEL]
Prints LABEL {policy: (whole-stream ppl, tail ppl, tail tokens)}.
"""
import json, math, sys
d = json.load(open(sys.argv[1]))
out = {}
for r in d["runs"]:
    n, segs = r["tokens"], r["segments"]
    sizes = [min(512, n - 512 * i) for i in range(len(segs))]
    tail = sum(s * math.log(p) for s, p in zip(sizes[1:], segs[1:])) / sum(sizes[1:])
    out[r["policy"]] = (round(r["ppl"], 3), round(math.exp(tail), 3), sum(sizes[1:]))
print(sys.argv[2] if len(sys.argv) > 2 else sys.argv[1], out)
