"""Augmented SBERT: BM25 neighbours equal a brute-force BM25 (the Okapi formula written out),
sampling leaves out gold and self pairs, and `sentvec augment` trains a bi-encoder on gold +
silver pairs labelled by the cross-encoder."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

import sentvec
from cross_models import PAIRS, make_cross_folder
from sentvec.cross.augment import bm25_neighbours, sample_pairs, vector_neighbours

TEXTS = [
    *dict.fromkeys(t for p in PAIRS for t in p),
    "a man is eating bread.",
    "the man rides a horse.",
    "drums are played by a monkey.",
]


def brute_bm25(texts: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    docs = [re.findall(r"\w+", t.lower()) for t in texts]
    n = len(docs)
    avg = sum(map(len, docs)) / n
    df = Counter(w for d in docs for w in set(d))
    out = np.zeros((n, n))
    for i, q in enumerate(docs):
        for j, d in enumerate(docs):
            tf = Counter(d)
            for w in set(q):
                if w in tf:
                    idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                    out[i, j] += idf * tf[w] * (k1 + 1) / (tf[w] + k1 * (1 - b + b * len(d) / avg))
    return out


def test_bm25_neighbours_match_brute_force() -> None:
    want = brute_bm25(TEXTS)
    got = bm25_neighbours(TEXTS, 3, chunk=4)
    for i, row in enumerate(got):
        scores = want[i].copy()
        scores[i] = -np.inf
        expected = [j for j in np.argsort(-scores, kind="stable")[:3] if scores[j] > 0]
        np.testing.assert_allclose(scores[row], scores[expected], atol=1e-9)  # ties may swap


def test_sample_pairs_leave_out_gold_and_self(tiny_encoder) -> None:
    gold = {PAIRS[0]}
    pairs = sample_pairs(TEXTS, tiny_encoder, 2, gold)
    keys = [tuple(sorted(p)) for p in pairs]
    assert len(keys) == len(set(keys)) and all(a != b for a, b in keys)
    assert tuple(sorted(PAIRS[0])) not in keys
    nn = vector_neighbours(tiny_encoder, TEXTS, 2)
    v = tiny_encoder.encode(TEXTS, normalize=True)
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    for i, row in enumerate(nn):
        np.testing.assert_allclose(sims[i, row], np.sort(sims[i])[::-1][:2], atol=1e-6)


def test_augment_command(tmp_path: Path, make_st_model) -> None:
    from typer.testing import CliRunner

    from sentvec.cli import app

    bi = make_st_model("mean", normalize=True)
    cross = make_cross_folder(tmp_path / "ce", 1)
    gold = tmp_path / "gold.jsonl"
    with open(gold, "w") as f:
        for a, b in PAIRS:
            f.write(json.dumps({"sentence1": a, "sentence2": b, "score": 4.0}) + "\n")
    out = tmp_path / "augmented"
    result = CliRunner().invoke(
        app,
        [
            "augment",
            str(gold),
            "--cross",
            str(cross),
            "--out",
            str(out),
            "-m",
            str(bi),
            "--score-scale",
            "5",
            "--per-sentence",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info["gold"] == len(PAIRS) and info["silver"] > 0
    assert sentvec.load(info["model"]).encode(["a man"]).shape == (1, 32)
