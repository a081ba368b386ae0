"""Unsupervised SimCSE on Wikipedia sentences: STSb dev Spearman before and after.

    python benchmarks/train_simcse.py                # all 11,914 sentences, 1 epoch
    python benchmarks/train_simcse.py --limit 1024   # a shorter run

Recipe: batch 64, lr 3e-5, temperature 0.05, max_seq_length 32, 1 epoch (as the SimCSE paper,
except the starting model: the already fine-tuned all-MiniLM-L6-v2, so a drop is possible).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def dev_score(enc: object) -> float:
    from sentvec.evaluate import STSEvaluator

    return (
        100
        * STSEvaluator.from_file(SHARED / "stsb" / "sts-dev.csv", "dev")(enc)["dev_cosine_spearman"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-5)
    args = parser.parse_args()
    import torch

    import sentvec
    from sentvec.train import Trainer, TrainingArgs, UnsupervisedSimCSELoss
    from sentvec.train.data import read_examples

    torch.set_num_threads(2)
    wiki = SHARED / "wiki-sentences" / "wiki1m-excerpt.txt"
    if not wiki.exists():
        sys.exit(f"missing {wiki}: this benchmark needs ../shared/data/wiki-sentences")
    data = read_examples(wiki, "sentences")
    data.examples = data.examples[: args.limit]
    enc = sentvec.load(max_seq_length=32)
    before = dev_score(enc)
    print(f"before: STSb dev {before:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArgs(
            output_dir=tmp,
            epochs=1,
            batch_size=args.batch_size,
            lr=args.lr,
            warmup_ratio=0.0,
            seed=42,
            save_steps=10**9,
        )
        start = time.perf_counter()
        Trainer(enc, UnsupervisedSimCSELoss(), data, targs).train()
        seconds = time.perf_counter() - start
    after = dev_score(enc)
    print(
        json.dumps(
            {
                "sentences": len(data),
                "batch_size": args.batch_size,
                "lr": args.lr,
                "train_seconds": seconds,
                "stsb_dev_before": before,
                "stsb_dev_after": after,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
