"""A smaller copy of prepare_data.py's output: the first whole books of
train.bin, up to --max-tokens, with the same tokenizer and eval books.

The device tool carries at most 64 MiB, the checkout included; once the
models/ GGUFs were committed the full train.bin.xz (55 MiB) no longer fits
beside them. The cut falls on an EOS, so no book is split.

Example:
  python3 tools/train/subset_data.py --data .trainout/data7 --out .traindata/sub --max-tokens 50000000
  xz -9 -k .traindata/sub/train.bin && rm .traindata/sub/train.bin
"""
import argparse
import json
import shutil
from pathlib import Path

import numpy as np

EOS_ID = 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="prepare_data.py output (train.bin, meta.json, eval/)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-tokens", type=int, required=True)
    args = ap.parse_args()
    src, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stream = np.fromfile(src / "train.bin", dtype=np.uint16)
    ends = np.flatnonzero(stream[:args.max_tokens] == EOS_ID)
    if not len(ends):
        raise SystemExit("no whole book within --max-tokens")
    n = int(ends[-1]) + 1
    stream[:n].tofile(out / "train.bin")
    meta = json.loads((src / "meta.json").read_text())
    meta.update(books=len(ends), train_tokens=n, subset_of={"books": meta["books"], "train_tokens": meta["train_tokens"]})
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.copy(src / "tokenizer.model", out / "tokenizer.model")
    shutil.copytree(src / "eval", out / "eval", dirs_exist_ok=True)
    print(f"{len(ends)} of {meta['subset_of']['books']} books, {n} of {len(stream)} tokens -> {out}")


if __name__ == "__main__":
    main()
