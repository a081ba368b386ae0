"""Cross-encoders: quality (STSb, MSRP) against sentence-transformers' CrossEncoder trainer on
the same recipe, Augmented SBERT, the SBERT paper's cost claim, rerank speed and rerank quality.

Recipe for every cross-encoder trained here: the packaged all-MiniLM-L6-v2 weights with a new
one-label head, binary cross-entropy on score / 5 (STSb) or the 0/1 label (MSRP), 1 epoch,
batch 16, lr 2e-5, 10% linear warm-up then linear decay, AdamW weight decay 0.01, gradient
clipping 1.0, max_seq_length 128, seed 42.

    PYTHONPATH=src python benchmarks/cross.py quality        # STSb + MSRP, sentvec vs ST
    PYTHONPATH=src python benchmarks/cross.py augment --seeds 1 2 3
    PYTHONPATH=src python benchmarks/cross.py teacher       # the teacher's epochs and lr
    PYTHONPATH=src python benchmarks/cross.py cost --n 1000
    flock /work/helpers/bench.lock env PYTHONPATH=src python benchmarks/cross.py speed
    PYTHONPATH=src python benchmarks/cross.py rerank          # msmarco-subset nDCG@10
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parents[1] / "out" / "cross"


def need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"missing {path}: this benchmark needs ../shared/data")
    return path


def load_avg() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def base_folder() -> Path:
    """The packaged MiniLM as a plain Hugging Face folder (no modules.json), so that both
    libraries build the same BertForSequenceClassification with a new head."""
    from sentvec import hub
    from sentvec.tokenization import copy_tokenizer_files

    src = hub.resolve(None)
    dst = OUT / "minilm-hf"
    if not (dst / "model.safetensors").exists():
        dst.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors"):
            shutil.copyfile(src / name, dst / name)
        copy_tokenizer_files(src, dst)
    return dst


def stsb_rows(split: str) -> list[tuple[str, str, float]]:
    from sentvec.evaluate.sts import read_sts

    d = read_sts(need(DATA / "stsb" / f"sts-{split}.csv"))
    return list(zip(d.sentences1, d.sentences2, [s / 5.0 for s in d.scores], strict=True))


def msrp_rows(split: str) -> list[tuple[str, str, float]]:
    from sentvec.io import read_columns

    rows = read_columns(
        need(DATA / "msrp" / f"msr-para-{split}.tsv"), ["#1 String", "#2 String", "Quality"]
    )
    return [(a, b, float(q)) for a, b, q in rows]


def train_sentvec(rows: list, out: Path, seed: int = 42, epochs: int = 1, lr: float = 2e-5):
    from sentvec.cross.augment import train_cross
    from sentvec.train.data import from_records

    start = time.perf_counter()
    cross = train_cross(
        from_records(rows, "scored_pairs"),
        str(base_folder()),
        output_dir=out / "run",
        epochs=epochs,
        lr=lr,
        seed=seed,
        max_seq_length=128,
        show_progress=True,
    )
    seconds = time.perf_counter() - start
    cross.save(out / "model")
    return cross, seconds


def train_st(rows: list, out: Path, seed: int = 42, epochs: int = 1, lr: float = 2e-5):
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    model = CrossEncoder(str(base_folder()), num_labels=1, max_length=128, device="cpu")
    ds = Dataset.from_dict(
        {
            "sentence1": [r[0] for r in rows],
            "sentence2": [r[1] for r in rows],
            "score": [r[2] for r in rows],
        }
    )
    args = CrossEncoderTrainingArguments(
        output_dir=str(out / "st-run"),
        num_train_epochs=epochs,
        per_device_train_batch_size=16,
        learning_rate=lr,
        warmup_ratio=0.1,
        weight_decay=0.01,
        max_grad_norm=1.0,
        seed=seed,
        save_strategy="no",
        report_to="none",
        logging_steps=50,
        use_cpu=True,
        dataloader_num_workers=0,
    )
    trainer = CrossEncoderTrainer(
        model=model, args=args, train_dataset=ds, loss=BinaryCrossEntropyLoss(model)
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    model.save(str(out / "st-model"))
    return out / "st-model", seconds


def sts_spearman(scores, rows) -> float:
    import numpy as np

    from sentvec.evaluate.sts import spearman

    return 100 * spearman(np.asarray(scores), np.asarray([r[2] for r in rows]))


def pair_metrics(val_scores, val_rows, test_scores, test_rows) -> dict:
    import numpy as np

    from sentvec.evaluate.pairs import average_precision, best_accuracy, best_f1

    yv = np.asarray([r[2] for r in val_rows], dtype=int)
    yt = np.asarray([r[2] for r in test_rows], dtype=int)
    _, acc_t = best_accuracy(np.asarray(val_scores), yv)
    _, _, _, f1_t = best_f1(np.asarray(val_scores), yv)
    s = np.asarray(test_scores)
    pred_acc, pred_f1 = s >= acc_t, s >= f1_t
    tp = int((pred_f1 & (yt == 1)).sum())
    f1 = 2 * tp / max(int(pred_f1.sum()) + int((yt == 1).sum()), 1)
    return {
        "accuracy_at_val_threshold": 100 * float((pred_acc == (yt == 1)).mean()),
        "f1_at_val_threshold": 100 * f1,
        "best_f1_on_test": 100 * best_f1(s, yt)[0],
        "ap": 100 * average_precision(s, yt),
    }


def cmd_quality(args: argparse.Namespace) -> None:
    import sentvec

    results: dict = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "lr": args.lr}
    tasks = args.tasks
    if "stsb" in tasks:
        train, test = stsb_rows("train"), stsb_rows("test")
        pairs = [(a, b) for a, b, _ in test]
        print(f"STSb: {len(train)} train pairs, {len(test)} test; {load_avg()}", flush=True)
        if not args.no_sentvec:
            cross, secs = train_sentvec(train, OUT / "stsb", lr=args.lr)
            ours = sts_spearman(cross.predict(pairs, batch_size=64), test)
            results["stsb_sentvec"] = {"spearman": ours, "train_seconds": secs, "load": load_avg()}
            print(json.dumps(results["stsb_sentvec"]), flush=True)
        if not args.no_st:
            from sentence_transformers import CrossEncoder

            folder, secs = train_st(train, OUT / "stsb", lr=args.lr)
            theirs = sts_spearman(CrossEncoder(str(folder)).predict(pairs, batch_size=64), test)
            results["stsb_st"] = {"spearman": theirs, "train_seconds": secs, "load": load_avg()}
            print(json.dumps(results["stsb_st"]), flush=True)
            again = sts_spearman(sentvec.load_cross(folder).predict(pairs, batch_size=64), test)
            results["stsb_st_model_scored_by_sentvec"] = again
    if "msrp" in tasks:
        train, val, test = msrp_rows("train"), msrp_rows("val"), msrp_rows("test")
        print(
            f"MSRP: {len(train)} train, {len(val)} val, {len(test)} test; {load_avg()}", flush=True
        )
        cross, secs = train_sentvec(train, OUT / "msrp", lr=args.lr)
        sv = cross.predict([(a, b) for a, b, _ in val], batch_size=64)
        st_ = cross.predict([(a, b) for a, b, _ in test], batch_size=64)
        results["msrp_sentvec"] = {**pair_metrics(sv, val, st_, test), "train_seconds": secs}
        print(json.dumps(results["msrp_sentvec"]), flush=True)
        enc = sentvec.load()
        from sentvec.similarity import pairwise_similarity

        def cos(rows):
            a = enc.encode([r[0] for r in rows], batch_size=64)
            b = enc.encode([r[1] for r in rows], batch_size=64)
            return pairwise_similarity(a, b, "cosine")

        results["msrp_bi_encoder"] = pair_metrics(cos(val), val, cos(test), test)
        print(json.dumps(results["msrp_bi_encoder"]), flush=True)
    name = "quality" + ("-st" if args.no_sentvec else "") + ("-sentvec" if args.no_st else "")
    (OUT / f"{name}.json").write_text(json.dumps(results, indent=2))


def msmarco_pairs(n: int) -> tuple[list[tuple[str, str]], object]:
    """(query, passage) pairs: each judged query with passages from the corpus, in order."""
    from sentvec.evaluate.retrieval import read_beir

    data = read_beir(need(DATA / "msmarco-subset"))
    passages = list(data.corpus.values())
    pairs = []
    for i, q in enumerate(data.queries.values()):
        pairs += [(q, passages[(i * 97 + j) % len(passages)]) for j in range(50)]
    return pairs[:n], data


def cmd_speed(args: argparse.Namespace) -> None:
    """Pairs/s on the same msmarco (query, passage) pairs: sentvec torch / onnx / onnx-int8
    and sentence-transformers' CrossEncoder, in one run (best of --repeat after a warm-up)."""
    import sentvec

    model = str(args.model or base_folder())
    pairs, _ = msmarco_pairs(args.pairs)
    rows = []

    def timed(name: str, fn) -> None:
        fn(pairs[:64])  # warm-up (and the ONNX export, cached, on first use)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn(pairs)
            best = min(best, time.perf_counter() - start)
        row = {
            "backend": name,
            "pairs": len(pairs),
            "seconds": round(best, 2),
            "pairs_per_s": round(len(pairs) / best, 1),
            "load": load_avg(),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)

    for backend in ("torch", "onnx", "onnx-int8"):
        ce = sentvec.load_cross(model, backend=backend)
        timed(f"sentvec {backend}", lambda p, ce=ce: ce.predict(p, batch_size=32))
    from sentence_transformers import CrossEncoder

    st = CrossEncoder(model, device="cpu")
    timed("sentence-transformers CrossEncoder", lambda p: st.predict(p, batch_size=32))
    rows += search_latency(model, args)
    (OUT / "speed.json").write_text(json.dumps(rows, indent=2))


