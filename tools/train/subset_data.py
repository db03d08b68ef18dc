"""A smaller copy of prepare_data.py's output: whole books of train.bin, up
to --max-tokens, with the same tokenizer and eval books; optionally skipping
the first books and appending the books of other prepare_data.py outputs.

The device tool carries at most 64 MiB, the checkout included; once the
models/ GGUFs were committed the full train.bin.xz (55 MiB) no longer fits
beside them. Cuts fall on an EOS, so no book is split.

Examples:
  # the first 404 books (49.84M tokens)
  python3 tools/train/subset_data.py --data .trainout/data7 --out .traindata/sub --max-tokens 50000000
  # the other 150 books, then the books of train-07 (tokenized with the same tokenizer)
  python3 tools/train/subset_data.py --data .trainout/data7 --out .traindata/fresh --skip-books 404 \
      --append .trainout/data07
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
    ap.add_argument("--max-tokens", type=int, help="keep whole books of --data up to this many tokens (default: all)")
    ap.add_argument("--skip-books", type=int, default=0, help="leave out the first N books of --data")
    ap.add_argument("--append", nargs="+", default=[],
                    help="prepare_data.py outputs whose train.bin is appended whole (same tokenizer required)")
    args = ap.parse_args()
    src, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stream = np.fromfile(src / "train.bin", dtype=np.uint16)
    ends = np.flatnonzero(stream == EOS_ID)
    if args.skip_books >= len(ends):
        raise SystemExit(f"--skip-books {args.skip_books}: --data has only {len(ends)} books")
    start = int(ends[args.skip_books - 1]) + 1 if args.skip_books else 0
    ends = ends[args.skip_books:]
    if args.max_tokens is not None:
        ends = ends[ends < start + args.max_tokens]
        if not len(ends):
            raise SystemExit("no whole book within --max-tokens")
    parts = [stream[start:int(ends[-1]) + 1]]
    books = len(ends)
    tokenizer = (src / "tokenizer.model").read_bytes()
    appended = []
    for extra in map(Path, args.append):
        if (extra / "tokenizer.model").read_bytes() != tokenizer:
            raise SystemExit(f"{extra}: tokenizer.model differs from {src}'s")
        toks = np.fromfile(extra / "train.bin", dtype=np.uint16)
        if toks[-1] != EOS_ID:
            raise SystemExit(f"{extra}/train.bin does not end with EOS")
        emeta = json.loads((extra / "meta.json").read_text())
        parts.append(toks)
        books += int(np.count_nonzero(toks == EOS_ID))
        appended.append({"shards": emeta["shards"], "books": emeta["books"], "train_tokens": int(toks.size)})
    sub = np.concatenate(parts)
    sub.tofile(out / "train.bin")
    meta = json.loads((src / "meta.json").read_text())
    whole = {"books": meta["books"], "train_tokens": meta["train_tokens"]}
    meta.update(books=books, train_tokens=int(sub.size), subset_of=whole)
    if args.skip_books:
        meta["subset_of"]["skipped_books"] = args.skip_books
    if appended:
        meta["appended"] = appended
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.copy(src / "tokenizer.model", out / "tokenizer.model")
    shutil.copytree(src / "eval", out / "eval", dirs_exist_ok=True)
    print(f"{books} books ({len(ends)} of {whole['books']} from {src}, skipping {args.skip_books}"
          f"{', plus ' + str(len(appended)) + ' appended' if appended else ''}), {sub.size} tokens -> {out}")


if __name__ == "__main__":
    main()
