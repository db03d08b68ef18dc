"""Train the book model from scratch on a uint16 token stream (prepare_data.py).

Every training sequence is BOS followed by a crop of the stream at a random
offset: real LLMs see BOS first, and a token that is always present at
position 0 is what lets heads learn to park attention there (attention
sinks). Strong weight decay and a high peak learning rate make the sinks
stronger (tools/train/RESULTS.md).

Deterministic given --seed: initial weights come from the seed and the batch
of step s from a generator seeded with (seed, s), so a resumed run sees the
same batches as an uninterrupted one (GPU kernels may still differ in
rounding). --time-budget stops early with a resumable checkpoint, so one
device call stays inside its limit.

--optimizer muon trains the blocks' 2-D matrices (attention q/k/v/o, FFN)
with Muon (muon.py) and the rest (embedding, norms, sink logits) with the
same AdamW groups as --optimizer adamw, both under one lr schedule and --wd.
--muon-after N leaves those matrices on AdamW for the first N steps (while
the sinks form) and hands them to Muon from step N on.

Example:
  python3 tools/train/train.py --data .trainout/data --out .trainout/run --steps 8000
"""
import argparse
import json
import math
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from model import Config, Transformer, save_model
from muon import Muon, orthogonalisation_seconds

BOS_ID = 1
MATRICES = ("wq", "wk", "wv", "wo", "w1", "w2", "w3")  # the blocks' 2-D matrices, as model.py names them


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train.bin and meta.json")
    ap.add_argument("--out", required=True)
    add_config_args(ap)
    ap.add_argument("--steps", type=int, required=True, help="total optimizer steps (sets the schedule)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1, help="the decay ends at lr * this")
    ap.add_argument("--decay", choices=("cosine", "linear"), default="cosine",
                    help="shape of the decay after warm-up (linear with --min-lr-frac 0: 'straight to zero')")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--wd", type=float, default=0.5)
    ap.add_argument("--optimizer", choices=("adamw", "muon"), default="adamw",
                    help="muon: Muon (muon.py) for the blocks' 2-D matrices, AdamW for the rest")
    ap.add_argument("--muon-matrices", default=",".join(MATRICES),
                    help="with --optimizer muon: which of the blocks' matrices Muon trains (the rest: AdamW)")
    ap.add_argument("--muon-after", type=int, default=0,
                    help="with --optimizer muon: the Muon matrices train with AdamW for the first N steps, then "
                         "with Muon (0: Muon from the start)")
    ap.add_argument("--dropout", type=float, default=0.0, help="residual dropout while training (0: none)")
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-budget", type=float, default=float("inf"), help="seconds; stop early and checkpoint")
    ap.add_argument("--fit-steps", action="store_true",
                    help="at the end of warm-up, lower --steps to what the rest of --time-budget fits at the speed "
                         "measured over the second half of warm-up (steps from --muon-after on charged Muon's "
                         "measured extra cost); logged, and --steps N with that N reproduces it")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt")
    ap.add_argument("--init-from", default=None,
                    help="start from a model.pt (save_model's float16 weights, e.g. returned by an earlier "
                         "device call) or a GGUF file (export_gguf.py's, Q8_0 dequantized) with a fresh "
                         "optimizer and schedule: training that spans several calls")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--log-every", type=int, default=100)
    return ap.parse_args()


def add_config_args(ap):
    """--dim, --n-heads, ... : one option per Config field, None unless given."""
    for f in fields(Config):
        kind = (lambda s: s.lower() in ("1", "true", "yes")) if f.type in (bool, "bool") else type(f.default)
        ap.add_argument("--" + f.name.replace("_", "-"), type=kind, default=None)


def model_config(args, vocab_size):
    overrides = {f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name) is not None}
    return Config(**{"vocab_size": vocab_size, **overrides})


def load_init(path, args):
    """{"config", "model"} from a model.pt or a GGUF file. Shape options given
    on the command line must agree with the file's config."""
    if str(path).endswith(".gguf"):
        from export_gguf import load_gguf_model  # (needs sentencepiece; only imported here)
        model = load_gguf_model(path)
        cfg = {k: float(f"{v:.7g}") if isinstance(v, float) else v for k, v in asdict(model.cfg).items()}
        init = {"config": cfg, "model": model.state_dict()}  # (floats were float32 in the file)
    else:
        init = torch.load(path, map_location="cpu")
    def differs(given, stored):  # (GGUF stores floats as float32)
        return not math.isclose(given, stored, rel_tol=1e-6) if isinstance(given, float) else given != stored
    clash = {f.name: (getattr(args, f.name), init["config"][f.name]) for f in fields(Config)
             if getattr(args, f.name) is not None and differs(getattr(args, f.name), init["config"][f.name])}
    if clash:
        raise SystemExit(f"--init-from {path}: options differ from its config (given, file): {clash}")
    return init


