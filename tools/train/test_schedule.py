"""Checks train.py's learning-rate schedule (lr_at): linear warm-up, then a
cosine or linear decay to lr * --min-lr-frac at the last step. CPU, instant:
`python3 tools/train/test_schedule.py` (or pytest)."""
import argparse
import math

from train import lr_at


def schedule(decay, min_lr_frac, steps=1000, warmup=100, lr=1e-2):
    args = argparse.Namespace(lr=lr, warmup=warmup, steps=steps, min_lr_frac=min_lr_frac, decay=decay)
    return [lr_at(s, args) for s in range(steps + 1)]


def test_warm_up_is_linear_and_shared():
    for decay in ("cosine", "linear"):
        lrs = schedule(decay, 0.1)
        assert math.isclose(lrs[0], 1e-4) and math.isclose(lrs[49], 5e-3) and math.isclose(lrs[100], 1e-2)


def test_cosine_is_the_default_and_ends_at_the_floor():
    # Runs made before --decay existed have no such option: they read as cosine.
    old = argparse.Namespace(lr=1e-2, warmup=100, steps=1000, min_lr_frac=0.1)
    lrs = schedule("cosine", 0.1)
    assert [lr_at(s, old) for s in range(1001)] == lrs
    assert math.isclose(lrs[550], 1e-2 * (0.1 + 0.9 * 0.5))  # half-way: half of the way down
    assert math.isclose(lrs[1000], 1e-3)


def test_linear_to_zero():
    lrs = schedule("linear", 0.0)
    assert math.isclose(lrs[550], 5e-3) and math.isclose(lrs[775], 2.5e-3)
    assert lrs[1000] == 0.0 and lrs[999] > 0.0
    assert all(a > b for a, b in zip(lrs[100:1000], lrs[101:1001]))  # strictly down after warm-up


if __name__ == "__main__":
    test_warm_up_is_linear_and_shared()
    test_cosine_is_the_default_and_ends_at_the_floor()
    test_linear_to_zero()
    print("ok")
