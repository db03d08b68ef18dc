"""Where a model's sink heads put their attention once BOS is evicted.

One held-out book, BOS + its first 1,279 tokens. For the queries 768..1279
(well after the first eviction), every head's attention is taken under the
'sinks' policy (4 pinned + 508 recent) and under 'window' (512 recent, no
BOS). Printed per layer and head: the mass on BOS under sinks / the largest
mass on one key under window. For the heads with more than 0.3 on BOS, the
tokens that take their mass under window are summed by token id (mean over
queries, summed over those heads).

Example:
  python3 tools/train/window_mass.py --model .trainout/main14m/model.pt --data .traindata
"""
import argparse
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch

from eval_stream import BOS_ID, chunk_attention
from export_gguf import load_gguf_model
from model import load_model

T, L, Q0, N_SINK = 1280, 512, 768, 4


def attention_probs(model, stream, n_sink):
    """Per layer, attention probs (H, T - Q0, keys) of queries Q0..T-1."""
    probs = []

    def attention(q, k, v, sinks):
        outs = []
        for c0, c1 in [(0, L), (L, Q0), (Q0, T)]:
            o, p = chunk_attention(q, k, v, sinks, c0, c1, n_sink, L - n_sink, model.cfg.rope_theta)
            outs.append(o)
            if c0 == Q0:
                probs.append(p[0])
        return torch.cat(outs, 2)

    with torch.no_grad():
        model(stream, attention)
    return probs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="folder with tokenizer.model and eval/*.bin")
    ap.add_argument("--book", default="pg284-house-of-mirth")
    args = ap.parse_args()
    sp = spm.SentencePieceProcessor(model_file=str(Path(args.data) / "tokenizer.model"))
    model = load_gguf_model(args.model) if args.model.endswith(".gguf") else load_model(args.model)
    toks = np.fromfile(Path(args.data) / "eval" / f"{args.book}.bin", dtype=np.uint16).astype(np.int64)
    stream = torch.cat([torch.tensor([BOS_ID]), torch.from_numpy(toks[:T - 1])])[None]
    sinks, window = attention_probs(model, stream, N_SINK), attention_probs(model, stream, 0)
    b0 = Q0 - L + 1  # first key of the window-policy chunk
    by_token = torch.zeros(model.cfg.vocab_size)
    for layer, (ps, pw) in enumerate(zip(sinks, window)):
        bos, top = ps[:, :, 0].mean(1), pw.max(-1).values.mean(1)
        print(f"layer {layer}: BOS (sinks) / top key (window): "
              + " ".join(f"{b:.2f}/{t:.2f}" for b, t in zip(bos.tolist(), top.tolist())))
        for h in torch.nonzero(bos > 0.3).flatten().tolist():
            for qi in range(pw.shape[1]):
                lo, hi = qi, qi + L  # keys t-L+1..t of query t = Q0 + qi, relative to b0
                by_token.index_add_(0, stream[0, b0 + lo:b0 + hi], pw[h, qi, lo:hi] / pw.shape[1])
    heads = sum(int((ps[:, :, 0].mean(1) > 0.3).sum()) for ps in sinks)
    top = torch.argsort(by_token, descending=True)[:12].tolist()
    print(f"{heads} heads > 0.3 on BOS; under window their mass goes to (token, summed mean mass): "
          + ", ".join(f"{sp.id_to_piece(i)!r} {by_token[i]:.2f}" for i in top))


if __name__ == "__main__":
    main()
