"""Cross-framework check: compares sinkstream's logits (`sinkstream logits
--out GOT.f32`) with the training code's own PyTorch forward pass
(`reference_logits.py --out REF`, which writes REF.json and REF.f32) for the
same tokens. Prints one JSON line; exits 1 when the largest absolute
difference exceeds --tol or the greedy (top-1) choices differ where the
reference's top-2 margin exceeds 2 * tol.

Example:
  python3 tools/train/compare_logits.py --ref /tmp/ref --got /tmp/got.f32 --tol 2e-3
"""
import argparse
import json
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", required=True, help="reference_logits.py output path without extension")
    ap.add_argument("--got", required=True, help="sinkstream logits file (float32, tokens x vocab)")
    ap.add_argument("--tol", type=float, default=2e-3, help="largest allowed absolute logit difference")
    args = ap.parse_args()

    with open(args.ref + ".json") as f:
        meta = json.load(f)
    n, vocab = meta["shape"]
    ref = np.fromfile(args.ref + ".f32", dtype="<f4").reshape(n, vocab)
    got = np.fromfile(args.got, dtype="<f4")
    if got.size != ref.size:
        sys.exit(f"{args.got}: {got.size} floats, the reference has {n} x {vocab}")
    got = got.reshape(n, vocab)
    diff = np.abs(got.astype(np.float64) - ref)
    top2 = np.sort(ref, axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * args.tol
    agree = np.argmax(got, axis=1) == np.argmax(ref, axis=1)
    report = {
        "tokens": int(n),
        "vocab": int(vocab),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "logit_range": [float(ref.min()), float(ref.max())],
        "top1_agree": int(agree.sum()),
        "top1_agree_where_clear": f"{int(agree[clear].sum())}/{int(clear.sum())}",
        "tol": args.tol,
    }
    report["pass"] = bool(report["max_abs_diff"] <= args.tol and agree[clear].all())
    print(json.dumps(report))
    sys.exit(0 if report["pass"] else 1)


if __name__ == "__main__":
    main()