def msmarco_collection(root: Path):
    """The 5,000 msmarco-subset passages in a collection (one passage each), for MiniLM."""
    import sentvec
    from sentvec.documents import Chunking
    from sentvec.evaluate.retrieval import read_beir
    from sentvec.records import Record
    from sentvec.store import for_encoder

    data = read_beir(need(DATA / "msmarco-subset"))
    enc = sentvec.load(backend="onnx")
    col = for_encoder(root, "msmarco", enc, min_score=0.0)
    if col.count() == 0:
        records = [Record(text=t, id=i) for i, t in data.corpus.items()]
        col.add(records, enc, chunking=Chunking(enabled=False), show_progress=False)
    return col, enc, data


def search_latency(model: str, args: argparse.Namespace) -> list[dict]:
    """Median added latency of reranking the top 20 / 50 hits of a vector search."""
    import statistics

    import sentvec
    from sentvec.cross import rerank_hits

    col, enc, data = msmarco_collection(OUT / "db")
    queries = list(data.queries.values())[:20]
    out = []
    for backend in ("onnx", "onnx-int8"):
        ce = sentvec.load_cross(model, backend=backend)
        for top in (0, 20, 50):
            times = []
            for q in queries:
                start = time.perf_counter()
                hits = col.search(q, max(top, 10), encoder=enc, min_score=0, highlight=False)
                if top:
                    rerank_hits(ce, q, hits, 10)
                times.append(1000 * (time.perf_counter() - start))
            row = {
                "search": f"vector, rerank top {top} ({backend})" if top else "vector only",
                "median_ms": round(statistics.median(times), 1),
                "load": load_avg(),
            }
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


