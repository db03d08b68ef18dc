#!/usr/bin/env python3
"""Each model family against Hugging Face transformers itself (issue 29).

For every family: a tiny randomly initialised model built by transformers from a
config with the family's real structure (no download), saved as safetensors,
converted to GGUF by sinkstream-convert, run by `sinkstream logits`, and its
logits compared with transformers' in float32:
  - dense: the window holds the whole sequence, so transformers' own forward
    pass is the reference;
  - stream: sinks + a window shorter than the sequence, past the eviction point.
    transformers has no such cache, so this script runs the family's own modules
    (norms, projections, MLP, its rotary embedding) token by token with that
    cache policy: per layer the first `sinks` tokens and the newest `window`,
    at positions within the cache (sinks 0..S-1, the window after them in age
    order), which is what sinkstream computes (README, "The cache and its
    positions"). The loop is first checked against transformers' forward pass
    with a window that holds everything.

Writes, per family, under --out: model.gguf, ids.txt, dense.f32, stream.f32
(transformers' logits, (tokens, vocab) little-endian float32) and a summary
JSON on stdout. --commit copies those files into tests/data/families/ for the
lavapipe test (tests/test_families.cpp).

Run on the device tool (PyTorch + transformers are there):
  python3 tools/hf/compare_transformers.py --convert build/tools/sinkstream-convert \
      --cli build/apps/sinkstream/sinkstream --out $OUT/families
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM

TOKENS, SINKS, WINDOW, VOCAB = 64, 4, 20, 288


def family_configs():
    common = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=4,
                  num_key_value_heads=2, vocab_size=VOCAB, max_position_embeddings=256, rms_norm_eps=1e-5)
    out = {
        "llama": transformers.LlamaConfig(rope_theta=10000.0, tie_word_embeddings=False, **common),
        "qwen2": transformers.Qwen2Config(rope_theta=1000000.0, tie_word_embeddings=False,
                                          use_sliding_window=False, **common),
    }
    # LongRoPE with its short factors (the cache, 4 + 64 slots, is under the
    # original context of 128) and the attention factor of 256 / 128.
    half = 64 // 4 // 2
    out["phi3"] = transformers.Phi3Config(
        rope_theta=10000.0, tie_word_embeddings=False, original_max_position_embeddings=128,
        rope_scaling={"type": "longrope", "short_factor": [1.0 + 0.15 * i for i in range(half)],
                      "long_factor": [2.0 + 0.5 * i for i in range(half)]},
        sliding_window=None, pad_token_id=0, bos_token_id=1, eos_token_id=2, **common)
    if hasattr(transformers, "Gemma3TextConfig"):
        # Layers 0 and 1 slide over 8 tokens (RoPE base 10000), layer 2 is global
        # (10^6, linear scaling 2); a softmax scale that is not 1/sqrt(head_dim).
        g = dict(common, head_dim=32, rms_norm_eps=1e-6)
        out["gemma3"] = transformers.Gemma3TextConfig(
            rope_theta=1000000.0, rope_local_base_freq=10000.0, sliding_window=8,
            layer_types=["sliding_attention", "sliding_attention", "full_attention"],
            rope_scaling={"rope_type": "linear", "factor": 2.0}, query_pre_attn_scalar=24,
            final_logit_softcapping=None, attn_logit_softcapping=None, tie_word_embeddings=True,
            hidden_activation="gelu_pytorch_tanh", **g)
    if hasattr(transformers, "Gemma2Config"):
        # Layers 0 and 2 slide over 8 tokens; soft-caps low enough to bite on a random model.
        out["gemma2"] = transformers.Gemma2Config(
            rope_theta=10000.0, sliding_window=8, query_pre_attn_scalar=24, attn_logit_softcapping=2.0,
            final_logit_softcapping=3.0, tie_word_embeddings=True, hidden_activation="gelu_pytorch_tanh",
            **dict(common, head_dim=32, rms_norm_eps=1e-6))
    if hasattr(transformers, "Qwen3Config"):
        out["qwen3"] = transformers.Qwen3Config(rope_theta=1000000.0, tie_word_embeddings=True, head_dim=32,
                                                use_sliding_window=False, **common)
    if hasattr(transformers, "GptOssConfig"):
        # Layers 0 and 2 slide over 8 tokens; 8 experts of 64, 2 per token; learned
        # sinks; YaRN x4 over 32 tokens, not truncated (as gpt-oss's own config).
        out["gpt_oss"] = transformers.GptOssConfig(
            rope_theta=10000.0, sliding_window=8, num_local_experts=8, num_experts_per_tok=2, head_dim=16,
            layer_types=["sliding_attention", "full_attention", "sliding_attention"], attention_bias=True,
            rope_scaling={"rope_type": "yarn", "factor": 4.0, "beta_fast": 32.0, "beta_slow": 1.0,
                          "truncate": False, "original_max_position_embeddings": 32},
            tie_word_embeddings=False, **dict(common, intermediate_size=64))
    return out


def random_model(cfg, seed):
    """Weights of a useful scale: matrices U(+-sqrt(3/fan_in)), norms U(0.8, 1.2), biases U(+-0.5)."""
    torch.manual_seed(seed)
    try:
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32, attn_implementation="eager")
    except TypeError:  # transformers 4: torch_dtype
        model = AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32, attn_implementation="eager")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                a = (3.0 / p.shape[1]) ** 0.5
                p.uniform_(-a, a)
            elif p.dim() == 3:  # gpt-oss's experts, (expert, fan_in, fan_out): x @ W
                a = (3.0 / p.shape[1]) ** 0.5
                p.uniform_(-a, a)
            elif "norm" in name:  # Gemma multiplies by 1 + w
                p.uniform_(-0.2, 0.2) if cfg.model_type.startswith("gemma") else p.uniform_(0.8, 1.2)
            else:
                p.uniform_(-0.5, 0.5)
    return model.eval()


def rotate(x, cos, sin):
    """RoPE as transformers applies it (rotate_half), x (1, heads, n, head_dim), cos/sin (1, n, head_dim)."""
    half = x.shape[-1] // 2
    rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos.unsqueeze(1) + rot * sin.unsqueeze(1)


@torch.no_grad()
def stream_logits(model, ids, sinks, window):
    """Token by token with a sinks + window cache at within-cache positions."""
    m, cfg = model.model, model.config
    nh, nkv = cfg.num_attention_heads, cfg.num_key_value_heads
    hd = getattr(cfg, "head_dim", None) or cfg.hidden_size // nh
    keys = [[] for _ in m.layers]  # per layer, per token: (1, nkv, 1, hd) before RoPE
    vals = [[] for _ in m.layers]
    out = []
    for t, tok in enumerate(ids):
        first = max(sinks, t - window + 1)
        members = list(range(t + 1)) if t < sinks else list(range(sinks)) + list(range(first, t + 1))
        x = m.embed_tokens(torch.tensor([[tok]]))
        pos = torch.arange(len(members)).unsqueeze(0)
        cos, sin = m.rotary_emb(x, pos)
        for li, layer in enumerate(m.layers):
            a = layer.self_attn
            h = layer.input_layernorm(x)
            if hasattr(a, "qkv_proj"):  # phi3: Q, K, V in one product
                q, k, v = a.qkv_proj(h).split([nh * hd, nkv * hd, nkv * hd], dim=-1)
            else:
                q, k, v = a.q_proj(h), a.k_proj(h), a.v_proj(h)
            q, k = q.view(1, 1, nh, hd), k.view(1, 1, nkv, hd)
            if hasattr(a, "q_norm"):
                q, k = a.q_norm(q), a.k_norm(k)
            keys[li].append(k.transpose(1, 2))
            vals[li].append(v.view(1, 1, nkv, hd).transpose(1, 2))
            K = torch.cat([keys[li][j] for j in members], dim=2)
            V = torch.cat([vals[li][j] for j in members], dim=2)
            qr = rotate(q.transpose(1, 2), cos[:, -1:], sin[:, -1:])
            kr = rotate(K, cos, sin).repeat_interleave(nh // nkv, dim=1)
            p = torch.softmax((qr @ kr.transpose(-1, -2)) * hd ** -0.5, dim=-1)
            o = (p @ V.repeat_interleave(nh // nkv, dim=1)).transpose(1, 2).reshape(1, 1, nh * hd)
            x = x + a.o_proj(o)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        out.append(model.lm_head(m.norm(x))[0, 0])
    return torch.stack(out)


def rope_cos_sin(n, hd, theta, factor=1.0):
    """Default RoPE (rotate_half layout) at positions 0..n-1, divided by a linear scaling factor."""
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd) / factor
    f = torch.outer(torch.arange(n, dtype=torch.float32), inv)
    emb = torch.cat((f, f), dim=-1)
    return emb.cos().unsqueeze(0), emb.sin().unsqueeze(0)


def gemma_sliding(cfg, li):
    types = getattr(cfg, "layer_types", None)
    if types:
        return types[li] == "sliding_attention"
    return li % 2 == 0 if cfg.model_type == "gemma2" else (li + 1) % cfg.sliding_window_pattern != 0


def cap(x, c):
    return x if not c else c * torch.tanh(x / c)


@torch.no_grad()
def gemma_stream_logits(model, ids, sinks, window):
    """gemma2/3 token by token: their sliding layers on a plain ring of
    sliding_window tokens (gemma3: with the local RoPE base), their global layers
    on sinks + window at within-cache positions (sinkstream's policy,
    docs/families.md); gemma2's scores and logits soft-capped."""
    gemma3 = model.config.model_type.startswith("gemma3")
    m, cfg = model.model, model.config
    nh, nkv, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    # transformers 5 keeps RoPE per layer type in rope_parameters; 4 in rope_theta,
    # rope_local_base_freq and rope_scaling.
    rp = getattr(cfg, "rope_parameters", None) or {}
    full = rp.get("full_attention", rp) if isinstance(rp, dict) else {}
    local = rp.get("sliding_attention", {}) if isinstance(rp, dict) else {}
    theta = full.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))
    local_theta = local.get("rope_theta", getattr(cfg, "rope_local_base_freq", theta)) if gemma3 else theta
    rs = getattr(cfg, "rope_scaling", None) or full
    rs = rs.get("full_attention", rs)
    factor = rs.get("factor", 1.0) if rs.get("rope_type", rs.get("type")) == "linear" else 1.0
    keys = [[] for _ in m.layers]
    vals = [[] for _ in m.layers]
    out = []
    for t, tok in enumerate(ids):
        x = m.embed_tokens(torch.tensor([[tok]]))  # scaled by sqrt(hidden_size) inside
        for li, layer in enumerate(m.layers):
            if gemma_sliding(cfg, li):
                members = list(range(max(0, t - cfg.sliding_window + 1), t + 1))
                cos, sin = rope_cos_sin(t + 1, hd, local_theta)
                cos, sin = cos[:, members], sin[:, members]  # true positions: a plain window
            else:
                first = max(sinks, t - window + 1)
                members = list(range(t + 1)) if t < sinks else list(range(sinks)) + list(range(first, t + 1))
                cos, sin = rope_cos_sin(len(members), hd, theta, factor)
            a = layer.self_attn
            h = layer.input_layernorm(x)
            q, k = a.q_proj(h).view(1, 1, nh, hd), a.k_proj(h).view(1, 1, nkv, hd)
            if gemma3:
                q, k = a.q_norm(q), a.k_norm(k)
            keys[li].append(k.transpose(1, 2))
            vals[li].append(a.v_proj(h).view(1, 1, nkv, hd).transpose(1, 2))
            K = torch.cat([keys[li][j] for j in members], dim=2)
            V = torch.cat([vals[li][j] for j in members], dim=2)
            qr = rotate(q.transpose(1, 2), cos[:, -1:], sin[:, -1:])
            kr = rotate(K, cos, sin).repeat_interleave(nh // nkv, dim=1)
            s = (qr @ kr.transpose(-1, -2)) * cfg.query_pre_attn_scalar ** -0.5
            p = torch.softmax(cap(s, getattr(cfg, "attn_logit_softcapping", None)), dim=-1)
            o = (p @ V.repeat_interleave(nh // nkv, dim=1)).transpose(1, 2).reshape(1, 1, nh * hd)
            x = x + layer.post_attention_layernorm(a.o_proj(o))
            x = x + layer.post_feedforward_layernorm(layer.mlp(layer.pre_feedforward_layernorm(x)))
        out.append(cap(model.lm_head(m.norm(x))[0, 0], getattr(cfg, "final_logit_softcapping", None)))
    return torch.stack(out)


@torch.no_grad()
def gpt_oss_stream_logits(model, ids, sinks, window):
    """gpt-oss token by token: its sliding layers on a plain ring of sliding_window
    tokens, its full layers on sinks + window at within-cache positions; every
    softmax joined by the head's learned sink logit, as GptOssAttention does."""
    m, cfg = model.model, model.config
    nh, nkv, hd = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    keys = [[] for _ in m.layers]
    vals = [[] for _ in m.layers]
    out = []
    for t, tok in enumerate(ids):
        x = m.embed_tokens(torch.tensor([[tok]]))
        for li, layer in enumerate(m.layers):
            if cfg.layer_types[li] == "sliding_attention":
                members = list(range(max(0, t - cfg.sliding_window + 1), t + 1))
                pos = torch.tensor([members])  # true positions: a plain window
            else:
                first = max(sinks, t - window + 1)
                members = list(range(t + 1)) if t < sinks else list(range(sinks)) + list(range(first, t + 1))
                pos = torch.arange(len(members)).unsqueeze(0)
            cos, sin = m.rotary_emb(x, pos)  # YaRN's attention scaling included
            if cos.shape[-1] == hd // 2:  # gpt-oss keeps one half: rotate() wants both
                cos, sin = torch.cat((cos, cos), dim=-1), torch.cat((sin, sin), dim=-1)
            a = layer.self_attn
            h = layer.input_layernorm(x)
            q, k = a.q_proj(h).view(1, 1, nh, hd), a.k_proj(h).view(1, 1, nkv, hd)
            keys[li].append(k.transpose(1, 2))
            vals[li].append(a.v_proj(h).view(1, 1, nkv, hd).transpose(1, 2))
            K = torch.cat([keys[li][j] for j in members], dim=2)
            V = torch.cat([vals[li][j] for j in members], dim=2)
            qr = rotate(q.transpose(1, 2), cos[:, -1:], sin[:, -1:])
            kr = rotate(K, cos, sin).repeat_interleave(nh // nkv, dim=1)
            s = (qr @ kr.transpose(-1, -2)) * hd ** -0.5
            s = torch.cat((s, a.sinks.view(1, nh, 1, 1)), dim=-1)
            p = torch.softmax(s, dim=-1)[..., :-1]
            o = (p @ V.repeat_interleave(nh // nkv, dim=1)).transpose(1, 2).reshape(1, 1, nh * hd)
            x = x + a.o_proj(o)
            y = layer.mlp(layer.post_attention_layernorm(x))
            x = x + (y[0] if isinstance(y, tuple) else y)
        out.append(model.lm_head(m.norm(x))[0, 0])
    return torch.stack(out)


def write_f32(path, t):
    with open(path, "wb") as f:
        f.write(struct.pack("<%df" % t.numel(), *t.flatten().tolist()))


def read_f32(path, rows):
    with open(path, "rb") as f:
        b = f.read()
    return torch.tensor(struct.unpack("<%df" % (len(b) // 4), b)).view(rows, -1)


def compare(name, want, got):
    err = (want - got).abs().max().item()
    same = bool((want.argmax(-1) == got.argmax(-1)).all())
    return {"case": name, "max_abs_error": err, "greedy_identical": same, "pass": err <= 1e-3 and same}


def run_family(fam, cfg, args):
    d = os.path.join(args.out, fam)
    os.makedirs(d, exist_ok=True)
    model = random_model(cfg, seed=29)
    model.save_pretrained(os.path.join(d, "hf"), safe_serialization=True)
    ids = [(i * 37 + 5) % VOCAB for i in range(TOKENS)]
    with open(os.path.join(d, "ids.txt"), "w") as f:
        f.write(" ".join(map(str, ids)) + "\n")
    with torch.no_grad():
        dense = model(torch.tensor([ids])).logits[0].float()
    loop = (gemma_stream_logits if fam.startswith("gemma") else
            gpt_oss_stream_logits if fam == "gpt_oss" else stream_logits)
    loop_err = (loop(model, ids, SINKS, TOKENS) - dense).abs().max().item()
    stream = loop(model, ids, SINKS, WINDOW)
    write_f32(os.path.join(d, "dense.f32"), dense)
    write_f32(os.path.join(d, "stream.f32"), stream)
    gguf = os.path.join(d, "model.gguf")
    subprocess.run([args.convert, os.path.join(d, "hf"), "--out", gguf, "--type", "f32", "--placeholder-vocab"],
                   check=True, stdout=subprocess.DEVNULL)
    results = {"family": fam, "loop_vs_forward": loop_err, "cases": []}
    for case, window, want in (("dense", TOKENS, dense), ("stream", WINDOW, stream)):
        got_path = os.path.join(d, case + "-sinkstream.f32")
        subprocess.run([args.cli, "logits", "--model", gguf, "--token-ids", os.path.join(d, "ids.txt"),
                        "--out", got_path, "--kv-type", "f32", "--sinks", str(SINKS), "--window", str(window)],
                       check=True, stdout=subprocess.DEVNULL)
        results["cases"].append(compare(case, want, read_f32(got_path, TOKENS)))
    if args.commit:
        dst = os.path.join(args.commit, fam)
        os.makedirs(dst, exist_ok=True)
        for f in ("model.gguf", "ids.txt", "dense.f32", "stream.f32"):
            shutil.copy(os.path.join(d, f), dst)
        shutil.copy(os.path.join(d, "hf", "config.json"), dst)  # what transformers built it from
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--convert", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", help="also copy the reference files here (tests/data/families)")
    args = ap.parse_args()
    report = {"transformers": transformers.__version__, "torch": torch.__version__, "tokens": TOKENS,
              "sinks": SINKS, "window": WINDOW, "families": []}
    for fam, cfg in family_configs().items():
        try:
            report["families"].append(run_family(fam, cfg, args))
        except Exception as e:  # one family's failure is reported, the others still run
            report["families"].append({"family": fam, "error": repr(e), "loop_vs_forward": 1.0,
                                       "cases": [{"case": "all", "pass": False}]})
    report["pass"] = all(c["pass"] for f in report["families"] for c in f["cases"]) and all(
        f["loop_vs_forward"] <= 1e-4 for f in report["families"])
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
