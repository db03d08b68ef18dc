"""A Llama-architecture decoder, written to match GGUF/llama.cpp's 'llama' graph.

RMSNorm, rotary embeddings on ADJACENT pairs (dims (0,1), (2,3), ...: GGML's
normal RoPE mode, so the exported wq/wk need no permutation), SwiGLU, grouped
query attention with query head h reading KV head h // (n_heads / n_kv_heads),
no biases, output projection tied to the token embedding.

Optionally each attention head has a learned sink logit (gpt-oss style): one
extra entry in every softmax that takes probability mass but carries no value,
so a head can attend to "nothing" instead of parking its mass on a real token.

The attention itself is a function passed to the blocks, so the streaming
evaluation can run the same weights under other cache policies.
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 4096
    dim: int = 384
    n_layers: int = 8
    n_heads: int = 6
    n_kv_heads: int = 2
    ffn_dim: int = 1024
    context: int = 512
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    learned_sinks: bool = False

    @property
    def head_dim(self):
        return self.dim // self.n_heads


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # In float32 whatever the autocast dtype, as llama.cpp does.
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (xf * self.weight.float()).type_as(x)


def rope_tables(positions, head_dim, theta):
    """cos/sin of shape (len(positions), head_dim/2) for the given positions."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float64, device=positions.device) / head_dim)
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    return angles.cos().float(), angles.sin().float()


def apply_rope(x, cos, sin):
    """Rotate adjacent pairs (x[2i], x[2i+1]) of x (..., T, head_dim) by the
    angles in cos/sin (T, head_dim/2), broadcast over leading dims."""
    pairs = x.float().unflatten(-1, (-1, 2))
    a, b = pairs[..., 0], pairs[..., 1]
    rotated = torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1)
    return rotated.flatten(-2).type_as(x)


def expand_kv(x, n_heads):
    """(B, n_kv, T, d) -> (B, n_heads, T, d), each KV head shared by a group of
    consecutive query heads."""
    return x.repeat_interleave(n_heads // x.shape[1], dim=1)


def attention_weights(scores, sinks=None):
    """Softmax over the last (key) axis of scaled, -inf-masked scores. With
    learned sinks (one logit per head), the sink joins the softmax and its
    probability is dropped: it has no value vector."""
    scores = scores.float()
    if sinks is None:
        return scores.softmax(-1)
    sink_col = sinks.float().view(1, -1, 1, 1).expand(*scores.shape[:-1], 1)
    return torch.cat([scores, sink_col], dim=-1).softmax(-1)[..., :-1]


def causal_attention(q, k, v, sinks, cos, sin):
    """Plain causal attention over one sequence at positions 0..T-1. q is
    (B, H, T, d), k/v are (B, n_kv, T, d), all before RoPE."""
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k, v = expand_kv(k, q.shape[1]), expand_kv(v, q.shape[1])
    if sinks is None and hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0; else the plain path below
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[2]
    allowed = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    probs = attention_weights(scores.masked_fill(~allowed, float("-inf")), sinks)
    return probs.type_as(v) @ v


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        hd = cfg.head_dim
        self.n_heads, self.n_kv_heads, self.head_dim = cfg.n_heads, cfg.n_kv_heads, hd
        self.wq = nn.Linear(cfg.dim, cfg.n_heads * hd, bias=False)
        self.wk = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.wv = nn.Linear(cfg.dim, cfg.n_kv_heads * hd, bias=False)
        self.wo = nn.Linear(cfg.n_heads * hd, cfg.dim, bias=False)
        self.sinks = nn.Parameter(torch.zeros(cfg.n_heads)) if cfg.learned_sinks else None

    def qkv(self, x):
        """Per-head q (B, H, T, d) and k, v (B, n_kv, T, d), before RoPE."""
        def heads(t, n):
            return t.unflatten(-1, (n, self.head_dim)).transpose(1, 2)
        return heads(self.wq(x), self.n_heads), heads(self.wk(x), self.n_kv_heads), heads(self.wv(x), self.n_kv_heads)

    def forward(self, x, attention):
        q, k, v = self.qkv(x)
        out = attention(q, k, v, self.sinks)
        return self.wo(out.transpose(1, 2).flatten(2))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)  # gate (ffn_gate)
        self.w3 = nn.Linear(cfg.dim, cfg.ffn_dim, bias=False)  # up (ffn_up)
        self.w2 = nn.Linear(cfg.ffn_dim, cfg.dim, bias=False)  # down (ffn_down)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg, dropout=0.0):
        super().__init__()
        self.dropout = dropout
        self.attn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.ffn = FeedForward(cfg)

    def forward(self, x, attention):
        # Residual dropout (GPT-2's resid_pdrop) is a training-only regulariser
        # against memorising a many-epoch corpus; it is off in eval mode and
        # not part of the exported architecture.
        x = x + F.dropout(self.attn(self.attn_norm(x), attention), self.dropout, self.training)
        return x + F.dropout(self.ffn(self.ffn_norm(x)), self.dropout, self.training)


class Transformer(nn.Module):
    def __init__(self, cfg, dropout=0.0):
        super().__init__()
        self.cfg = cfg
        self.tok_embd = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.blocks = nn.ModuleList(Block(cfg, dropout) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        # RoPE tables for positions 0..context-1, (context, head_dim/2) each,
        # made once: computed inside the compiled step, Inductor fused their
        # float64 pow/cos/sin into every RoPE kernel, forward and backward
        # (12-13% of an h24 step on the H200, tools/train/profile_step.py).
        # Not saved: derived from the config.
        cos, sin = rope_tables(torch.arange(cfg.context), cfg.head_dim, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        # GPT-2/Llama practice: shrink the residual-branch outputs with depth.
        for name, p in self.named_parameters():
            if name.endswith(("wo.weight", "w2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def rope(self, length):
        """cos/sin (length, head_dim/2) for positions 0..length-1."""
        if length <= self.rope_cos.shape[0]:
            return self.rope_cos[:length], self.rope_sin[:length]
        positions = torch.arange(length, device=self.rope_cos.device)
        return rope_tables(positions, self.cfg.head_dim, self.cfg.rope_theta)

    def forward(self, tokens, attention=None):
        """Logits (B, T, vocab). `attention(q, k, v, sinks)` defaults to causal
        attention at positions 0..T-1."""
        if attention is None:
            cos, sin = self.rope(tokens.shape[1])

            def attention(q, k, v, sinks):
                return causal_attention(q, k, v, sinks, cos, sin)
        x = self.tok_embd(tokens)
        for block in self.blocks:
            x = block(x, attention)
        return self.norm(x) @ self.tok_embd.weight.type_as(x).T


def save_model(model, path):
    """The trained model as exported: config plus float16 weights."""
    state = {k: v.detach().to(torch.float16).cpu() for k, v in model.state_dict().items()}
    torch.save({"config": asdict(model.cfg), "model": state}, path)


def load_model(path, device="cpu"):
    """A float32 Transformer from save_model's file or a training checkpoint."""
    ckpt = torch.load(path, map_location="cpu")
    model = Transformer(Config(**ckpt["config"]))
    model.load_state_dict({k: v.float() for k, v in ckpt["model"].items()})
    return model.to(device).eval()
