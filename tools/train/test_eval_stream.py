"""Checks that eval_stream's parallel cache policies equal real token-by-token
decoding with an evicting KV cache, and that the GGUF writer round-trips.
Runs on CPU in seconds: `python3 tools/train/test_eval_stream.py` (or pytest)."""
import math
import os
import tempfile

import numpy as np
import torch

import gguf
from eval_stream import cached_nll, recompute_nll
from model import Config, Transformer, apply_rope, attention_weights, expand_kv, rope_tables

CFG = dict(vocab_size=64, dim=32, n_layers=3, n_heads=4, n_kv_heads=2, ffn_dim=64, context=16)


def tiny_model(learned_sinks):
    torch.manual_seed(0)
    model = Transformer(Config(**CFG, learned_sinks=learned_sinks)).eval()
    if learned_sinks:
        with torch.no_grad():
            for b in model.blocks:
                b.attn.sinks.normal_()
    return model


def decode_nll(model, stream, n_sink, window):
    """Reference: one token at a time, evicting the oldest unpinned entry when
    the cache is full, keys stored before RoPE and rotated by their cache slot."""
    cfg, L = model.cfg, n_sink + window
    caches = [[] for _ in model.blocks]  # per layer: list of (k, v), each (n_kv, d)
    nll = []
    for t in range(len(stream) - 1):
        x = model.tok_embd(stream[t:t + 1])
        for block, cache in zip(model.blocks, caches):
            q, k, v = block.attn.qkv(block.attn_norm(x)[None])
            if len(cache) == L:
                del cache[n_sink]
            cache.append((k[0, :, 0], v[0, :, 0]))
            n = len(cache)
            cos, sin = rope_tables(torch.arange(n), cfg.head_dim, cfg.rope_theta)
            keys = apply_rope(torch.stack([c[0] for c in cache], 1), cos, sin)
            values = torch.stack([c[1] for c in cache], 1)
            q = apply_rope(q[0], cos[-1:], sin[-1:])
            scores = q @ expand_kv(keys[None], cfg.n_heads)[0].transpose(-1, -2) / math.sqrt(cfg.head_dim)
            probs = attention_weights(scores[None], block.attn.sinks)[0]
            out = (probs @ expand_kv(values[None], cfg.n_heads)[0]).transpose(0, 1).flatten(1)
            x = x + block.attn.wo(out)
            x = x + block.ffn(block.ffn_norm(x))
        logits = model.norm(x) @ model.tok_embd.weight.T
        nll.append(-logits[0].log_softmax(-1)[stream[t + 1]])
    return torch.stack(nll)


def check_policies(learned_sinks):
    model = tiny_model(learned_sinks)
    torch.manual_seed(1)
    streams = torch.randint(3, CFG["vocab_size"], (2, 50))
    streams[:, 0] = 1
    L = CFG["context"]
    with torch.no_grad():
        for n_sink, window in [(4, L - 4), (0, L), (1, L - 1)]:
            fast = cached_nll(model, streams, n_sink, window, chunk=5)
            for b in range(2):
                ref = decode_nll(model, streams[b], n_sink, window)
                assert torch.allclose(fast[b], ref, atol=1e-4), (n_sink, window, (fast[b] - ref).abs().max())
        dense = cached_nll(model, streams, 0, streams.shape[1], chunk=7)
        full = model(streams[:, :-1]).log_softmax(-1)
        ref = -full.gather(-1, streams[:, 1:, None])[..., 0]
        assert torch.allclose(dense, ref, atol=1e-4)
        rec = recompute_nll(model, streams, L, batch=9)
        t = 30  # scored token x[t + 1] from BOS + x[t-L+2..t]
        window_tokens = torch.cat([torch.tensor([1]), streams[0, t - L + 2:t + 1]])
        logp = model(window_tokens[None])[0, -1].log_softmax(-1)
        assert torch.allclose(rec[0, t - L], -logp[streams[0, t + 1]], atol=1e-4)


def test_policies_match_decoding():
    check_policies(learned_sinks=False)


def test_policies_match_decoding_with_learned_sinks():
    check_policies(learned_sinks=True)


def test_gguf_roundtrip():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 64)).astype(np.float32)
    meta = [("general.architecture", gguf.STRING, "llama"), ("x.n", gguf.UINT32, 7),
            ("x.list", gguf.ARRAY, (gguf.INT32, [1, -2, 3]))]
    tensors = [("a", w, gguf.GGML_F16), ("b", w, gguf.GGML_Q8_0), ("c", w[0], gguf.GGML_F32)]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.gguf")
        gguf.write_gguf(path, meta, tensors)
        meta_read, read, types = gguf.read_gguf(path)
    assert meta_read == {"general.architecture": "llama", "x.n": 7, "x.list": [1, -2, 3]}
    assert np.array_equal(read["a"], w.astype(np.float16).astype(np.float32))
    assert np.abs(read["b"] - w).max() <= np.abs(w).max() / 127
    assert np.array_equal(read["c"], w[0]) and types == {"a": 1, "b": 8, "c": 0}


def test_dropout_is_training_only():
    """Residual dropout changes the training forward pass and nothing else: in
    eval mode the model equals one built without it, so exported weights mean
    the same thing with or without it."""
    torch.manual_seed(0)
    plain = Transformer(Config(**CFG)).eval()
    dropped = Transformer(Config(**CFG), dropout=0.5)
    dropped.load_state_dict(plain.state_dict())
    x = torch.randint(0, CFG["vocab_size"], (2, CFG["context"]))
    with torch.no_grad():
        torch.manual_seed(1)
        a = dropped.train()(x)
        torch.manual_seed(2)
        b = dropped(x)
        assert not torch.allclose(a, b) and not torch.allclose(a, plain(x))
        assert torch.equal(dropped.eval()(x), plain(x))


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print(name, "ok")
