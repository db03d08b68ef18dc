"""Streaming perplexity and attention-sink metric of a trained model, in PyTorch.

Each held-out book is one stream, BOS then its first --tokens tokens, scored
under the cache policies of StreamingLLM. The cache holds L = sinks + window
tokens (default 4 + (context - 4)); token x[t] is scored given the cache that
holds x[t-1] and what came before it:

  sinks      KV cache of the first `sinks` tokens plus the most recent
             `window`; positions are re-assigned within the cache (0..L-1), so
             the newest token always sits at L-1 once eviction has started
  window     the same with no pinned tokens: the most recent L tokens
  recompute  every token scored from scratch on BOS + the L-1 tokens before it
             (no cache: each window is a fresh forward pass)
  dense      the whole stream in the cache at positions 0..T-1, far past the
             training context

sinks and window are computed exactly as token-by-token decoding would (keys
kept before RoPE and rotated by their cache position at every step), but in
parallel: a cached token's states depend only on the cache when it was
added, so each layer can be evaluated over the whole stream with a banded
mask, the pinned tokens rotated as if at positions 0..sinks-1 against a query
at L-1. The tail (tokens scored after the first eviction, t > L) is where the
policies differ; before it they all equal dense.

The sink metric is the mean attention each head pays to the first token
(BOS) over queries at positions >= 16 of BOS-led windows of `context` tokens;
a head "has a sink" if that exceeds 0.3.

Example:
  python3 tools/train/eval_stream.py --model .trainout/run/model.pt \
      --data .trainout/data --out .trainout/run/eval.json
"""
import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from export_gguf import load_gguf_model
from model import apply_rope, attention_weights, expand_kv, load_model, rope_tables

BOS_ID = 1
POLICIES = ("sinks", "window", "recompute", "dense")


def chunk_attention(q, k, v, sinks, c0, c1, n_sink, window, theta):
    """Attention output and weights for queries c0..c1-1 of a stream whose
    cache holds n_sink pinned + `window` recent tokens (q, k, v before RoPE).
    The chunk must lie wholly before or wholly after the first eviction."""
    L = n_sink + window
    evicting = c0 >= L
    b0 = c0 - window + 1 if evicting else 0  # oldest key any query here sees
    dev, hd = q.device, q.shape[-1]
    t = torch.arange(c0, c1, device=dev)
    j = torch.arange(b0, c1, device=dev)
    allowed = j[None, :] <= t[:, None]
    if evicting:
        allowed &= j[None, :] > t[:, None] - window
    # Only distances matter to RoPE: positions counted from b0 keep them and
    # stay small. Before eviction b0 = 0, i.e. the true positions.
    q_rot = apply_rope(q[:, :, c0:c1], *rope_tables(t - b0, hd, theta))
    k_rot = apply_rope(k[:, :, b0:c1], *rope_tables(j - b0, hd, theta))
    H = q.shape[1]
    scores = (q_rot @ expand_kv(k_rot, H).transpose(-1, -2)) / math.sqrt(hd)
    scores = scores.masked_fill(~allowed, float("-inf"))
    values = expand_kv(v[:, :, b0:c1], H)
    if evicting and n_sink:
        # Pinned tokens sit at cache positions 0..n_sink-1, the query at L-1.
        q_last = apply_rope(q[:, :, c0:c1], *rope_tables(torch.full_like(t, L - 1), hd, theta))
        k_pin = apply_rope(k[:, :, :n_sink], *rope_tables(torch.arange(n_sink, device=dev), hd, theta))
        pin_scores = (q_last @ expand_kv(k_pin, H).transpose(-1, -2)) / math.sqrt(hd)
        scores = torch.cat([pin_scores, scores], dim=-1)
        values = torch.cat([expand_kv(v[:, :, :n_sink], H), values], dim=2)
    probs = attention_weights(scores, sinks)
    return probs.type_as(values) @ values, probs


