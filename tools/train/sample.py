"""Generate text from a trained model (model.pt or GGUF) with top-k sampling,
in PyTorch; a quick look at what the model learned.

Example:
  python3 tools/train/sample.py --model models/sinkstream-books-14m.gguf \
      --tokenizer models/sinkstream-books-tokenizer.model --prompt "It was a dark night" --tokens 100
"""
import argparse

import sentencepiece as spm
import torch

from export_gguf import load_gguf_model
from model import load_model

BOS_ID, EOS_ID = 1, 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--prompt", default="")
    ap.add_argument("--tokens", type=int, default=100)
    ap.add_argument("--top-k", type=int, default=40)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    model = load_gguf_model(args.model) if args.model.endswith(".gguf") else load_model(args.model)
    sp = spm.SentencePieceProcessor(model_file=args.tokenizer)
    tokens = [BOS_ID] + sp.encode(args.prompt)
    gen = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        for _ in range(args.tokens):
            # Recompute over the last `context` tokens: simple, and this is a demo.
            logits = model(torch.tensor([tokens[-model.cfg.context:]]))[0, -1] / args.temperature
            top = logits.topk(args.top_k)
            nxt = int(top.indices[torch.multinomial(top.values.softmax(-1), 1, generator=gen)])
            if nxt == EOS_ID:
                break
            tokens.append(nxt)
    print(sp.decode(tokens[1:]))


if __name__ == "__main__":
    main()
