"""Static embeddings side by side, in one run: the teacher (all-MiniLM-L6-v2, sentvec torch
and sentence-transformers torch for speed), our data-free distillation, our fine-tuned static
models, model2vec's own distil of the same teacher (in its own venv), and the cascade.

    nice -n 19 python benchmarks/static.py             # build, train and score (no timing)
    flock /work/helpers/bench.lock python benchmarks/static.py --speed   # then the timed part
    python benchmarks/static.py --no-model2vec         # without the model2vec side venv

Data: ../shared/data (STSb, msmarco-subset, AG News, wiki sentences, MSRP, SNLI dev). The
shipped recipe (`sentvec distill --fit FILE`) fits the data-free model to the teacher's
vectors of unlabelled text (:func:`fit_texts`: wiki sentences, passages of 2-5 consecutive
wiki sentences, 2-6 word spans of wiki sentences, STSb *train*, MSRP *train* and SNLI *dev*
sentences). Nothing from a test split is trained on (msmarco-subset, STSb test, AG News are
only scored); settings were chosen on STSb dev and on held-out training text.

The first run writes results.json without speed; ``--speed`` times every model (same texts,
same process order) under the benchmark lock, adds texts/s and the ratio to
sentence-transformers torch, and prints the table.
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
from sentvec.evaluate import suite as report  # noqa: E402

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


def run_model2vec(
    teacher: Path, out: Path, files: report.EvalFiles, speed_texts: list[str], part: str
):
    out.mkdir(parents=True, exist_ok=True)
    texts = all_eval_texts(files)
    (out / "texts.json").write_text(json.dumps({"texts": texts, "speed_texts": speed_texts}))
    cmd = [str(SIDE_PY), str(ROOT / "benchmarks" / "_model2vec_side.py"), str(teacher), str(out)]
    subprocess.run([*cmd, str(out / "texts.json"), part], check=True)
    info = json.loads((out / "result.json").read_text())
    return Precomputed(texts, np.load(out / "vectors.npy")), info


def fit_texts(data: Path, seed: int = 0) -> list[str]:
    """Unlabelled training text for the recipe, deduplicated, in a fixed order.

    :param data: the shared data folder. :param seed: passage and span sampling.
    :return: the texts (about 43,500).
    """
    import csv
    import random

    from sentvec.evaluate.sts import read_sts

    wiki_file = data / "wiki-sentences" / "wiki1m-excerpt.txt"
    wiki = [t.strip() for t in wiki_file.read_text(encoding="utf8").splitlines() if t.strip()]
    rng = random.Random(seed)
    passages, i = [], 0
    while i < len(wiki):  # consecutive sentences: passage-shaped text
        n = rng.randint(2, 5)
        passages.append(" ".join(wiki[i : i + n]))
        i += n
    spans = []  # short fragments: query-shaped text
    for sentence in wiki:
        words = sentence.split()
        if len(words) >= 4:
            n = rng.randint(2, 6)
            at = rng.randint(0, max(0, len(words) - n))
            spans.append(" ".join(words[at : at + n]).strip(".,;:()\"'"))
    train = read_sts(data / "stsb" / "sts-train.csv")
    msrp: list[str] = []
    with open(data / "msrp" / "msr-para-train.tsv", encoding="utf8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        for r in rows:
            if len(r) >= 5:
                msrp += [r[3], r[4]]
    snli: list[str] = []
    with open(data / "snli-partial" / "snli_1.0_dev.jsonl", encoding="utf8") as f:
        for line in f:
            row = json.loads(line)
            snli += [row["sentence1"], row["sentence2"]]
    texts = [*wiki, *passages, *spans, *train.sentences1, *train.sentences2, *msrp, *snli]
    return list(dict.fromkeys(t for t in texts if t.strip()))


def fit_recipe(static_dir: Path, teacher, out: Path, data: Path) -> Path:
    """The shipped recipe, as `sentvec distill --fit FILE` runs it: the data-free model fitted
    to the teacher's vectors of :func:`fit_texts` (FitConfig defaults). Returns the folder."""
    from sentvec.backends.static.model import StaticModel
    from sentvec.distill.tune import fit_to_teacher

    folder = out / "static-fit"
    if folder.exists():
        return folder
    texts = fit_texts(data)
    (out / "fit-texts.txt").write_text("\n".join(texts) + "\n", encoding="utf8")
    cache = out / "fit-targets.npz"  # the teacher's part is the slow one
    if cache.exists() and [str(t) for t in np.load(cache)["texts"]] == texts:
        targets = np.load(cache)["Y"]
    else:
        t0 = time.perf_counter()
        targets = teacher.encode(texts, batch_size=64, normalize=True, show_progress=False)
        print(f"teacher vectors of {len(texts)} texts: {time.perf_counter() - t0:.0f} s")
        np.savez(cache, texts=np.asarray(texts), Y=targets)
    res = fit_to_teacher(StaticModel.load(static_dir), texts, targets)
    print(
        f"fit: {len(texts)} texts, {res.seconds:.0f} s, held-out cosine to the teacher "
        f"{res.start_cosine:.4f} -> {res.heldout_cosine:.4f}"
    )
    res.model.save(folder)
    return folder


