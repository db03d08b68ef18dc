"""Where a training step's time goes, and what a change to it buys.

Times train.py's step (forward, loss, backward, clip, AdamW/Muon) on random
tokens (speed does not depend on the data, so nothing needs carrying), for
each variant asked for, in one process:
  - inline-rope: train.py before 2026-12-04's change: the model compiled
    alone, its RoPE tables computed inside the compiled forward;
  - model-only: the model compiled alone, with its RoPE tables made once;
  - fused-loss: as train.py now: model and cross-entropy compiled together,
    so the float32 logits (batch x context x vocab) need not be written out.
Prints tokens/s per variant over the timed steps (the ratio is the result)
and, with --profile, the top GPU kernels of the first variant.

  python3 tools/train/profile_step.py --n-heads 24 --n-kv-heads 8 --dropout 0.1 --steps 60
"""
import argparse
import time
from types import SimpleNamespace

import torch

from model import Config, Transformer, rope_tables
from train import (MATRICES, add_config_args, make_optimizers, model_config, step_loss, step_optimizers, sync,
                   training_loss)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(ap)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=60, help="timed steps per variant (after --warm-steps)")
    ap.add_argument("--warm-steps", type=int, default=10, help="untimed steps first (compilation)")
    ap.add_argument("--variants", default="inline-rope,model-only,fused-loss")
    ap.add_argument("--no-compile", action="store_true", help="eager (CPU check; torch < 2 has no compile)")
    ap.add_argument("--profile", action="store_true")
    return ap.parse_args()


def make_step(model, variant, compile_):
    """A function (x, y) -> loss tensor, forward only; backward is the caller's."""
    if variant == "inline-rope":  # the tables computed in every forward, as before
        model.rope = lambda n: rope_tables(torch.arange(n, device=model.rope_cos.device), model.cfg.head_dim,
                                           model.cfg.rope_theta)
    if variant in ("inline-rope", "model-only"):
        fwd = torch.compile(model) if compile_ else model
        return lambda x, y: training_loss(fwd, x, y)
    if variant == "fused-loss":
        return step_loss(model, compile_)
    raise SystemExit(f"unknown variant {variant}")


def run(variant, args, cfg, device):
    torch.manual_seed(0)
    model = Transformer(cfg, args.dropout).to(device)
    opt_args = SimpleNamespace(optimizer="muon", muon_matrices=",".join(MATRICES), muon_after=0, lr=1e-3, wd=0.5)
    opts = make_optimizers(model, opt_args, device)
    loss_of = make_step(model, variant, not args.no_compile)
    gen = torch.Generator(device=device).manual_seed(0)

    def one_step():
        tok = torch.randint(0, cfg.vocab_size, (args.batch, cfg.context + 1), device=device, generator=gen)
        loss = loss_of(tok[:, :-1], tok[:, 1:])
        model.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        step_optimizers(opts, 0, opt_args)
        return loss

    for _ in range(args.warm_steps):
        one_step()
    sync(device)
    t = time.time()
    for _ in range(args.steps):
        loss = one_step()
    sync(device)
    elapsed = time.time() - t
    tok_s = args.steps * args.batch * cfg.context / elapsed
    print(f"{variant:>12}: {tok_s / 1e6:.3f}M tokens/s ({1e3 * elapsed / args.steps:.1f} ms/step), "
          f"last loss {loss.item():.3f}", flush=True)
    if args.profile and variant == args.variants.split(",")[0]:
        profile(one_step, device)
    return tok_s


def profile(one_step, device):
    acts = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=acts) as prof:
        for _ in range(5):
            one_step()
        sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=30, max_name_column_width=70), flush=True)


def main():
    args = parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = model_config(args, Config.vocab_size)
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name() if device.type == 'cuda' else 'CPU'}, "
          f"batch {args.batch} x {cfg.context}, {cfg}", flush=True)
    rates = {v: run(v, args, cfg, device) for v in args.variants.split(",")}
    first = next(iter(rates.values()))
    print("ratios to the first variant: " + ", ".join(f"{v} {r / first:.3f}x" for v, r in rates.items()))


if __name__ == "__main__":
    main()
