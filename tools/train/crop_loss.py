"""Mean next-token loss of models on random BOS-led crops of several token
files: which parts of the data a model has fitted and which it has not
(training books against held-out ones, before and after a continuation).

Each part is NAME=PATH[:START:END]: a uint16 token file (train.bin) and
optionally a token range of it, or NAME=DIR for a folder of .bin files
(eval/), joined in name order. From each part, --crops offsets are drawn
with numpy's default_rng(--seed); each crop is BOS + 511 tokens, scored on
all 512 predictions, as train.py scores a batch. The same crops go to
every model. Models: model.pt (float16 weights) or GGUF.

Example (RESULTS.md, fresh14m):
  python3 tools/train/crop_loss.py --crops 16 \
      --models main14m=.trainout/main14m/model.pt fresh14m=.trainout/fresh14m/model.pt \
      --parts sub=.trainout/data7/train.bin:0:49844668 tail150=.trainout/data7/train.bin:49844668: \
              train07=.trainout/data07/train.bin eval=.traindata/fresh/eval
"""
import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from model import load_model

BOS_ID = 1


def read_part(spec):
    name, _, where = spec.partition("=")
    path, *rng = where.split(":")
    path = Path(path)
    if path.is_dir():
        toks = np.concatenate([np.fromfile(p, dtype=np.uint16) for p in sorted(path.glob("*.bin"))])
    else:
        toks = np.fromfile(path, dtype=np.uint16)
    if rng:
        start, end = (int(x) if x else None for x in rng)
        toks = toks[start:end]
    return name, toks


def load_any(path):
    if str(path).endswith(".gguf"):
        from export_gguf import load_gguf_model  # (needs sentencepiece)
        return load_gguf_model(path)
    return load_model(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", required=True, help="NAME=model.pt or NAME=file.gguf")
    ap.add_argument("--parts", nargs="+", required=True, help="NAME=train.bin[:START:END] or NAME=DIR")
    ap.add_argument("--crops", type=int, default=16)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--out", help="write the losses here as JSON")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    crops = {}
    for spec in args.parts:
        name, toks = read_part(spec)
        offsets = rng.integers(0, len(toks) - args.context, args.crops)
        crops[name] = torch.from_numpy(np.stack([toks[o:o + args.context].astype(np.int64) for o in offsets]))
    result = {}
    for spec in args.models:
        mname, _, path = spec.partition("=")
        model = load_any(path)
        for name, x in crops.items():
            inp = torch.cat([torch.full((len(x), 1), BOS_ID, dtype=torch.long), x[:, :-1]], 1)
            with torch.no_grad():
                logits = model(inp)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), x.reshape(-1)).item()
            result.setdefault(mname, {})[name] = {"loss": loss, "ppl": math.exp(loss)}
            print(f"{mname:12s} {name:12s} loss {loss:.4f}  ppl {math.exp(loss):.2f}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"crops": args.crops, "seed": args.seed, "parts": args.parts,
                                              "models": args.models, "loss": result}, indent=1))


if __name__ == "__main__":
    main()
