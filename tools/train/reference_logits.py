"""Reference logits for the cross-framework check: the training code's own
forward pass, in float32 on the CPU, over the weights of a GGUF file (Q8_0
dequantized), so a GGUF runtime given the same tokens should match it to
rounding.

Writes OUT.json (tokens, shape, top-5 per position) and OUT.f32 (raw
little-endian float32 logits, shape [n_tokens, vocab], row-major).

Example:
  python3 tools/train/reference_logits.py --model models/sinkstream-books-14m.gguf \
      --tokenizer models/sinkstream-books-tokenizer.model --text "It was a dark night." --out /tmp/ref
"""
import argparse
import json

import numpy as np
import sentencepiece as spm
import torch

from export_gguf import load_gguf_model

if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
    # Debian bookworm's torch 1.13 predates it: the plain causal softmax(QK^T/sqrt(d))V.
    def _sdpa(q, k, v, is_causal=True):
        scores = (q @ k.transpose(-2, -1)) / q.shape[-1] ** 0.5
        n, m = scores.shape[-2:]
        mask = torch.ones(n, m, dtype=torch.bool).tril(m - n)
        return scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v

    torch.nn.functional.scaled_dot_product_attention = _sdpa

BOS_ID = 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--tokenizer", required=True, help="SentencePiece model of the GGUF's vocabulary")
    ap.add_argument("--text", required=True)
    ap.add_argument("--out", required=True, help="output path without extension")
    args = ap.parse_args()

    model = load_gguf_model(args.model)
    tokens = [BOS_ID] + spm.SentencePieceProcessor(model_file=args.tokenizer).encode(args.text)
    assert len(tokens) <= model.cfg.context, "keep the check within the training context"
    with torch.no_grad():
        logits = model(torch.tensor([tokens]))[0].numpy().astype("<f4")
    logits.tofile(args.out + ".f32")
    top5 = np.argsort(-logits, axis=-1)[:, :5]
    report = {"model": args.model, "tokens": tokens, "shape": list(logits.shape), "logits_file": args.out + ".f32",
              "top5": [[[int(i), float(logits[p, i])] for i in row] for p, row in enumerate(top5)]}
    with open(args.out + ".json", "w") as f:
        json.dump(report, f, indent=1)
    print(f"{len(tokens)} tokens -> {args.out}.f32 {logits.shape}; next after the text: {top5[-1].tolist()}")


if __name__ == "__main__":
    main()
