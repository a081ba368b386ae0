"""Duplicate groups against a brute-force all-pairs reference."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sentvec.apps.dedup import find_duplicates
from sentvec.apps.neighbors import knn
from sentvec.cli import app


def _brute_groups(x: np.ndarray, threshold: float) -> list[list[int]]:
    """All pairs scored; union-find over pairs >= threshold (the reference)."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = x @ x.T
    parent = list(range(len(x)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(s >= threshold, 1)), strict=False):
        parent[find(int(i))] = find(int(j))
    groups: dict[int, list[int]] = {}
    for i in range(len(x)):
        groups.setdefault(find(i), []).append(i)
    return sorted(g for g in groups.values() if len(g) > 1)


def _data(n_groups: int = 60, singles: int = 400, dim: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_groups, dim))
    sizes = rng.integers(2, 6, n_groups)
    near = np.concatenate(
        [c + 0.05 * rng.standard_normal((s, dim)) for c, s in zip(centres, sizes, strict=False)]
    )
    x = np.concatenate([near, rng.standard_normal((singles, dim))])
    return x[rng.permutation(len(x))].astype(np.float32)


@pytest.mark.parametrize("exact", [True, False])
def test_groups_match_brute_force(exact):
    x = _data()
    want = _brute_groups(x, 0.95)
    got = find_duplicates(vectors=x, threshold=0.95, k=8, exact=exact)
    assert sorted(g.members for g in got.groups) == want
    kept = got.keep_indices()
    assert len(kept) == len(x) - sum(len(g) - 1 for g in want)
    assert all(min(g) in kept for g in want)


def test_knn_exact_matches_numpy():
    x = _data(seed=1)[:300]
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = u @ u.T
    np.fill_diagonal(s, -np.inf)
    want = np.sort(s, axis=1)[:, ::-1][:, :5]
    got_s, got_i = knn(x, 5, exact=True)
    np.testing.assert_allclose(got_s, want, atol=1e-5)
    np.testing.assert_allclose(np.take_along_axis(s, got_i, 1), want, atol=1e-5)


def test_group_larger_than_k_is_one_group():
    rng = np.random.default_rng(2)
    x = np.repeat(rng.standard_normal((1, 16)), 30, axis=0) + 1e-3 * rng.standard_normal((30, 16))
    got = find_duplicates(vectors=x, threshold=0.99, k=3, exact=True)
    assert [g.members for g in got.groups] == [list(range(30))]


def test_dedup_texts_and_cli(tmp_path, tiny_encoder, make_st_model):
    texts = [
        "How do I reset my password?",
        "How do I reset my password?",
        "The cat sits.",
        "Weather is sunny and warm.",
        "The cat sits.",
        "How do I reset my password?",
    ]
    got = find_duplicates(texts, 0.999, encoder=tiny_encoder)
    assert sorted(g.members for g in got.groups) == [[0, 1, 5], [2, 4]]
    file = tmp_path / "in.txt"
    file.write_text("\n".join(texts) + "\n", encoding="utf8")
    model = str(make_st_model("mean", normalize=True))
    res = CliRunner().invoke(
        app,
        [
            "dedup",
            str(file),
            "--threshold",
            "0.999",
            "-m",
            model,
            "--out",
            str(tmp_path / "g.csv"),
            "--keep",
            str(tmp_path / "keep.txt"),
        ],
    )
    assert res.exit_code == 0, res.output
    with open(tmp_path / "g.csv", encoding="utf8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["group"], r["id"], r["keep"]) for r in rows] == [
        ("1", "1", "True"),
        ("1", "2", "False"),
        ("1", "6", "False"),
        ("2", "3", "True"),
        ("2", "5", "False"),
    ]
    assert (tmp_path / "keep.txt").read_text(encoding="utf8").splitlines() == [
        texts[0],
        texts[2],
        texts[3],
    ]
    res = CliRunner().invoke(app, ["dedup", str(file), "--threshold", "0.999", "-m", model])
    groups = [json.loads(x) for x in res.stdout.splitlines()]
    assert [g["size"] for g in groups] == [3, 2] and groups[0]["pairs"][0][2] >= 0.999