def cascade_rows(
    static, teacher, files: report.EvalFiles, label: str, sizes: tuple[int, ...]
) -> dict[str, dict[str, float]]:
    """msmarco nDCG@10 of static-then-teacher at several shortlist sizes."""
    from sentvec.apps.cascade import cascade_top_k
    from sentvec.evaluate.retrieval import ndcg_at_k, read_beir

    data = read_beir(files.beir)
    doc_ids, q_ids = list(data.corpus), list(data.queries)
    docs = [data.corpus[d] for d in doc_ids]
    queries = [data.queries[q] for q in q_ids]
    first_vectors = static.encode(docs)
    rows = {}
    for c in sizes:
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
        rows[f"cascade top-{c} ({label} -> teacher)"] = {
            "msmarco_ndcg@10": 100 * ndcg,
            "docs_reranked": pool,
        }
    return rows


def fit_seed_rows(
    static_dir: Path, out: Path, files: report.EvalFiles, seeds: int
) -> dict[str, dict[str, float]]:
    """The recipe fitted again with other seeds (row order and held-out split): how much of a
    difference between models is the fit's own randomness. Seed 0 is the recipe row."""
    from sentvec.backends.static.model import StaticModel
    from sentvec.distill.tune import FitConfig, fit_to_teacher

    cache = np.load(out / "fit-targets.npz")
    texts, targets = [str(t) for t in cache["texts"]], cache["Y"]
    rows = {}
    for seed in range(1, seeds):
        folder = out / f"static-fit-seed{seed}"
        if not folder.exists():
            fit = fit_to_teacher(StaticModel.load(static_dir), texts, targets, FitConfig(seed=seed))
            fit.model.save(folder)
        rows[f"recipe, fit seed {seed}"] = report.evaluate(sentvec.load(folder), files, None)
    return rows


def noise_report(models: dict[str, object], files: report.EvalFiles, reference: str) -> dict:
    """How far apart two models must be to be apart: a paired bootstrap over msmarco queries
    (difference to ``reference``, 95% interval) and AG News V-measure on four quarters of the
    file (median of the k-means seeds each)."""
    from sentvec.evaluate.retrieval import RetrievalEvaluator

    retrieval = RetrievalEvaluator.from_folder(files.beir)
    per_query = {
        name: np.array(retrieval.per_query(m)["ndcg@10"])  # type: ignore[arg-type]
        for name, m in models.items()
    }
    rng = np.random.default_rng(0)
    n = len(per_query[reference])
    draws = rng.integers(0, n, (10_000, n))
    out: dict[str, dict[str, object]] = {}
    texts, labels = report.read_news(files.news, files.news_classes, files.news_limit)
    quarter, k = len(texts) // 4, len(files.news_classes)
    for name, m in models.items():
        diff = per_query[name] - per_query[reference]
        boot = diff[draws].mean(axis=1)
        vectors = m.encode(texts, normalize=True)  # type: ignore[attr-defined]
        parts = [slice(q * quarter, (q + 1) * quarter) for q in range(4)]
        slices = [round(100 * report.clustering_score(vectors[p], labels[p], k), 2) for p in parts]
        out[name] = {
            f"msmarco minus {reference}": round(100 * float(diff.mean()), 2),
            "95% interval": [round(100 * float(x), 2) for x in np.percentile(boot, [2.5, 97.5])],
            "V-measure per quarter": slices,
        }
    print(f"\nmsmarco: {n} judged queries; AG News quarters of {quarter} rows")
    for name, row in out.items():
        print(f"{name}: {row}")
    return out