def cmd_cost(args: argparse.Namespace) -> None:
    """The most similar pair among N sentences: the cross-encoder over all N(N-1)/2 pairs
    against the bi-encoder (encode N, then top_k), same CPU, same run."""
    import numpy as np

    import sentvec
    from sentvec.similarity import top_k

    rows = stsb_rows("test")
    texts = list(dict.fromkeys(t for r in rows for t in r[:2]))[: args.n]
    n = len(texts)
    enc = sentvec.load(backend="onnx")
    enc.encode(texts[:32])
    start = time.perf_counter()
    v = enc.encode(texts, normalize=True)
    scores, idx = top_k(v, v, k=2)
    bi_s = time.perf_counter() - start
    best = int(np.argmax(scores[:, 1]))
    bi_pair = tuple(sorted((best, int(idx[best, 1]))))
    ce = sentvec.load_cross(str(OUT / "stsb" / "model"), backend=args.backend)
    m = args.cross_n or n
    pairs = [(texts[i], texts[j]) for i in range(m) for j in range(i + 1, m)]
    ce.predict(pairs[:64])
    start = time.perf_counter()
    s = ce.predict(pairs, batch_size=64, show_progress=True)
    ce_s = time.perf_counter() - start
    rate = len(pairs) / ce_s
    k = int(np.argmax(s))
    ij = [(i, j) for i in range(m) for j in range(i + 1, m)]
    ce_pair = ij[k]
    full = n * (n - 1) / 2
    result = {
        "n": n,
        "bi_encoder_seconds": round(bi_s, 3),
        "bi_pair": [texts[i] for i in bi_pair],
        "cross_pairs_scored": len(pairs),
        "cross_seconds_measured": round(ce_s, 1),
        "cross_pairs_per_s": round(rate, 1),
        "cross_seconds_for_n": round(full / rate, 1),
        "cross_pair": [texts[i] for i in ce_pair],
        "cross_backend": args.backend,
        "same_pair": (m == n and tuple(ce_pair) == bi_pair),
        "ratio_at_n": round(full / rate / bi_s, 1),
        "extrapolated_10000_cross_hours": round(10000 * 9999 / 2 / rate / 3600, 2),
        "extrapolated_10000_bi_seconds": round(bi_s * 10000 / n, 2),
        "load": load_avg(),
    }
    if m < n:  # the pair each finds among the first m sentences, for the comparison
        vm = v[:m]
        sm, im = top_k(vm, vm, k=2)
        b = int(np.argmax(sm[:, 1]))
        result["bi_pair_among_first_m"] = [texts[b], texts[int(im[b, 1])]]
        result["same_pair_among_first_m"] = tuple(sorted((b, int(im[b, 1])))) == tuple(ce_pair)
    print(json.dumps(result, indent=2), flush=True)
    (OUT / "cost.json").write_text(json.dumps(result, indent=2))


