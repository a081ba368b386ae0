"""In-batch-negative training (MultipleNegativesRankingLoss) on MSRP paraphrase pairs, then
paraphrase classification on MSRP test before and after; and GradCache's peak memory against
the plain loss at a large batch.

    python benchmarks/train_mnrl.py                          # full: all 2,474 positive pairs
    python benchmarks/train_mnrl.py --limit 320 --memory-batch 256

F1 is reported two ways: at the threshold that is best on MSRP validation (honest), and at the
best threshold on test itself (optimistic, the usual "max F1"). Peak memory is the peak resident
set size of a fresh process that runs one training step (one forward/backward) on the batch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "msrp"
COLUMNS = ("#1 String", "#2 String", "Quality")


def f1_scores(enc: object) -> dict[str, float]:
    from sentvec.evaluate.pairs import PairClassificationEvaluator, best_f1, read_pairs

    val = PairClassificationEvaluator(read_pairs(DATA / "msr-para-val.tsv", COLUMNS), "val")
    _, _, _, threshold = best_f1(val.scores(enc), val.data.labels)
    test = PairClassificationEvaluator(
        read_pairs(DATA / "msr-para-test.tsv", COLUMNS), "test", threshold=threshold
    )
    m = test(enc)
    return {
        "f1_at_val_threshold": m["test_cosine_f1_at_threshold"],
        "best_f1": m["test_cosine_f1"],
        "ap": m["test_cosine_ap"],
        "threshold": threshold,
    }


def train(args: argparse.Namespace) -> None:
    import sentvec
    from sentvec.train import MultipleNegativesRankingLoss, Trainer, TrainingArgs
    from sentvec.train.data import read_examples

    if not (DATA / "msr-para-train.tsv").exists():
        sys.exit(f"missing {DATA}: this benchmark needs ../shared/data/msrp")
    data = read_examples(
        DATA / "msr-para-train.tsv",
        "labelled_pairs",
        columns={"sentence1": "#1 String", "sentence2": "#2 String", "label": "Quality"},
    )
    data.examples = [e for e in data.examples if e.label == 1][: args.limit]
    enc = sentvec.load()
    before = f1_scores(enc)
    print("before:", json.dumps(before), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        targs = TrainingArgs(
            output_dir=tmp,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=2e-5,
            warmup_ratio=0.1,
            seed=42,
            save_steps=10**9,
        )
        start = time.perf_counter()
        from sentvec.train.data import TrainData

        Trainer(
            enc, MultipleNegativesRankingLoss(), TrainData(data.kind, data.examples), targs
        ).train()
        seconds = time.perf_counter() - start
    after = f1_scores(enc)
    print("after:", json.dumps(after), flush=True)
    print(
        json.dumps(
            {
                "pairs": len(data.examples),
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "train_seconds": seconds,
                "before": before,
                "after": after,
            }
        ),
        flush=True,
    )


def one_step(cached: bool, batch: int, mini: int) -> None:
    """Child process: one training step; prints its peak RSS in MiB."""
    import torch

    import sentvec
    from sentvec.train import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss
    from sentvec.train.data import collate, read_examples

    torch.set_num_threads(2)
    data = read_examples(
        DATA / "msr-para-train.tsv",
        "labelled_pairs",
        columns={"sentence1": "#1 String", "sentence2": "#2 String", "label": "Quality"},
    )
    examples = data.examples[:batch]
    enc = sentvec.load()
    enc.model.train()
    loss = (
        CachedMultipleNegativesRankingLoss(mini_batch_size=mini)
        if cached
        else MultipleNegativesRankingLoss()
    )
    b = collate(examples, enc.tokenize)
    start = time.perf_counter()
    value = loss.compute(enc.model, b)
    value.backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "cached": cached,
                "batch": len(examples),
                "mini_batch": mini if cached else None,
                "loss": float(value),
                "step_seconds": seconds,
                "peak_rss_mib": peak,
            }
        ),
        flush=True,
    )


def memory(args: argparse.Namespace) -> None:
    env = {**os.environ}
    for cached in (True, False):
        cmd = [
            sys.executable,
            __file__,
            "--step",
            "cached" if cached else "plain",
            "--memory-batch",
            str(args.memory_batch),
            "--mini-batch",
            str(args.mini_batch),
        ]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True)
        lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
        print(lines[-1] if lines else out.stderr[-2000:], flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use the first N positive pairs")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--memory-batch", type=int, default=1024)
    parser.add_argument("--mini-batch", type=int, default=32)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--step", choices=["cached", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(2)
    if args.step:
        one_step(args.step == "cached", args.memory_batch, args.mini_batch)
        return
    if not args.skip_train:
        train(args)
    if not args.skip_memory:
        memory(args)


if __name__ == "__main__":
    main()
