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
import re

import numpy as np
import sentencepiece as spm
import torch

import gguf

FILE_TYPES = {"f16": (gguf.GGML_F16, 1), "q8_0": (gguf.GGML_Q8_0, 7)}  # (tensor type, general.file_type)
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_UNUSED, TOKEN_BYTE = 1, 2, 3, 4, 5, 6

# PyTorch parameter name -> GGUF tensor name.
NAME_MAP = [
    (r"tok_embd\.weight", "token_embd.weight"),
    (r"norm\.weight", "output_norm.weight"),
    (r"blocks\.(\d+)\.attn_norm\.weight", r"blk.\1.attn_norm.weight"),
    (r"blocks\.(\d+)\.attn\.wq\.weight", r"blk.\1.attn_q.weight"),
    (r"blocks\.(\d+)\.attn\.wk\.weight", r"blk.\1.attn_k.weight"),
    (r"blocks\.(\d+)\.attn\.wv\.weight", r"blk.\1.attn_v.weight"),
    (r"blocks\.(\d+)\.attn\.wo\.weight", r"blk.\1.attn_output.weight"),
    (r"blocks\.(\d+)\.attn\.sinks", r"blk.\1.attn_sinks"),
    (r"blocks\.(\d+)\.ffn_norm\.weight", r"blk.\1.ffn_norm.weight"),
    (r"blocks\.(\d+)\.ffn\.w1\.weight", r"blk.\1.ffn_gate.weight"),
    (r"blocks\.(\d+)\.ffn\.w3\.weight", r"blk.\1.ffn_up.weight"),
    (r"blocks\.(\d+)\.ffn\.w2\.weight", r"blk.\1.ffn_down.weight"),
]


def gguf_name(torch_name):
    for pattern, replacement in NAME_MAP:
        if re.fullmatch(pattern, torch_name):
            return re.sub(pattern, replacement, torch_name)
    raise KeyError(f"no GGUF name for {torch_name}")


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


def export_tensors(state, weight_type):
    """(GGUF name, numpy array, ggml type): matrices in weight_type, vectors in F32."""
    return [(gguf_name(k), v.float().numpy(), weight_type if v.dim() == 2 else gguf.GGML_F32)
            for k, v in state.items()]


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
    tensors = export_tensors(state, weight_type)
    gguf.write_gguf(args.out, metadata, tensors)
    worst = check_roundtrip(args.out, tensors, metadata)
    n_params = sum(t.size for _, t, _ in tensors)
    print(f"wrote {args.out}: {len(tensors)} tensors, {n_params / 1e6:.2f}M parameters, {args.type}; "
          f"re-read OK (worst Q8_0 relative error {worst:.2e})")


if __name__ == "__main__":
    main()