def print_table(results: dict[str, dict[str, float]]) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "static-bench")
    parser.add_argument("--no-model2vec", action="store_true")
    parser.add_argument("--news-limit", type=int, default=None, help="AG News rows (all)")
    parser.add_argument("--speed", action="store_true", help="the timed part (run under lock)")
    parser.add_argument("--fit-seeds", type=int, default=5, help="recipe fits to score (seeds)")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"benchmark data {args.data} is missing (the project's ../shared/data)")
    args.out.mkdir(parents=True, exist_ok=True)
    from sentvec.distill.distillation import DistillConfig, distill
    from sentvec.hub import packaged_model_path

    teacher_dir = packaged_model_path()
    files = report.EvalFiles.from_folder(args.data, args.news_limit)
    speed_texts = report.speed_corpus(files)
    teacher = sentvec.load()
    ours = args.out / "static-free"
    fitted = args.out / "static-fit"
    statics = {"ours, data-free": ours, "ours, data-free + fit to teacher (recipe)": fitted}
    result_file = args.out / "results.json"
    if args.speed:
        results = json.loads(result_file.read_text())
        results["sentence-transformers torch"] = {"texts_per_s": st_speed(teacher_dir, speed_texts)}
        results["teacher (sentvec torch)"]["texts_per_s"] = report.speed(teacher, speed_texts)
        if not args.no_model2vec:
            _, info = run_model2vec(
                teacher_dir, args.out / "model2vec", files, speed_texts, "speed"
            )
            results["model2vec distill"]["texts_per_s"] = info["texts_per_s"]
        for name, folder in statics.items():
            results[name]["texts_per_s"] = report.speed(sentvec.load(folder), speed_texts)
        st = results["sentence-transformers torch"]["texts_per_s"]
        for row in results.values():
            if "texts_per_s" in row:
                row["x_st_torch"] = row["texts_per_s"] / st
        order = [
            "sentence-transformers torch",
            *(k for k in results if k != "sentence-transformers torch"),
        ]
        results = {k: results[k] for k in order}
        result_file.write_text(json.dumps(results, indent=2))
        print_table(results)
        return
    if not ours.exists():
        t0 = time.perf_counter()
        distill(teacher, DistillConfig(), show_progress=False).save(ours)
        print(f"our distil (data-free): {time.perf_counter() - t0:.0f} s")
    fit_recipe(ours, teacher, args.out, args.data)
    results: dict[str, dict[str, float]] = {}
    cached_teacher = Cached(teacher)
    results["teacher (sentvec torch)"] = report.evaluate(cached_teacher, files, None)  # type: ignore[arg-type]
    if not args.no_model2vec:
        m2v, _ = run_model2vec(teacher_dir, args.out / "model2vec", files, speed_texts, "vectors")
        results["model2vec distill"] = report.evaluate(m2v, files, None)  # type: ignore[arg-type]
    for name, folder in statics.items():
        results[name] = report.evaluate(sentvec.load(folder), files, None)
    results.update(fit_seed_rows(ours, args.out, files, args.fit_seeds))
    recipe = [k for k in results if k.startswith(("ours, data-free + fit", "recipe, fit seed"))]
    if len(recipe) > 1:
        results[f"recipe, median of fit seeds 0-{len(recipe) - 1}"] = {
            m: float(np.median([results[k][m] for k in recipe])) for m in results[recipe[0]]
        }
    if not args.no_model2vec:
        noise = noise_report(
            {
                "teacher": cached_teacher,
                "model2vec distill": m2v,
                "ours, recipe": sentvec.load(fitted),
            },
            files,
            "model2vec distill",
        )
        (args.out / "noise.json").write_text(json.dumps(noise, indent=2))
    results.update(cascade_rows(sentvec.load(ours), cached_teacher, files, "data-free", (100,)))
    sizes = (20, 50, 100, 200, 300)
    results.update(cascade_rows(sentvec.load(fitted), cached_teacher, files, "recipe", sizes))
    result_file.write_text(json.dumps(results, indent=2))
    print_table(results)


if __name__ == "__main__":
    main()