def cmd_rerank(args: argparse.Namespace) -> None:
    """nDCG@10 on msmarco-subset: vector and hybrid, each alone and reranked (top 50) by
    the cross-encoders trained by `quality`."""
    import numpy as np

    import sentvec
    from sentvec.cross import rerank_hits
    from sentvec.evaluate.retrieval import ndcg_at_k

    col, enc, data = msmarco_collection(OUT / "db")
    models = {m: OUT / m / "model" for m in args.models if (OUT / m / "model").exists()}
    crosses = {m: sentvec.load_cross(str(p), backend="onnx") for m, p in models.items()}
    rows = []
    for mode in ("vector", "hybrid"):
        lists = {
            q: col.search(t, args.top, encoder=enc, mode=mode, min_score=0, highlight=False)
            for q, t in data.queries.items()
        }
        runs = {mode: {q: [h.id for h in hits[:10]] for q, hits in lists.items()}}
        for name, ce in crosses.items():
            runs[f"{mode} + rerank top {args.top} ({name} cross-encoder)"] = {
                q: [h.id for h in rerank_hits(ce, data.queries[q], hits, 10)]
                for q, hits in lists.items()
            }
        for label, run in runs.items():
            nd = [ndcg_at_k(run[q], data.qrels[q], 10) for q in data.qrels]
            row = {"method": label, "ndcg@10": round(100 * float(np.mean(nd)), 2)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    (OUT / "rerank.json").write_text(json.dumps(rows, indent=2))


def cmd_augment(args: argparse.Namespace) -> None:
    """Augmented SBERT on 1,000 gold STSb train pairs: the bi-encoder trained on gold alone
    against gold + silver (pairs sampled by BM25 and bi-encoder neighbours among the gold
    sentences, labelled by a cross-encoder trained on the same 1,000); STSb test Spearman."""
    import sentvec
    from sentvec.cross.augment import augment_bi_encoder, train_cross
    from sentvec.evaluate import STSEvaluator
    from sentvec.train import CosineSimilarityLoss, Trainer, TrainingArgs
    from sentvec.train.data import from_records

    test = DATA / "stsb" / "sts-test.csv"
    all_rows = stsb_rows("train")
    results = []
    for seed in args.seeds:
        import random

        rows = random.Random(seed).sample(all_rows, args.gold)
        gold = from_records(rows, "scored_pairs")
        out = OUT / f"augment-{seed}"
        enc = sentvec.load(max_seq_length=128)
        targs = TrainingArgs(
            output_dir=str(out / "gold-run"),
            epochs=1,
            batch_size=16,
            lr=2e-5,
            seed=seed,
            resume=False,
            show_progress=False,
        )
        Trainer(enc, CosineSimilarityLoss(), gold, targs).train()
        gold_only = 100 * STSEvaluator.from_file(test)(enc)["sts-test_cosine_spearman"]
        cross = train_cross(gold, str(base_folder()), output_dir=out / "cross-run", seed=seed)
        pairs = [(a, b) for a, b, _ in stsb_rows("test")]
        cross_score = sts_spearman(cross.predict(pairs, batch_size=64), stsb_rows("test"))
        info = augment_bi_encoder(
            gold,
            cross,
            out / "augmented",
            per_sentence=args.per_sentence,
            seed=seed,
            max_seq_length=128,
        )
        augmented = (
            100
            * STSEvaluator.from_file(test)(sentvec.load(info["model"]))["sts-test_cosine_spearman"]
        )
        row = {
            "seed": seed,
            "gold": info["gold"],
            "silver": info["silver"],
            "bi_gold_only": round(gold_only, 2),
            "bi_gold_plus_silver": round(augmented, 2),
            "cross_teacher": round(cross_score, 2),
            "load": load_avg(),
        }
        print(json.dumps(row), flush=True)
        results.append(row)
        (OUT / "augment.json").write_text(json.dumps(results, indent=2))


def cmd_teacher(args: argparse.Namespace) -> None:
    """The Augmented SBERT teacher's recipe: a cross-encoder trained on 1,000 gold STSb train
    pairs (seed 1's sample) for each (epochs, lr), scored on STSb test."""
    import random

    from sentvec.cross.augment import train_cross
    from sentvec.train.data import from_records

    rows = random.Random(args.seed).sample(stsb_rows("train"), args.gold)
    gold = from_records(rows, "scored_pairs")
    test = stsb_rows("test")
    pairs = [(a, b) for a, b, _ in test]
    for epochs, lr in zip(args.epochs, args.lr, strict=True):
        start = time.perf_counter()
        cross = train_cross(
            gold,
            str(base_folder()),
            output_dir=OUT / f"teacher-{epochs}-{lr}",
            epochs=epochs,
            lr=lr,
            seed=args.seed,
        )
        row = {
            "epochs": epochs,
            "lr": lr,
            "spearman": round(sts_spearman(cross.predict(pairs, batch_size=64), test), 2),
            "train_seconds": round(time.perf_counter() - start),
            "load": load_avg(),
        }
        print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--tasks", nargs="+", default=["stsb", "msrp"])
    q.add_argument("--no-st", action="store_true")
    q.add_argument("--no-sentvec", action="store_true")
    q.add_argument("--lr", type=float, default=2e-5, help="both trainers (1 epoch, batch 16)")
    sp = sub.add_parser("speed")
    sp.add_argument("--model", default=None, help="cross-encoder [default: MiniLM, new head]")
    sp.add_argument("--pairs", type=int, default=1000)
    sp.add_argument("--repeat", type=int, default=2)
    c = sub.add_parser("cost")
    c.add_argument("--n", type=int, default=1000)
    c.add_argument("--cross-n", type=int, default=None, help="score all pairs of the first M")
    c.add_argument("--backend", default="onnx-int8")
    r = sub.add_parser("rerank")
    r.add_argument("--models", nargs="+", default=["stsb", "msrp"])
    r.add_argument("--top", type=int, default=50)
    a = sub.add_parser("augment")
    a.add_argument("--seeds", type=int, nargs="+", default=[1])
    a.add_argument("--gold", type=int, default=1000)
    a.add_argument("--per-sentence", type=int, default=3)
    t = sub.add_parser("teacher")
    t.add_argument("--epochs", type=int, nargs="+", default=[1, 4, 4])
    t.add_argument("--lr", type=float, nargs="+", default=[2e-5, 2e-5, 5e-5])
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--gold", type=int, default=1000)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))  # 1 beside other jobs
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    OUT.mkdir(parents=True, exist_ok=True)
    commands = {
        "quality": cmd_quality,
        "speed": cmd_speed,
        "cost": cmd_cost,
        "rerank": cmd_rerank,
        "augment": cmd_augment,
        "teacher": cmd_teacher,
    }
    commands[args.cmd](args)


if __name__ == "__main__":
    main()