def lr_at(step, args):
    """Linear warm-up, then a cosine or linear decay from lr down to
    lr * min_lr_frac at the last step. Runs before --decay had cosine."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    left = 1 - progress if getattr(args, "decay", "cosine") == "linear" else 0.5 * (1 + math.cos(math.pi * progress))
    return args.lr * (args.min_lr_frac + (1 - args.min_lr_frac) * left)


def muon_params(model, names=MATRICES):
    """The blocks' 2-D matrices named in `names` (of MATRICES: attention
    q/k/v/o, FFN), which Muon trains under --optimizer muon. The token
    embedding (also the tied output) is a lookup table, not a linear map on
    hidden states, and stays with AdamW, as do norm gains and sink logits
    (1-D). --muon-matrices can leave some with AdamW: round 8 lost the sinks
    with all seven on Muon, and a sink is made by the query/key geometry."""
    unknown = set(names) - set(MATRICES)
    if unknown:
        raise SystemExit(f"--muon-matrices: unknown {sorted(unknown)}; choose from {','.join(MATRICES)}")
    return [p for name, p in model.named_parameters()
            if name.startswith("blocks.") and p.dim() == 2 and name.split(".")[-2] in names]


def make_optimizers(model, args, device):
    """{"adamw": AdamW} or, with --optimizer muon, {"adamw": AdamW for the
    rest, "muon": Muon for muon_params}. Checkpoints keep AdamW's state under
    "optimizer" either way, so adamw checkpoints read as before. Under
    --muon-after the Muon matrices are also AdamW's last group, which trains
    them until Muon takes over (step_optimizers)."""
    names = tuple(n for n in getattr(args, "muon_matrices", ",".join(MATRICES)).split(",") if n)
    late = getattr(args, "muon_after", 0)
    if late and args.optimizer != "muon":
        raise SystemExit("--muon-after needs --optimizer muon")
    chosen = muon_params(model, names) if args.optimizer == "muon" else []
    by_muon = {id(p) for p in chosen}
    rest = [p for p in model.parameters() if id(p) not in by_muon]
    # Decay matrices and embeddings only; norm gains and sink logits are
    # per-channel scales that weight decay would only pull towards zero.
    decay = [p for p in rest if p.dim() >= 2]
    no_decay = [p for p in rest if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}]
    if late > 0:
        groups.append({"params": chosen, "weight_decay": args.wd})
    fused = {"fused": True} if device.type == "cuda" else {}  # (Debian's CPU torch 1.13 has no fused AdamW)
    opts = {"adamw": torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, **fused)}
    if by_muon:
        opts["muon"] = Muon(chosen, lr=args.lr, weight_decay=args.wd)
    return opts


def step_optimizers(opts, step, args):
    """One update at optimizer step `step` (0-based). Under --muon-after N,
    Muon does not step before N; from N on it steps first and the matrices'
    gradients are then dropped, so AdamW (which skips parameters without a
    gradient) leaves them alone."""
    late = getattr(args, "muon_after", 0)
    if "muon" in opts and step >= late:
        opts["muon"].step()
        if late > 0:
            for p in opts["adamw"].param_groups[-1]["params"]:
                p.grad = None
    opts["adamw"].step()


def get_batch(stream, step, args, context, device):
    """BOS + stream[o : o + context - 1] as input, stream[o : o + context] as
    target, for `batch` offsets drawn from a generator seeded by (seed, step)."""
    gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
    offsets = torch.randint(0, stream.numel() - context, (args.batch,), generator=gen).to(device)
    crops = stream[offsets[:, None] + torch.arange(context, device=device)]
    bos = torch.full((args.batch, 1), BOS_ID, dtype=crops.dtype, device=device)
    return torch.cat([bos, crops[:, :-1]], dim=1), crops


def training_loss(model, x, y):
    """Mean next-token cross-entropy of `model` on (x, y): the forward under
    bf16 autocast on CUDA, the logits in float32 for the loss."""
    with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=x.device.type == "cuda"):
        logits = model(x)
    return F.cross_entropy(logits.float().flatten(0, 1), y.flatten())


def step_loss(model, compile_):
    """(x, y) -> training_loss(model, x, y), with --compile compiled as one
    graph: the loss with the model lets Inductor fuse the float32 logits
    (batch x context x vocab) into the cross-entropy instead of writing them
    out (5-6% of a step on the H200, profile_step.py)."""
    def loss_of(x, y):
        return training_loss(model, x, y)
    return torch.compile(loss_of) if compile_ else loss_of


def fitted_steps(step, rate, remaining_s, args, late_extra_s=0.0):
    """Steps that fit the time left at `rate` steps/s (3% and 10 s spare for
    speed changes and the final save), never more than --steps. Chosen at the
    end of warm-up, where the schedule does not depend on --steps yet, so the
    run equals one started with --steps set to the result. Steps from
    --muon-after on cost `late_extra_s` more each (Muon's orthogonalisation:
    the rate was measured while every matrix was still on AdamW)."""
    if not math.isfinite(remaining_s):
        return args.steps
    budget = max(0.0, remaining_s - 10) * 0.97
    early = max(0, getattr(args, "muon_after", 0) - step)  # steps left at the measured rate
    if early / rate >= budget or late_extra_s <= 0:
        n = int(rate * budget)
    else:
        n = early + int((budget - early / rate) / (1 / rate + late_extra_s))
    return max(step, min(args.steps, step + n))


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def save_checkpoint(model, opts, step, cfg, args, out):
    tmp = out / "ckpt.pt.tmp"
    extra = {"muon": opts["muon"].state_dict()} if "muon" in opts else {}
    torch.save({"config": asdict(cfg), "model": model.state_dict(), "optimizer": opts["adamw"].state_dict(),
                **extra, "step": step, "args": vars(args)}, tmp)
    tmp.replace(out / "ckpt.pt")


def load_optimizers(opts, ckpt, args):
    """Optimizer state from a checkpoint made with the same --optimizer,
    --muon-matrices and --muon-after (checkpoints from before the options
    hold AdamW only)."""
    saved = ckpt.get("args", {})
    for key, before in (("optimizer", "adamw"), ("muon_matrices", ",".join(MATRICES)), ("muon_after", 0)):
        # Optimizer state is matched to parameters by position (wk and wv
        # share a shape, and --muon-after adds an AdamW group): another split
        # would resume silently wrong.
        was, now = saved.get(key, before), getattr(args, key, before)
        if was != now and (key == "optimizer" or args.optimizer == "muon"):
            flag = "--" + key.replace("_", "-")
            raise SystemExit(f"--resume: the checkpoint was trained with {flag} {was}, not {now}")
    opts["adamw"].load_state_dict(ckpt["optimizer"])
    if "muon" in opts:
        opts["muon"].load_state_dict(ckpt["muon"])


def main():
    args = parse_args()
    start = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = True

    meta = json.loads((Path(args.data) / "meta.json").read_text())
    stream = torch.from_numpy(np.fromfile(Path(args.data) / "train.bin", dtype=np.uint16).astype(np.int64)).to(device)
    ckpt = torch.load(out / "ckpt.pt", map_location=device) if args.resume else None
    init = load_init(args.init_from, args) if args.init_from and not ckpt else None
    cfg = Config(**(ckpt or init)["config"]) if (ckpt or init) else model_config(args, meta["vocab_size"])
    torch.manual_seed(args.seed)
    model = Transformer(cfg, args.dropout).to(device)
    if init:
        model.load_state_dict({k: v.float() for k, v in init["model"].items()})
    opts = make_optimizers(model, args, device)
    step = 0
    if ckpt:
        model.load_state_dict(ckpt["model"])
        load_optimizers(opts, ckpt, args)
        step = ckpt["step"]
    n_params = sum(p.numel() for p in model.parameters())
    print(f"config {asdict(cfg)}; {n_params / 1e6:.2f}M parameters; {stream.numel() / 1e6:.1f}M train tokens; "
          f"{args.steps * args.batch * cfg.context / 1e6:.0f}M tokens planned; dropout {args.dropout}; "
          f"optimizer {args.optimizer}" + (f" (Muon from step {args.muon_after})" if args.muon_after else "")
          + f"; from step {step}"
          + (f"; weights from {args.init_from}" if init else ""), flush=True)
    loss_fn = step_loss(model, args.compile)

    log = (out / "train_log.jsonl").open("a")
    t_log, step_log = time.time(), step
    fit_at, fit_from = args.warmup, args.warmup // 2
    t_fit = None
    while step < args.steps:
        if time.time() - start > args.time_budget:
            print(f"time budget reached at step {step}", flush=True)
            break
        for opt in opts.values():
            for group in opt.param_groups:
                group["lr"] = lr_at(step, args)
        x, y = get_batch(stream, step, args, cfg.context, device)
        loss = loss_fn(x, y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.grad_clip)
        step_optimizers(opts, step, args)
        step += 1
        if args.fit_steps and step in (fit_from, fit_at):
            sync(device)
            if step == fit_from:
                t_fit = time.time()
            elif t_fit is not None:
                rate = (fit_at - fit_from) / (time.time() - t_fit)
                muon_later = "muon" in opts and args.muon_after > step  # the rate above is AdamW's
                extra = orthogonalisation_seconds(opts["muon"].param_groups[0]["params"]) if muon_later else 0.0
                args.steps = fitted_steps(step, rate, args.time_budget - (time.time() - start), args, extra)
                rec = {"step": step, "fit_steps": args.steps, "steps_per_s": round(rate, 2)}
                if muon_later:
                    rec["muon_extra_ms_per_step"] = round(extra * 1e3, 2)
                print(json.dumps(rec), flush=True)
                log.write(json.dumps(rec) + "\n")
        if step % args.log_every == 0 or step == args.steps:
            tok_s = (step - step_log) * args.batch * cfg.context / (time.time() - t_log)
            rec = {"step": step, "loss": round(loss.item(), 4), "lr": lr_at(step - 1, args),
                   "tok_per_s": round(tok_s), "elapsed_s": round(time.time() - start, 1)}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            t_log, step_log = time.time(), step
    log.close()
    save_checkpoint(model, opts, step, cfg, args, out)
    save_model(model, out / "model.pt")
    print(f"saved step {step} to {out} after {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
