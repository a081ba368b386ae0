"""Fine-tune all-MiniLM-L6-v2 on STSb train with the cosine-similarity loss, with sentvec's
trainer and then with sentence-transformers' trainer (same recipe, same seed); report STSb test
Spearman x 100 and training wall time for each.

Recipe (the default): 4 epochs, batch 16, lr 2e-5, 10% linear warm-up then linear decay,
AdamW with weight decay 0.01, gradient clipping at 1.0, seed 42, scores / 5.

    python benchmarks/train_sts.py                 # the full recipe
    python benchmarks/train_sts.py --epochs 1      # a shorter run (same for both libraries)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stsb"


def read_train(limit: int | None) -> list[tuple[str, str, float]]:
    from sentvec.evaluate.sts import read_sts

    if not (DATA / "sts-train.csv").exists():
        sys.exit(f"missing {DATA / 'sts-train.csv'}: this benchmark needs ../shared/data/stsb")
    d = read_sts(DATA / "sts-train.csv")
    rows = [
        (a, b, float(s) / 5.0) for a, b, s in zip(d.sentences1, d.sentences2, d.scores, strict=True)
    ]
    return rows[:limit] if limit else rows


def score(folder_or_encoder: object) -> float:
    """STSb test cosine Spearman x 100, with sentvec's evaluator."""
    import sentvec
    from sentvec.evaluate import STSEvaluator

    enc = (
        folder_or_encoder
        if not isinstance(folder_or_encoder, (str, Path))
        else sentvec.load(folder_or_encoder)
    )
    return 100 * STSEvaluator.from_file(DATA / "sts-test.csv")(enc)["sts-test_cosine_spearman"]


def run_sentvec(rows: list, args: argparse.Namespace, out: Path) -> dict:
    import sentvec
    from sentvec.train import CosineSimilarityLoss, Trainer, TrainingArgs
    from sentvec.train.data import from_records

    enc = sentvec.load()
    data = from_records(rows, "scored_pairs")
    targs = TrainingArgs(
        output_dir=str(out / "sentvec"),
        epochs=args.epochs,
        batch_size=16,
        lr=2e-5,
        warmup_ratio=0.1,
        weight_decay=0.01,
        max_grad_norm=1.0,
        seed=args.seed,
        save_steps=10**9,
        log_steps=50,
    )
    start = time.perf_counter()
    Trainer(enc, CosineSimilarityLoss(), data, targs).train()
    seconds = time.perf_counter() - start
    result = {"library": "sentvec", "train_seconds": seconds}
    if not args.no_eval:
        result["stsb_test_spearman"] = score(enc)
    return result


def run_st(rows: list, args: argparse.Namespace, out: Path) -> dict:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )

    from sentvec import hub

    model = SentenceTransformer(str(hub.resolve(None)), device="cpu")
    ds = Dataset.from_dict(
        {
            "sentence1": [r[0] for r in rows],
            "sentence2": [r[1] for r in rows],
            "score": [r[2] for r in rows],
        }
    )
    targs = SentenceTransformerTrainingArguments(
        output_dir=str(out / "st"),
        num_train_epochs=args.epochs,
        per_device_train_batch_size=16,
        learning_rate=2e-5,
        warmup_ratio=0.1,
        weight_decay=0.01,
        max_grad_norm=1.0,
        seed=args.seed,
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=targs, train_dataset=ds, loss=losses.CosineSimilarityLoss(model)
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    result = {"library": "sentence-transformers", "train_seconds": seconds}
    if not args.no_eval:
        model.save(str(out / "st-model"))
        result["stsb_test_spearman"] = score(out / "st-model")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pairs")
    parser.add_argument("--only", choices=["sentvec", "st"], default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--repeat", type=int, default=1, help="alternate runs, report medians")
    parser.add_argument("--no-eval", action="store_true", help="timing only: skip STSb test")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    rows = read_train(args.limit)
    print(f"STSb train pairs: {len(rows)}, epochs {args.epochs}, batch 16, lr 2e-5, warm-up 10%")
    from sentvec import hub

    base = None if args.no_eval else score(hub.resolve(None))
    if base is not None:
        print(f"before training: STSb test Spearman {base:.2f}")
    results = []
    runners = [("sentvec", run_sentvec), ("st", run_st)]
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):  # alternate the libraries so load changes hit both
            for name, fn in runners:
                if args.only and args.only != name:
                    continue
                r = fn(rows, args, Path(tmp) / f"{name}-{rep}")
                print(json.dumps(r), flush=True)
                results.append(r)
    by_lib: dict[str, list[dict]] = {}
    for r in results:
        by_lib.setdefault(r["library"], []).append(r)
    medians = {lib: statistics.median(x["train_seconds"] for x in rs) for lib, rs in by_lib.items()}
    print("median train seconds:", json.dumps(medians))
    if len(medians) == 2:
        ours, theirs = by_lib["sentvec"][0], by_lib["sentence-transformers"][0]
        if not args.no_eval:
            diff = ours["stsb_test_spearman"] - theirs["stsb_test_spearman"]
            print(f"score difference (sentvec - ST): {diff:+.2f}")
        ratio = medians["sentvec"] / medians["sentence-transformers"]
        print(f"time ratio (sentvec / ST, medians): {ratio:.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "base": base,
                    "results": results,
                    "epochs": args.epochs,
                    "pairs": len(rows),
                    "medians": medians,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