def cached_attention(n_sink, window, theta, chunk):
    """An attention function for Transformer.forward running the whole stream
    under a cache of n_sink pinned + `window` recent tokens."""
    def attention(q, k, v, sinks):
        T, L = q.shape[2], n_sink + window
        starts = sorted(set(range(0, min(T, L), chunk)) | set(range(L, T, chunk)))
        ends = starts[1:] + [T]
        return torch.cat([chunk_attention(q, k, v, sinks, c0, c1, n_sink, window, theta)[0]
                          for c0, c1 in zip(starts, ends)], dim=2)
    return attention


def token_nll(logits, targets):
    return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), reduction="none").view(targets.shape)


def cached_nll(model, streams, n_sink, window, chunk):
    """NLL (B, T-1) of x[1:] under a cache of n_sink + window tokens."""
    attention = cached_attention(n_sink, window, model.cfg.rope_theta, chunk)
    return token_nll(model(streams[:, :-1], attention), streams[:, 1:])


def recompute_nll(model, streams, L, batch):
    """NLL (B, T-1-L) of x[L+1:], each from a fresh pass over BOS + x[t-L+2..t]."""
    windows = streams[:, 2:-1].unfold(1, L - 1, 1)  # (B, T-L-1, L-1): x[s..s+L-2], s = t-L+2
    targets = streams[:, L + 1:]
    flat_windows, flat_targets = windows.flatten(0, 1), targets.flatten()
    nll = []
    for i in range(0, flat_windows.shape[0], batch):
        w = flat_windows[i:i + batch]
        bos = torch.full((w.shape[0], 1), BOS_ID, dtype=w.dtype, device=w.device)
        last = model(torch.cat([bos, w], dim=1))[:, -1]
        nll.append(F.cross_entropy(last.float(), flat_targets[i:i + batch], reduction="none"))
    return torch.cat(nll).view(targets.shape)


def sink_metric(model, books, context, per_book, min_query=16):
    """Per layer and head: mean attention on the first token (BOS) and, for
    learned-sink models, mean probability given to the sink logit."""
    windows = []
    for toks in books:
        for o in np.linspace(0, len(toks) - context, per_book, dtype=np.int64):
            windows.append(torch.cat([torch.tensor([BOS_ID]), torch.from_numpy(toks[o:o + context - 1])]))
    tokens = torch.stack(windows).to(next(model.parameters()).device)
    first, sink_mass = [], []

    def recording_attention(q, k, v, sinks):
        out, probs = chunk_attention(q, k, v, sinks, 0, q.shape[2], 0, q.shape[2], model.cfg.rope_theta)
        first.append(probs[:, :, min_query:, 0].mean((0, 2)).tolist())
        sink_mass.append((1 - probs.sum(-1))[:, :, min_query:].mean((0, 2)).tolist())
        return out

    model(tokens, recording_attention)
    above = [a > 0.3 for layer in first[1:] for a in layer]
    result = {"first_token_attention": first, "layer_mean": [float(np.mean(layer)) for layer in first],
              "frac_heads_above_0.3_past_layer0": sum(above) / len(above)}
    if model.cfg.learned_sinks:
        result["learned_sink_mass"] = sink_mass
        result["learned_sink_logits"] = [b.attn.sinks.tolist() for b in model.blocks]
    return result


def ppl(nll):
    return float(torch.exp(nll.mean()))


def score(policy, model, streams, L, args):
    """(NLL of x[1..L] or None, NLL of the tail x[L+1:]) under `policy`."""
    if policy == "recompute":
        return None, recompute_nll(model, streams, L, args.batch)
    n_sink, window = {"sinks": (args.sinks, L - args.sinks), "window": (0, L),
                      "dense": (0, streams.shape[1])}[policy]
    nll = cached_nll(model, streams, n_sink, window, args.chunk)
    return nll[:, :L], nll[:, L:]


