"""Checks Muon (muon.py) and train.py's split of the parameters between Muon
and AdamW. Runs on CPU in seconds: `python3 tools/train/test_muon.py` (or pytest)."""
import argparse

import torch

from model import Config, Transformer
from muon import Muon, newton_schulz5, orthogonalisation_seconds
from train import MATRICES, fitted_steps, load_optimizers, make_optimizers, muon_params, step_optimizers

CFG = dict(vocab_size=64, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=48, context=16)


def test_newton_schulz_orthogonalises():
    # The quintic trades exactness for speed: singular values land near 1
    # (about 0.7..1.2), whatever the input's scale and orientation; only the
    # tiniest of a random matrix's (far below the rest) stay behind.
    torch.manual_seed(0)
    for shape in [(32, 32), (16, 48), (48, 16)]:
        for scale in (1e-3, 1.0, 1e3):
            s = torch.linalg.svdvals(newton_schulz5(torch.randn(shape) * scale))
            assert s.quantile(0.1) > 0.65 and s.max() < 1.2, (shape, scale, s.quantile(0.1).item(), s.max().item())


def test_update_rms():
    # Moonlight's scale: with wd 0, one step moves an r x c matrix by an RMS
    # of about 0.2 * lr whatever its shape.
    torch.manual_seed(0)
    for shape in [(32, 32), (16, 48), (96, 16)]:
        p = torch.nn.Parameter(torch.zeros(shape))
        p.grad = torch.randn(shape)
        Muon([p], lr=0.01).step()
        rms = p.detach().pow(2).mean().sqrt().item()
        assert 0.0015 < rms < 0.0022, (shape, rms)


def fresh(args):
    torch.manual_seed(0)
    model = Transformer(Config(**CFG, learned_sinks=True))
    return model, make_optimizers(model, args, torch.device("cpu"))


def train_steps(model, opts, args, steps):
    """The training loop's update on a fixed toy batch per step."""
    for s in steps:
        torch.manual_seed(100 + s)
        x = torch.randint(0, CFG["vocab_size"], (2, CFG["context"]))
        model.zero_grad(set_to_none=True)
        model(x).logsumexp(-1).mean().backward()
        step_optimizers(opts, s, args)


def resumed(args, stop, end):
    """A model trained to step `stop`, its weights and optimizer state saved and
    restored into a fresh model, then trained on to `end`."""
    second, opts2 = fresh(args)
    train_steps(second, opts2, args, range(stop))
    saved = {k: o.state_dict() for k, o in opts2.items()}
    weights = {k: v.clone() for k, v in second.state_dict().items()}
    third, opts3 = fresh(args)
    third.load_state_dict(weights)
    load_optimizers(opts3, {"args": vars(args), "optimizer": saved["adamw"], "muon": saved.get("muon")}, args)
    train_steps(third, opts3, args, range(stop, end))
    return third


def test_split_and_resume():
    args = argparse.Namespace(optimizer="muon", lr=1e-2, wd=0.5)
    model, opts = fresh(args)
    names = {id(p): n for n, p in model.named_parameters()}

    def split_of(opts):  # (names Muon trains, names AdamW trains): disjoint, all of them
        muon, adamw = ({names[id(p)] for g in opts[k].param_groups for p in g["params"]} for k in ("muon", "adamw"))
        assert muon.isdisjoint(adamw) and muon | adamw == set(names.values())
        return muon

    in_muon = split_of(opts)
    assert in_muon == {n for n in names.values() if n.split(".")[-2] in MATRICES}
    assert len(muon_params(model)) == 7 * CFG["n_layers"]

    # --muon-matrices leaves the others with AdamW.
    part = argparse.Namespace(optimizer="muon", lr=1e-2, wd=0.5, muon_matrices="wv,wo,w1,w2,w3")
    split = make_optimizers(model, part, torch.device("cpu"))
    in_muon = split_of(split)
    assert {n.split(".")[-2] for n in in_muon} == {"wv", "wo", "w1", "w2", "w3"}
    assert all(n.split(".")[-2] in ("wq", "wk") for n in set(names.values()) - in_muon if n.startswith("blocks.") and "norm" not in n and "sink" not in n)
    try:
        make_optimizers(model, argparse.Namespace(optimizer="muon", lr=1e-2, wd=0.5, muon_matrices="wq,wz"),
                        torch.device("cpu"))
        raise AssertionError("an unknown matrix name was accepted")
    except SystemExit as e:
        assert "wz" in str(e)
    # Resuming with another split would hand wk's momentum to wv (same shape).
    try:
        load_optimizers(split, {"args": {"optimizer": "muon"}, "optimizer": {}, "muon": {}}, part)
        raise AssertionError("a checkpoint of another --muon-matrices was resumed")
    except SystemExit as e:
        assert "--muon-matrices wq,wk,wv,wo,w1,w2,w3" in str(e)

    # Five steps, state saved after two and restored into fresh optimizers:
    # the same weights, bit for bit.
    train_steps(model, opts, args, range(5))
    third = resumed(args, 2, 5)
    for (n, a), b in zip(model.state_dict().items(), third.state_dict().values()):
        assert torch.equal(a, b), n


