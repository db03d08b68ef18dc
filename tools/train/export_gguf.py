"""Export a trained model (train.py's model.pt) and its SentencePiece tokenizer
to GGUF, architecture 'llama', as F16 or Q8_0 (norms and sink logits stay F32),
then read the file back and check every tensor and the key metadata.

Tensor names follow llama.cpp. wq/wk are written as they are: model.py
rotates adjacent pairs, which is GGML's own RoPE layout, so the permutation
llama.cpp's converter applies to Hugging Face (split-half RoPE) checkpoints
must NOT be applied here. The output projection is tied to token_embd, so
there is no output.weight. A learned-sink model adds blk.N.attn_sinks (F32,
one logit per query head, in units of the scaled score q.k/sqrt(head_dim)).

Example:
  python3 tools/train/export_gguf.py --model .trainout/run/model.pt \
      --tokenizer .trainout/data/tokenizer.model --type q8_0 --out models/sinkstream-books-14m.gguf
"""
import argparse

import numpy as np
import sentencepiece as spm
import torch

import gguf
from model import Config, Transformer

FILE_TYPES = {"f16": (gguf.GGML_F16, 1), "q8_0": (gguf.GGML_Q8_0, 7)}  # (tensor type, general.file_type)
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6

# PyTorch parameter name -> GGUF tensor name; per-layer ones under blocks.N / blk.N.
GLOBAL_NAMES = {"tok_embd.weight": "token_embd.weight", "norm.weight": "output_norm.weight"}
LAYER_NAMES = {
    "attn_norm.weight": "attn_norm.weight",
    "attn.wq.weight": "attn_q.weight",
    "attn.wk.weight": "attn_k.weight",
    "attn.wv.weight": "attn_v.weight",
    "attn.wo.weight": "attn_output.weight",
    "attn.sinks": "attn_sinks",
    "ffn_norm.weight": "ffn_norm.weight",
    "ffn.w1.weight": "ffn_gate.weight",
    "ffn.w3.weight": "ffn_up.weight",
    "ffn.w2.weight": "ffn_down.weight",
}


def name_map(n_layers):
    """{PyTorch name: GGUF name} for every tensor a model may have."""
    names = dict(GLOBAL_NAMES)
    for i in range(n_layers):
        names.update({f"blocks.{i}.{t}": f"blk.{i}.{g}" for t, g in LAYER_NAMES.items()})
    return names


def token_type(sp, i):
    if sp.is_unknown(i):
        return TOKEN_UNKNOWN
    if sp.is_control(i):
        return TOKEN_CONTROL
    if sp.is_byte(i):
        return TOKEN_BYTE
    if sp.is_unused(i):
        return TOKEN_UNUSED
    return TOKEN_NORMAL


def tokenizer_metadata(sp):
    n = sp.vocab_size()
    return [
        ("tokenizer.ggml.model", gguf.STRING, "llama"),
        ("tokenizer.ggml.tokens", gguf.ARRAY, (gguf.STRING, [sp.id_to_piece(i) for i in range(n)])),
        ("tokenizer.ggml.scores", gguf.ARRAY, (gguf.FLOAT32, [sp.get_score(i) for i in range(n)])),
        ("tokenizer.ggml.token_type", gguf.ARRAY, (gguf.INT32, [token_type(sp, i) for i in range(n)])),
        ("tokenizer.ggml.bos_token_id", gguf.UINT32, sp.bos_id()),
        ("tokenizer.ggml.eos_token_id", gguf.UINT32, sp.eos_id()),
        ("tokenizer.ggml.unknown_token_id", gguf.UINT32, sp.unk_id()),
        ("tokenizer.ggml.add_bos_token", gguf.BOOL, True),
        ("tokenizer.ggml.add_eos_token", gguf.BOOL, False),
        ("tokenizer.ggml.add_space_prefix", gguf.BOOL, True),
    ]