def summarize(heads, tails, L, segment, names):
    """Perplexity before eviction, and per policy over the tail: all books,
    per book, per segment."""
    n_tail = next(iter(tails.values())).shape[1]
    head = next((h for h in heads.values() if h is not None), None)
    return {
        "tail_tokens_per_book": n_tail,
        "before_eviction_ppl": None if head is None else ppl(head),
        "tail_ppl": {p: ppl(t) for p, t in tails.items()},
        "per_book_tail_ppl": {name: {p: ppl(t[i]) for p, t in tails.items()} for i, name in enumerate(names)},
        "segments": [{"from_token": L + 1 + s, **{p: ppl(t[:, s:s + segment]) for p, t in tails.items()}}
                     for s in range(0, n_tail, segment)],
    }


def load_books(data_dir, names):
    eval_dir = Path(data_dir) / "eval"
    names = names or sorted(p.stem for p in eval_dir.glob("*.bin"))
    return names, [np.fromfile(eval_dir / f"{n}.bin", dtype=np.uint16).astype(np.int64) for n in names]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model.pt from train.py, or a GGUF from export_gguf.py")
    ap.add_argument("--data", required=True, help="prepare_data.py output (eval/*.bin)")
    ap.add_argument("--out", required=True, help="JSON report")
    ap.add_argument("--books", nargs="*", help="eval book names (default: all)")
    ap.add_argument("--tokens", type=int, default=24576, help="tokens per book stream, BOS included")
    ap.add_argument("--sinks", type=int, default=4, help="pinned tokens of the 'sinks' policy")
    ap.add_argument("--cache", type=int, help="cache size L (default: training context)")
    ap.add_argument("--segment", type=int, default=2048)
    ap.add_argument("--chunk", type=int, default=512, help="queries per attention chunk")
    ap.add_argument("--batch", type=int, default=256, help="windows per recompute pass")
    ap.add_argument("--policies", nargs="+", choices=POLICIES, default=list(POLICIES))
    ap.add_argument("--sink-windows", type=int, default=8, help="windows per book for the sink metric")
    args = ap.parse_args()

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = (load_gguf_model(args.model) if args.model.endswith(".gguf") else load_model(args.model)).to(device)
    L = args.cache or model.cfg.context
    names, books = load_books(args.data, args.books)
    streams = torch.stack([torch.cat([torch.tensor([BOS_ID]), torch.from_numpy(b[:args.tokens - 1])])
                           for b in books]).to(device)
    T = streams.shape[1]
    # bf16 on the GPU as in training, for every policy alike; float32 on CPU.
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        scored = {p: score(p, model, streams, L, args) for p in args.policies}
        metric = sink_metric(model, books, model.cfg.context, args.sink_windows)
    heads = {p: h for p, (h, _) in scored.items()}
    tails = {p: t for p, (_, t) in scored.items()}
    report = {"model": args.model, "config": vars(model.cfg), "books": names, "stream_tokens": T, "cache": L,
              "n_sinks": args.sinks, **summarize(heads, tails, L, args.segment, names), "sink_metric": metric}
    Path(args.out).write_text(json.dumps(report, indent=1))
    print_report(report)


def print_report(r):
    m = r["sink_metric"]
    print(f"sink metric: BOS attention per layer {[round(a, 2) for a in m['layer_mean']]}, "
          f"heads > 0.3 past layer 0: {m['frac_heads_above_0.3_past_layer0']:.0%}")
    print(f"{len(r['books'])} books x {r['tail_tokens_per_book']} tail tokens, cache {r['cache']}, "
          f"before eviction ppl {r['before_eviction_ppl']}")
    print("tail ppl: " + "  ".join(f"{p} {v:.2f}" for p, v in r["tail_ppl"].items()))
    for s in r["segments"]:
        print(f"  from {s['from_token']:6d}: " + "  ".join(f"{p} {v:8.2f}" for p, v in s.items() if p != "from_token"))


if __name__ == "__main__":
    main()
