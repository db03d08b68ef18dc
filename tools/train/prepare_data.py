"""Tokenizer and token streams for training sinkstream's book model.

Reads Project Gutenberg shards (`train-NN.txt.xz`, books separated by
BOOK_SEPARATOR) and held-out eval books (`.txt` or `.txt.xz`), trains a
SentencePiece BPE tokenizer with byte fallback (unless one is given), and
writes uint16 token files:

  OUT/tokenizer.model   SentencePiece model (ids: UNK=0, BOS=1, EOS=2)
  OUT/train.bin         all training books, each followed by EOS
  OUT/eval/NAME.bin     one file per held-out book, no BOS/EOS
  OUT/meta.json         vocab size, token counts, which files went in

Example:
  python3 tools/train/prepare_data.py --shards ../shared/data/pg/train/*.txt.xz \
      --eval ../shared/data/pg/eval --out .trainout/data
"""
import argparse
import json
import lzma
import multiprocessing
import random
from pathlib import Path

import numpy as np
import sentencepiece as spm

BOOK_SEPARATOR = "\n\n<|endoftext|>\n\n"
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2


def read_text(path):
    path = Path(path)
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read()


def read_books(shard_path):
    return [b for b in read_text(shard_path).split(BOOK_SEPARATOR) if b.strip()]


def sample_lines(books, n_lines, seed):
    """A seeded sample of non-empty lines: SentencePiece trains on lines, and
    a fixed sample (instead of its own shuffling) keeps the result reproducible."""
    lines = [line for book in books for line in book.split("\n") if line.strip()]
    random.Random(seed).shuffle(lines)
    return lines[:n_lines]


def train_tokenizer(books, model_path, vocab_size, n_lines, seed, threads):
    # Settings follow Llama's tokenizer so the GGUF 'llama' SPM metadata
    # describes it exactly: identity normalization, dummy prefix, whitespace
    # kept verbatim, digits split, bytes for anything outside the vocab
    # (newlines included: training sentences are single lines).
    lines = sample_lines(books, n_lines, seed)
    with open(model_path, "wb") as out:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=out,
            model_type="bpe",
            vocab_size=vocab_size,
            byte_fallback=True,
            character_coverage=0.9995,
            split_digits=True,
            normalization_rule_name="identity",
            add_dummy_prefix=True,
            remove_extra_whitespaces=False,
            allow_whitespace_only_pieces=True,
            unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID, pad_id=-1,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            max_sentence_length=1 << 16,
            num_threads=threads,
        )


_worker_sp = None


def _init_worker(model_path):
    global _worker_sp
    _worker_sp = spm.SentencePieceProcessor(model_file=str(model_path))


def _encode(text):
    return np.asarray(_worker_sp.encode(text), dtype=np.uint16)


def encode_books(books, model_path, workers):
    """Token arrays of `books`, in order, encoded on `workers` processes."""
    with multiprocessing.Pool(workers, _init_worker, (model_path,)) as pool:
        return pool.map(_encode, books, chunksize=1)


def write_train_stream(token_arrays, path):
    eos = np.array([EOS_ID], dtype=np.uint16)
    stream = np.concatenate([part for toks in token_arrays for part in (toks, eos)])
    stream.tofile(path)
    return int(stream.size)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", nargs="+", required=True, help="train-NN.txt.xz shards")
    ap.add_argument("--eval", help="folder of held-out books (.txt or .txt.xz)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", help="reuse this SentencePiece model instead of training one")
    ap.add_argument("--tokenizer-only", action="store_true", help="train the tokenizer, write no tokens")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--tokenizer-lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=multiprocessing.cpu_count())
    args = ap.parse_args()

    out = Path(args.out)
    (out / "eval").mkdir(parents=True, exist_ok=True)
    shards = sorted(args.shards)
    with multiprocessing.Pool(min(len(shards), args.workers)) as pool:
        books = [b for shard in pool.map(read_books, shards) for b in shard]
    print(f"{len(books)} books from {len(shards)} shards, {sum(map(len, books))} chars")

    model_path = out / "tokenizer.model"
    if args.tokenizer:
        model_path.write_bytes(Path(args.tokenizer).read_bytes())
    else:
        train_tokenizer(books, model_path, args.vocab, args.tokenizer_lines, args.seed, args.workers)
    vocab = spm.SentencePieceProcessor(model_file=str(model_path)).vocab_size()
    meta = {"vocab_size": vocab, "shards": [Path(s).name for s in shards], "books": len(books)}
    if not args.tokenizer_only:
        meta["train_tokens"] = write_train_stream(encode_books(books, model_path, args.workers), out / "train.bin")
        meta["eval"] = {}
        eval_files = sorted(Path(args.eval).glob("*.txt*")) if args.eval else []
        eval_texts = [read_text(p) for p in eval_files]
        for path, toks in zip(eval_files, encode_books(eval_texts, model_path, args.workers)):
            name = path.name.split(".")[0]
            toks.tofile(out / "eval" / f"{name}.bin")
            meta["eval"][name] = int(toks.size)
    (out / "meta.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