def test_muon_after():
    # --muon-after 3: steps 0-2 are AdamW's alone (the same weights as an
    # AdamW run, bit for bit), Muon takes the matrices from step 3 on (its
    # state appears then), and a run resumed before or after the hand-over
    # equals the uninterrupted one.
    late = argparse.Namespace(optimizer="muon", lr=1e-2, wd=0.5, muon_matrices="wq,wk", muon_after=3)
    plain = argparse.Namespace(optimizer="adamw", lr=1e-2, wd=0.5, muon_after=0)
    model, opts = fresh(late)
    ref, ref_opts = fresh(plain)
    train_steps(model, opts, late, range(3))
    train_steps(ref, ref_opts, plain, range(3))
    assert not opts["muon"].state
    for (n, a), b in zip(model.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(a, b), n
    wq = model.blocks[0].attn.wq.weight
    before_adamw = opts["adamw"].state[wq]["exp_avg"].clone()
    train_steps(model, opts, late, range(3, 6))
    train_steps(ref, ref_opts, plain, range(3, 6))
    assert len(opts["muon"].state) == 2 * CFG["n_layers"]
    assert torch.equal(opts["adamw"].state[wq]["exp_avg"], before_adamw)  # AdamW let go of it
    assert not torch.equal(wq, ref.blocks[0].attn.wq.weight)
    for stop in (2, 4):
        third = resumed(late, stop, 6)
        for (n, a), b in zip(model.state_dict().items(), third.state_dict().values()):
            assert torch.equal(a, b), (stop, n)
    # Another hand-over step changes AdamW's groups: refused on resume.
    other = argparse.Namespace(**{**vars(late), "muon_after": 0})
    try:
        load_optimizers(fresh(other)[1], {"args": vars(late), "optimizer": {}, "muon": {}}, other)
        raise AssertionError("a checkpoint of another --muon-after was resumed")
    except SystemExit as e:
        assert "--muon-after 3" in str(e)
    try:
        fresh(argparse.Namespace(optimizer="adamw", lr=1e-2, wd=0.5, muon_after=3))
        raise AssertionError("--muon-after without Muon was accepted")
    except SystemExit as e:
        assert "--optimizer muon" in str(e)


def test_fit_steps_after_hand_over():
    # --fit-steps measures the speed in warm-up; under --muon-after that is
    # AdamW's speed, so the steps after the hand-over are charged Muon's extra
    # cost. 110 s left = 97 s to fill (10 s and 3% spare); 20 steps/s.
    args = argparse.Namespace(steps=10**6, muon_after=0)
    assert fitted_steps(200, 20.0, 110.0, args) == 200 + 1940
    args.muon_after = 700  # 500 steps (25 s) at 20/s, then 72 s at 1 / (0.05 + 0.01 s)
    assert fitted_steps(200, 20.0, 110.0, args, 0.01) == 200 + 500 + 1200
    assert fitted_steps(200, 20.0, 110.0, args, 0.0) == 200 + 1940
    args.muon_after = 5000  # the budget ends before the hand-over: no charge
    assert fitted_steps(200, 20.0, 110.0, args, 0.01) == 200 + 1940
    args.steps = 1000  # never more than --steps, never fewer than done
    assert fitted_steps(200, 20.0, 110.0, args, 0.01) == 1000
    assert fitted_steps(200, 20.0, 5.0, args, 0.01) == 200


def test_orthogonalisation_timing_touches_nothing():
    # The cost estimate runs on stand-ins: the weights, Muon's state and the
    # global RNG (which the run's dropout draws from) are left as they were.
    args = argparse.Namespace(optimizer="muon", lr=1e-2, wd=0.5, muon_matrices=",".join(MATRICES), muon_after=2)
    model, opts = fresh(args)
    train_steps(model, opts, args, range(3))
    weights = {n: t.clone() for n, t in model.state_dict().items()}
    state = {id(p): s["momentum_buffer"].clone() for p, s in opts["muon"].state.items()}
    rng = torch.get_rng_state()
    seconds = orthogonalisation_seconds(opts["muon"].param_groups[0]["params"])
    assert 0 < seconds < 10, seconds
    assert torch.equal(torch.get_rng_state(), rng)
    for n, t in model.state_dict().items():
        assert torch.equal(t, weights[n]), n
    for p, s in opts["muon"].state.items():
        assert torch.equal(s["momentum_buffer"], state[id(p)])


if __name__ == "__main__":
    test_newton_schulz_orthogonalises()
    test_update_rms()
    test_split_and_resume()
    test_muon_after()
    test_fit_steps_after_hand_over()
    test_orthogonalisation_timing_touches_nothing()
    print("ok")
