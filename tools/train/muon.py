"""Muon: momentum SGD whose update is orthogonalised by a Newton-Schulz
iteration, for the 2-D weight matrices of the transformer blocks.

As in Keller Jordan's reference (github.com/KellerJordan/Muon) with the
update scale of Moonlight (Liu et al. 2025, "Muon is Scalable for LLM
Training"): Nesterov momentum 0.95, update = NewtonSchulz5(momentum), scaled
by 0.2 * sqrt(max(rows, cols)) so that its RMS matches AdamW's typical update
and the same peak lr and weight decay serve both; decoupled weight decay
p *= 1 - lr * wd.

A plain torch.optim.Optimizer (state: one momentum buffer per matrix), so
state_dict()/load_state_dict() checkpoint it like AdamW. Eager code only: it
runs on Debian's torch 1.13 (CPU) and on torch 2.x under --compile, which
compiles the model, not the optimizer step.
"""
import math
import time

import torch

NS_COEFFS = (3.4445, -4.7750, 2.0315)  # quintic a, b, c: fast to converge near singular value 1
NS_STEPS = 5


def newton_schulz5(g, steps=NS_STEPS, eps=1e-7):
    """An approximately orthogonal matrix U V^T (singular values in roughly
    0.7..1.2) for g = U S V^T, or for each matrix of a (batch, rows, cols)
    stack. bfloat16 on CUDA, where it is fast and the iteration tolerates the
    rounding; float32 on the CPU, which has no fast bfloat16 matmul. Works on
    the wide orientation so X X^T is the small product."""
    a, b, c = NS_COEFFS
    x = g.to(torch.bfloat16 if g.is_cuda else torch.float32)
    transposed = x.shape[-2] > x.shape[-1]
    if transposed:
        x = x.transpose(-2, -1)
    # spectral norm <= Frobenius norm <= 1, inside the iteration's basin
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + eps)
    for _ in range(steps):
        xxt = x @ x.transpose(-2, -1)
        x = a * x + (b * xxt + c * xxt @ xxt) @ x
    if transposed:
        x = x.transpose(-2, -1)
    return x.to(g.dtype)


def update_scale(shape):
    """Moonlight's 0.2 * sqrt(max(rows, cols)): an orthogonal r x c matrix has
    RMS 1 / sqrt(max(r, c)), so the update's RMS becomes 0.2, near AdamW's."""
    return 0.2 * math.sqrt(max(shape[0], shape[1]))


def orthogonalisation_seconds(params, reps=3):
    """Wall time of one step's Newton-Schulz work for these matrices (batched
    per shape, as Muon.step does), measured on random stand-ins so that no
    parameter or optimizer state is touched: what a Muon step costs beyond an
    AdamW one, for a run that switches over later (train.py --muon-after)."""
    by_shape = {}
    for p in params:
        by_shape[tuple(p.shape)] = by_shape.get(tuple(p.shape), 0) + 1
    gen = torch.Generator(device=params[0].device).manual_seed(0) if params else None
    stacks = [torch.randn((n, *shape), generator=gen, device=params[0].device) for shape, n in by_shape.items()]

    def run(times):
        for _ in range(times):
            for stack in stacks:
                newton_schulz5(stack)
        if params and params[0].is_cuda:
            torch.cuda.synchronize()

    run(1)  # warm-up: first-call allocations and kernel selection
    t = time.perf_counter()
    run(reps)
    return (time.perf_counter() - t) / reps


class Muon(torch.optim.Optimizer):
    """Muon for 2-D parameters only. Groups take lr, weight_decay, momentum,
    nesterov and ns_steps; lr is the un-scaled (AdamW-equivalent) rate, so a
    schedule that sets group["lr"] on every group drives it as it drives AdamW."""

    def __init__(self, params, lr=3e-3, weight_decay=0.0, momentum=0.95, nesterov=True, ns_steps=NS_STEPS):
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov, ns_steps=ns_steps)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(f"Muon takes 2-D matrices only, got shape {tuple(p.shape)}")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, wd, mu = group["lr"], group["weight_decay"], group["momentum"]
            by_shape = {}  # one batched Newton-Schulz per shape: 5 launches, not 5 per matrix
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                buf.mul_(mu).add_(p.grad)
                g = p.grad.add(buf, alpha=mu) if group["nesterov"] else buf
                by_shape.setdefault(tuple(p.shape), []).append((p, g))
            for shape, pairs in by_shape.items():
                updates = newton_schulz5(torch.stack([g for _, g in pairs]), group["ns_steps"])
                for (p, _), update in zip(pairs, updates):
                    p.mul_(1 - lr * wd)
                    p.add_(update, alpha=-lr * update_scale(shape))
        return loss