def model_metadata(cfg, name, file_type):
    return [
        ("general.architecture", gguf.STRING, "llama"),
        ("general.name", gguf.STRING, name),
        ("general.file_type", gguf.UINT32, file_type),
        ("llama.vocab_size", gguf.UINT32, cfg["vocab_size"]),
        ("llama.context_length", gguf.UINT32, cfg["context"]),
        ("llama.embedding_length", gguf.UINT32, cfg["dim"]),
        ("llama.block_count", gguf.UINT32, cfg["n_layers"]),
        ("llama.feed_forward_length", gguf.UINT32, cfg["ffn_dim"]),
        ("llama.attention.head_count", gguf.UINT32, cfg["n_heads"]),
        ("llama.attention.head_count_kv", gguf.UINT32, cfg["n_kv_heads"]),
        ("llama.rope.freq_base", gguf.FLOAT32, cfg["rope_theta"]),
        ("llama.rope.dimension_count", gguf.UINT32, cfg["dim"] // cfg["n_heads"]),
        ("llama.attention.layer_norm_rms_epsilon", gguf.FLOAT32, cfg["norm_eps"]),
    ]


def export_tensors(state, n_layers, weight_type):
    """(GGUF name, numpy array, ggml type): matrices in weight_type, vectors in F32."""
    names = name_map(n_layers)
    return [(names[k], v.float().numpy(), weight_type if v.dim() == 2 else gguf.GGML_F32)
            for k, v in state.items()]


def load_gguf_model(path):
    """A float32 Transformer holding a GGUF file's weights (Q8_0 dequantized),
    i.e. exactly the numbers a GGUF runtime computes with."""
    meta, tensors, _ = gguf.read_gguf(path)
    cfg = Config(vocab_size=meta["llama.vocab_size"], dim=meta["llama.embedding_length"],
                 n_layers=meta["llama.block_count"], n_heads=meta["llama.attention.head_count"],
                 n_kv_heads=meta["llama.attention.head_count_kv"], ffn_dim=meta["llama.feed_forward_length"],
                 context=meta["llama.context_length"], rope_theta=meta["llama.rope.freq_base"],
                 norm_eps=meta["llama.attention.layer_norm_rms_epsilon"],
                 learned_sinks="blk.0.attn_sinks" in tensors)
    to_torch = {g: t for t, g in name_map(cfg.n_layers).items()}
    model = Transformer(cfg)
    model.load_state_dict({to_torch[name]: torch.from_numpy(a.copy()) for name, a in tensors.items()})
    return model.eval()


def check_roundtrip(path, tensors, metadata):
    """Re-read the file: metadata must match; F16/F32 tensors must equal the
    source rounded to their type; Q8_0 within its half-step per block."""
    meta_read, read, types = gguf.read_gguf(path)
    for key, vtype, value in metadata:
        expected = value[1] if vtype == gguf.ARRAY else value
        if vtype == gguf.FLOAT32 or (vtype == gguf.ARRAY and value[0] == gguf.FLOAT32):
            assert np.allclose(meta_read[key], expected, rtol=1e-6), key
        else:
            assert meta_read[key] == expected, key
    assert set(read) == {name for name, _, _ in tensors}
    worst = 0.0
    for name, src, ggml_type in tensors:
        got = read[name]
        assert got.shape == src.shape and types[name] == ggml_type, name
        if ggml_type == gguf.GGML_Q8_0:
            blocks = src.reshape(-1, gguf.Q8_0_BLOCK)
            step = np.abs(blocks).max(axis=1, keepdims=True) / 127.0
            err = np.abs(got.reshape(blocks.shape) - blocks)
            # Half a quantization step, plus up to 127 times the f16 rounding of d.
            assert np.all(err <= step * (0.5 + 127 * 2.0**-11) + 1e-5), name
            worst = max(worst, float(np.linalg.norm(got - src) / np.linalg.norm(src)))
        else:
            dtype = np.float16 if ggml_type == gguf.GGML_F16 else np.float32
            assert np.array_equal(got, src.astype(dtype).astype(np.float32)), name
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", choices=sorted(FILE_TYPES), default="q8_0")
    ap.add_argument("--name", default="sinkstream-books")
    args = ap.parse_args()

    ckpt = torch.load(args.model, map_location="cpu")
    cfg, state = ckpt["config"], ckpt["model"]
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    assert sp.vocab_size() == cfg["vocab_size"], "tokenizer and model disagree on the vocabulary"
    weight_type, file_type = FILE_TYPES[args.type]
    metadata = model_metadata(cfg, args.name, file_type) + tokenizer_metadata(sp)
    tensors = export_tensors(state, cfg["n_layers"], weight_type)
    gguf.write_gguf(args.out, metadata, tensors)
    worst = check_roundtrip(args.out, tensors, metadata)
    n_params = sum(t.size for _, t, _ in tensors)
    print(f"wrote {args.out}: {len(tensors)} tensors, {n_params / 1e6:.2f}M parameters, {args.type}; "
          f"re-read OK (worst Q8_0 relative error {worst:.2e})")


if __name__ == "__main__":
    main()
