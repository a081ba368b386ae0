"""Static embeddings side by side, in one run: the teacher (all-MiniLM-L6-v2, sentvec torch
and sentence-transformers torch for speed), our data-free distillation, our fine-tuned static
models, model2vec's own distil of the same teacher (in its own venv), and the cascade.

    python benchmarks/static.py                       # everything, ~30 min on a loaded 2-core box
    python benchmarks/static.py --no-model2vec        # without the model2vec side venv

Data: ../shared/data (STSb, msmarco-subset, AG News, wiki sentences). Fine-tuning data is
named in each row: wiki-sentences and STSb *train* sentences (teacher targets, no labels),
then STSb-train pairs scored >= 4 and MSRP-train paraphrases (in-batch negatives). Nothing
from a test or dev split is trained on; hyper-parameters were chosen on STSb dev.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import sentvec  # noqa: E402
from sentvec.static import report  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SIDE_PY = Path("/work/sidevenvs/model2vec/bin/python")


class Precomputed:
    """An encoder stand-in that looks vectors up (model2vec's, computed in its own venv)."""

    def __init__(self, texts: list[str], vectors: np.ndarray) -> None:
        self.table = dict(zip(texts, vectors, strict=True))
        self.spec = SimpleNamespace(similarity="cosine", prompts={})
        self.dim = vectors.shape[1]

    def encode(self, texts, normalize=False, **_: object) -> np.ndarray:
        v = np.stack([self.table[t] for t in ([texts] if isinstance(texts, str) else texts)])
        if normalize:
            v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return v.astype(np.float32)


class Cached:
    """Wraps an encoder, remembering vectors (so the cascade re-uses the teacher's work)."""

    def __init__(self, encoder) -> None:
        self.encoder, self.spec, self.dim, self.cache = encoder, encoder.spec, encoder.dim, {}
        self.encoded = 0

    def encode(self, texts, **kw) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            for t, v in zip(missing, self.encoder.encode(missing, **kw), strict=True):
                self.cache[t] = v
        self.encoded += len(set(texts))
        return np.stack([self.cache[t] for t in texts])


def st_speed(folder: Path, texts: list[str]) -> float:
    """sentence-transformers torch, texts per second (median of 3, batch 64)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    model.encode(texts[:64])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        model.encode(texts, batch_size=64)
        times.append(time.perf_counter() - t0)
    return len(texts) / statistics.median(times)


def all_eval_texts(files: report.EvalFiles) -> list[str]:
    from sentvec.evaluate.retrieval import read_beir
    from sentvec.evaluate.sts import read_sts

    texts: list[str] = []
    if files.sts:
        d = read_sts(files.sts)
        texts += d.sentences1 + d.sentences2
    if files.beir:
        b = read_beir(files.beir)
        texts += list(b.corpus.values()) + list(b.queries.values())
    if files.news:
        texts += report.read_news(files.news, files.news_classes, files.news_limit)[0]
        texts += [report.NEWS_TEMPLATE.format(c) for c in files.news_classes]
    return list(dict.fromkeys(texts))


def run_model2vec(teacher: Path, out: Path, files: report.EvalFiles, speed_texts: list[str]):
    out.mkdir(parents=True, exist_ok=True)
    texts = all_eval_texts(files)
    (out / "texts.json").write_text(json.dumps({"texts": texts, "speed_texts": speed_texts}))
    cmd = [str(SIDE_PY), str(ROOT / "benchmarks" / "_model2vec_side.py"), str(teacher), str(out)]
    subprocess.run([*cmd, str(out / "texts.json")], check=True)
    info = json.loads((out / "result.json").read_text())
    return Precomputed(texts, np.load(out / "vectors.npy")), info


def read_pairs(data: Path) -> list:
    """Positive pairs for stage 2: STSb *train* pairs scored >= 4, MSRP *train* paraphrases."""
    import csv

    from sentvec.evaluate.sts import read_sts
    from sentvec.train.data import Example

    train = read_sts(data / "stsb" / "sts-train.csv")
    pairs = [
        Example((a, b))
        for a, b, s in zip(train.sentences1, train.sentences2, train.scores, strict=True)
        if s >= 4
    ]
    with open(data / "msrp" / "msr-para-train.tsv", encoding="utf8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        pairs += [Example((r[3], r[4])) for r in rows if len(r) >= 5 and r[0] == "1"]
    return pairs


def fine_tune(static_dir: Path, teacher, out: Path, data: Path) -> dict[str, Path]:
    """Stage 1: MSE to the teacher's vectors on wiki + STSb-train sentences (no labels).
    Stage 2: in-batch negatives (MNRL) on STSb-train and MSRP-train positive pairs.
    Hyper-parameters chosen on STSb *dev*. Returns the folders."""
    from sentvec.evaluate.sts import read_sts
    from sentvec.static.tune import teacher_targets
    from sentvec.train import (
        MSEDistillationLoss,
        MultipleNegativesRankingLoss,
        Trainer,
        TrainingArgs,
    )
    from sentvec.train.data import Example, ExampleKind, TrainData

    folders = {"mse": out / "static-mse", "mnrl": out / "static-mse-mnrl"}
    if all(f.exists() for f in folders.values()):
        return folders
    student = sentvec.load(static_dir)
    cache = out / "teacher-targets.npz"
    if cache.exists():  # the teacher's part is the slow one (~15 min on a loaded 2-core box)
        saved = np.load(cache, allow_pickle=False)
        texts, labels = [str(t) for t in saved["texts"]], saved["labels"]
        targets = TrainData(
            ExampleKind.SENTENCES,
            [Example((t,), row.tolist()) for t, row in zip(texts, labels, strict=True)],
        )
    else:
        wiki = (data / "wiki-sentences" / "wiki1m-excerpt.txt").read_text(encoding="utf8")
        train = read_sts(data / "stsb" / "sts-train.csv")
        texts = [t for t in wiki.splitlines() if t.strip()] + train.sentences1 + train.sentences2
        t0 = time.perf_counter()
        targets = teacher_targets(student, teacher, texts)
        print(f"teacher targets for {len(targets)} texts: {time.perf_counter() - t0:.0f} s")
        np.savez(
            cache,
            texts=np.asarray([e.texts[0] for e in targets.examples]),
            labels=np.asarray([e.label for e in targets.examples], dtype=np.float32),
        )
    args = dict(batch_size=64, show_progress=False, resume=False, keep_best=False)
    t0 = time.perf_counter()
    Trainer(
        student,
        MSEDistillationLoss(),
        targets,
        TrainingArgs(output_dir=str(out / "run-mse"), epochs=3, lr=5e-3, **args),
    ).train()
    print(f"stage 1 (MSE, {len(targets)} texts, 3 epochs) {time.perf_counter() - t0:.0f} s")
    student.save(folders["mse"])
    pairs = read_pairs(data)
    t0 = time.perf_counter()
    Trainer(
        student,
        MultipleNegativesRankingLoss(),
        TrainData(ExampleKind.PAIRS, pairs, name="stsb-train+msrp-train"),
        TrainingArgs(output_dir=str(out / "run-mnrl"), epochs=1, lr=1e-3, **args),
    ).train()
    print(f"stage 2 (MNRL, {len(pairs)} pairs, 1 epoch) {time.perf_counter() - t0:.0f} s")
    student.save(folders["mnrl"])
    return folders


def cascade_rows(static, teacher, files: report.EvalFiles) -> dict[str, dict[str, float]]:
    """msmarco nDCG@10 of static-then-teacher at several shortlist sizes."""
    from sentvec.apps.cascade import cascade_top_k
    from sentvec.evaluate.retrieval import ndcg_at_k, read_beir

    data = read_beir(files.beir)
    doc_ids, q_ids = list(data.corpus), list(data.queries)
    docs = [data.corpus[d] for d in doc_ids]
    queries = [data.queries[q] for q in q_ids]
    first_vectors = static.encode(docs)
    rows = {}
    for c in (20, 50, 100):
        cached = Cached(teacher.encoder)
        cached.cache = teacher.cache
        _, idx, pool = cascade_top_k(
            static, cached, docs, queries, k=10, candidates=c, first_vectors=first_vectors
        )
        ndcg = np.mean(
            [
                ndcg_at_k([doc_ids[i] for i in row], data.qrels[q], 10)
                for row, q in zip(idx, q_ids, strict=True)
            ]
        )
        rows[f"cascade top-{c}"] = {"msmarco_ndcg@10": 100 * ndcg, "docs_reranked": pool}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "static-bench")
    parser.add_argument("--no-model2vec", action="store_true")
    parser.add_argument("--news-limit", type=int, default=2000)
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"benchmark data {args.data} is missing (the project's ../shared/data)")
    args.out.mkdir(parents=True, exist_ok=True)
    from sentvec.hub import packaged_model_path
    from sentvec.static.distillation import DistillConfig, distill

    teacher_dir = packaged_model_path()
    files = report.EvalFiles.from_folder(args.data, args.news_limit)
    speed_texts = report.speed_corpus(files)
    teacher = sentvec.load()
    ours = args.out / "static-free"
    if not ours.exists():
        t0 = time.perf_counter()
        distill(teacher, DistillConfig(), show_progress=False).save(ours)
        print(f"our distil (data-free): {time.perf_counter() - t0:.0f} s")
    tuned = fine_tune(ours, teacher, args.out, args.data)
    results: dict[str, dict[str, float]] = {}
    results["sentence-transformers torch"] = {"texts_per_s": st_speed(teacher_dir, speed_texts)}
    cached_teacher = Cached(teacher)
    results["teacher (sentvec torch)"] = report.evaluate(cached_teacher, files, None)
    results["teacher (sentvec torch)"]["texts_per_s"] = report.speed(teacher, speed_texts)
    if not args.no_model2vec:
        m2v, info = run_model2vec(teacher_dir, args.out / "model2vec", files, speed_texts)
        results["model2vec distill"] = report.evaluate(m2v, files, None)  # type: ignore[arg-type]
        results["model2vec distill"]["texts_per_s"] = info["texts_per_s"]
    for name, folder in (
        ("ours, data-free", ours),
        ("ours + MSE (wiki+stsb-train text)", tuned["mse"]),
        ("ours + MSE + MNRL (stsb/msrp-train pairs)", tuned["mnrl"]),
    ):
        results[name] = report.evaluate(sentvec.load(folder), files, speed_texts)
    best = sentvec.load(ours)  # the data-free model retrieves best (see the table)
    results.update(cascade_rows(best, cached_teacher, files))
    st = results["sentence-transformers torch"]["texts_per_s"]
    for row in results.values():
        if "texts_per_s" in row:
            row["x_st_torch"] = row["texts_per_s"] / st
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    metrics = list(dict.fromkeys(m for r in results.values() for m in r))
    print("| model | " + " | ".join(metrics) + " |")
    print("|---" * (len(metrics) + 1) + "|")
    for name, row in results.items():
        whole = ("texts_per_s", "docs_reranked")
        cells = [
            "-" if m not in row else (f"{row[m]:,.0f}" if m in whole else f"{row[m]:.2f}")
            for m in metrics
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
