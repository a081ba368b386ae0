"""Cluster keywords a person would pick: AG News (all 7,600 rows), 4 k-means clusters of the
MiniLM vectors; each cluster is matched to its majority class, and its top-5 keywords are
checked against that class's 50 most distinctive words by a chi-square test of each word's
presence against the other classes (scikit-learn's ``chi2``, the reference). Also the example
help centre (10 articles, 3 clusters): whether the product's name or filler words show up.

    python benchmarks/keywords.py
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sentvec
from sentvec.apps.cluster import clean_text, cluster

from _common import data_path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "out" / "keywords"


def ag_news() -> tuple[list[str], np.ndarray, list[str]]:
    names = data_path("ag-news", "classes.txt").read_text(encoding="utf8").split()
    texts, labels = [], []
    with open(data_path("ag-news", "test_full.csv"), encoding="utf8") as f:
        for row in csv.reader(f):
            labels.append(int(row[0]) - 1)
            texts.append(f"{row[1]}. {row[2]}")
    return texts, np.array(labels), names


def distinctive(texts: list[str], labels: np.ndarray, n: int = 50) -> list[set[str]]:
    """Each class's n words with the highest chi-square against the other classes."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
    from sklearn.feature_selection import chi2

    vec = CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS),
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
        binary=True,
        min_df=5,
    )
    x = vec.fit_transform([clean_text(t) for t in texts])
    vocab = vec.get_feature_names_out()
    out = []
    for c in range(labels.max() + 1):
        scores, _ = chi2(x, labels == c)
        present = np.asarray(x[labels == c].sum(axis=0)).ravel()
        rest = np.asarray(x[labels != c].sum(axis=0)).ravel()
        # distinctive FOR the class: more frequent inside it than outside
        over = present / max((labels == c).sum(), 1) > rest / max((labels != c).sum(), 1)
        scores = np.where(over, np.nan_to_num(scores), 0)
        out.append({str(vocab[j]) for j in np.argsort(-scores)[:n]})
    return out


def main() -> None:
    enc = sentvec.load()
    texts, labels, names = ag_news()
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / "ag_news_minilm.npy"
    if cached.exists():
        x = np.load(cached)
    else:
        x = enc.encode(texts, show_progress=True)
        np.save(cached, x)
    result = cluster(texts, vectors=x, k=4, seed=0)
    reference = distinctive(texts, labels)
    shares = []
    print("| cluster | size | majority class | keywords | in the class's 50 most distinctive |")
    print("|---|---|---|---|---|")
    for cl in result.clusters:
        major = int(np.bincount(labels[cl.members], minlength=len(names)).argmax())
        hits = [w for w in cl.keywords if w in reference[major]]
        shares.append(len(hits) / max(len(cl.keywords), 1))
        print(
            f"| {cl.id} | {cl.size} | {names[major]} | {', '.join(cl.keywords)} | "
            f"{len(hits)}/{len(cl.keywords)} |"
        )
    print(f"\nAG News: {100 * np.mean(shares):.0f}% of the top-5 keywords are distinctive words")

    from sentvec.io import read_records

    records = read_records(ROOT / "examples" / "help-centre")
    docs = [f"{r.metadata.get('title', '')}. {r.text}" for r in records]
    hc = cluster(docs, k=3, seed=0, encoder=enc)
    print("\nhelp centre, 3 clusters:")
    for cl in hc.clusters:
        titles = [records[i].metadata.get("title") for i in cl.members]
        print(f"- {', '.join(cl.keywords)}  ({'; '.join(titles)})")


if __name__ == "__main__":
    main()
