"""A static model beside its teacher: STS, retrieval, zero-shot classification, clustering and
speed, on the user's files or on a folder laid out like the project's evaluation data.

Folder layout (any part may be missing; that row is then skipped)::

    DIR/stsb/sts-test.csv          STS benchmark test (tab-separated)
    DIR/msmarco-subset/            BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv
    DIR/ag-news/test_full.csv      class index (1-based), title, description; classes.txt
"""

from __future__ import annotations

import csv
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

NEWS_TEMPLATE = "This news article is about {}."
SPEED_TEXTS = 2000  # texts per timed run
SEEDS = 10  # k-means seeds for the clustering score (the median is reported)


@dataclass
class EvalFiles:
    """Where the evaluation data is; None skips that task."""

    sts: Path | None = None
    beir: Path | None = None
    news: Path | None = None
    news_classes: list[str] = field(default_factory=list)
    # AG News rows used, from the top (the file is shuffled); None: all. A 2,000-row slice
    # moves k-means' V-measure by +-3 points for one model (BENCHMARKS.md): use all to compare.
    news_limit: int | None = None

    @classmethod
    def from_folder(cls, folder: str | Path, news_limit: int | None = None) -> EvalFiles:
        """Find the files of the layout above in ``folder``.

        :param folder: the data folder.
        :param news_limit: AG News rows to use (None: all).
        :return: the files found.
        :raises SentvecError: none of them is there.
        """
        root = Path(folder)
        sts = root / "stsb" / "sts-test.csv"
        beir = root / "msmarco-subset"
        news = root / "ag-news" / "test_full.csv"
        classes = root / "ag-news" / "classes.txt"
        found = cls(
            sts if sts.exists() else None,
            beir if (beir / "corpus.jsonl").exists() else None,
            news if news.exists() and classes.exists() else None,
            classes.read_text(encoding="utf8").split("\n") if classes.exists() else [],
            news_limit,
        )
        found.news_classes = [c.strip() for c in found.news_classes if c.strip()]
        if found.sts is None and found.beir is None and found.news is None:
            raise SentvecError(
                f"no evaluation data in {str(root)!r} (looked for stsb/sts-test.csv, "
                "msmarco-subset/corpus.jsonl, ag-news/test_full.csv). Fix: pass --eval-data "
                "with that layout, or --sts FILE / --beir DIR."
            )
        return found


def read_news(
    path: Path, classes: Sequence[str], limit: int | None = None
) -> tuple[list[str], list[str]]:
    """AG News rows: (title + description, class name), the first ``limit`` rows (None: all).

    :param path: the CSV. :param classes: class names in index order. :param limit: rows.
    :return: texts and labels.
    """
    texts: list[str] = []
    labels: list[str] = []
    with open(path, encoding="utf8", newline="") as f:
        for row in csv.reader(f):
            if limit is not None and len(texts) >= limit:
                break
            if len(row) >= 3 and row[0].strip().isdigit():
                texts.append(f"{row[1]}. {row[2]}".replace("\\", " "))
                labels.append(classes[int(row[0]) - 1])
    return texts, labels


def speed(encoder: Encoder, texts: Sequence[str], repeats: int = 3) -> float:
    """Median texts per second of ``encoder.encode`` over ``repeats`` runs (after a warm-up).

    :param encoder: the model. :param texts: what to encode. :param repeats: timed runs.
    :return: texts per second.
    """
    batch = 1024 if encoder.backend.name == "static" else 64  # static: cost per token, not batch
    encoder.encode(list(texts[:64]), show_progress=False)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.encode(list(texts), batch_size=batch, show_progress=False)
        times.append(time.perf_counter() - start)
    return len(texts) / statistics.median(times)


def evaluate(
    encoder: Encoder, files: EvalFiles, speed_texts: Sequence[str] | None
) -> dict[str, float]:
    """Every task of ``files`` on one model.

    :param encoder: the model.
    :param files: the data.
    :param speed_texts: texts for the throughput figure (None: no speed row).
    :return: metric name -> value (scores x 100, speed in texts/s).
    """
    from sentvec.apps.classify import classify
    from sentvec.evaluate import RetrievalEvaluator, STSEvaluator

    out: dict[str, float] = {}
    if files.sts is not None:
        out["stsb_test"] = (
            100 * STSEvaluator.from_file(files.sts, "s")(encoder)["s_cosine_spearman"]
        )
    if files.beir is not None:
        res = RetrievalEvaluator.from_folder(files.beir, name="r")(encoder)
        out["msmarco_ndcg@10"] = 100 * res["r_ndcg@10"]
    if files.news is not None:
        texts, labels = read_news(files.news, files.news_classes, files.news_limit)
        vectors = encoder.encode(texts, normalize=True, show_progress=False)
        preds = classify(None, files.news_classes, NEWS_TEMPLATE, encoder=encoder, vectors=vectors)
        out["agnews_zeroshot_acc"] = 100 * float(
            np.mean([p.label == y for p, y in zip(preds, labels, strict=True)])
        )
        out["agnews_v_measure"] = 100 * clustering_score(vectors, labels, len(files.news_classes))
    if speed_texts is not None:
        out["texts_per_s"] = speed(encoder, speed_texts)
    return out


def clustering_score(vectors: np.ndarray, labels: Sequence[str], k: int) -> float:
    """V-measure of k-means against the labels, the median over :data:`SEEDS` k-means seeds
    (one seed's figure moves by several points).

    :param vectors: (n, d) normalised vectors. :param labels: n labels. :param k: clusters.
    :return: the median V-measure (0..1).
    """
    from sentvec.evaluate.clustering import kmeans, v_measure

    scores = [v_measure(labels, kmeans(vectors, k, seed=s).tolist()) for s in range(SEEDS)]
    return float(np.median(scores))


def speed_corpus(files: EvalFiles, n: int = SPEED_TEXTS) -> list[str]:
    """Texts to time: STS test sentences when there, else the packaged knowledge base.

    :param files: the data. :param n: how many. :return: the texts.
    """
    if files.sts is not None:
        from sentvec.evaluate.sts import read_sts

        data = read_sts(files.sts)
        texts = data.sentences1 + data.sentences2
    else:
        from sentvec.io import read_records

        kb = Path(__file__).resolve().parents[1] / "data" / "knowledge_base.jsonl"
        texts = [r.text for r in read_records(kb)]
    return (texts * (n // max(len(texts), 1) + 1))[:n]


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """A plain-text table: one column per model, one row per metric, plus ratios to the first.

    :param rows: model name -> metrics (the first model is the reference).
    :return: the table.
    """
    names = list(rows)
    metrics = list(dict.fromkeys(m for r in rows.values() for m in r))
    ref = rows[names[0]]
    width = max(12, *(len(n) for n in names))
    lines = [f"{'metric':<22}" + "".join(f"{n:>{width + 2}}" for n in names)]
    for m in metrics:
        cells = []
        for n in names:
            v = rows[n].get(m)
            if v is None:
                cells.append(f"{'-':>{width + 2}}")
                continue
            text = f"{v:,.0f}" if m == "texts_per_s" else f"{v:.2f}"
            if n != names[0] and ref.get(m):
                text += f" ({v / ref[m]:.0%})" if m != "texts_per_s" else f" ({v / ref[m]:.0f}x)"
            cells.append(f"{text:>{width + 2}}")
        lines.append(f"{m:<22}" + "".join(cells))
    return "\n".join(lines)
