"""Clustering on a synthetic set with obvious clusters, c-TF-IDF by hand, the map files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("sklearn")
from sklearn.metrics import adjusted_rand_score

from sentvec.apps.cluster import cluster, ctfidf_keywords, term_weights
from sentvec.apps.plot import reduce_2d, write_html, write_png
from sentvec.cli import app

TOPICS = {
    "sport": ["football", "goal", "match", "team"],
    "money": ["stocks", "market", "bank", "profit"],
    "space": ["rocket", "orbit", "planet", "nasa"],
    "food": ["pizza", "cheese", "bread", "recipe"],
}


def _synthetic(per: int = 40, dim: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = 3 * rng.standard_normal((4, dim))
    labels = np.repeat(np.arange(4), per)
    x = centres[labels] + 0.3 * rng.standard_normal((len(labels), dim))
    names = list(TOPICS)
    texts = [" ".join(rng.choice(TOPICS[names[c]], 3)) + " the news today" for c in labels]
    return x.astype(np.float32), labels, texts


@pytest.mark.parametrize(
    ("method", "kw"),
    [
        ("kmeans", {"k": 4}),
        ("kmeans", {}),
        ("agglomerative", {"threshold": 0.5}),
        ("community", {"threshold": 0.7, "min_size": 5}),
    ],
)
def test_recovers_obvious_clusters(method, kw):
    x, truth, texts = _synthetic()
    got = cluster(texts, method, vectors=x, **kw)
    assert adjusted_rand_score(truth, got.labels) == pytest.approx(1.0)
    assert len(got.clusters) == 4 and all(c.size == 40 for c in got.clusters)
    for c in got.clusters:
        topic = list(TOPICS)[truth[c.members[0]]]
        assert set(c.keywords[:4]) == set(TOPICS[topic])  # "news"/"today" are everywhere
        assert set(c.examples) <= set(c.members) and len(c.examples) == 3
    if method == "kmeans" and "k" not in kw:
        assert max(got.silhouette, key=got.silhouette.get) == 4


def test_central_examples_are_closest_to_mean():
    x, _truth, texts = _synthetic()
    got = cluster(texts, "kmeans", k=4, vectors=x, n_examples=2)
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    for c in got.clusters:
        m = u[c.members].mean(0)
        best = np.array(c.members)[np.argsort(-(u[c.members] @ m))[:2]]
        assert c.examples == best.tolist()


def test_community_leaves_outliers_unassigned():
    x, _, _texts = _synthetic()
    rng = np.random.default_rng(5)
    far = 3 * rng.standard_normal((5, x.shape[1])).astype(np.float32)
    got = cluster(None, "community", vectors=np.concatenate([x, far]), threshold=0.7, min_size=5)
    assert (got.labels[-5:] == -1).all() and (got.labels[:-5] >= 0).all()


def test_term_weights_by_hand():
    # 2 clusters of 2 texts; "apple" in both texts of cluster 0 only; "pear" in one text each
    in_cluster = np.array([[2, 1, 0], [0, 1, 2]])
    df = np.array([2, 2, 2])
    want = np.array(
        [
            [1.0 * np.log(1.0 / 0.5), 0.5 * np.log(0.5 / 0.5), 0.0],
            [0.0, 0.5 * np.log(0.5 / 0.5), 1.0 * np.log(1.0 / 0.5)],
        ]
    )
    np.testing.assert_allclose(term_weights(in_cluster, np.array([2, 2]), df, 4), want)
    texts = ["apple pie pear", "apple tart", "kiwi pear", "kiwi juice"]
    words = ctfidf_keywords(texts, np.array([0, 0, 1, 1]), 2)
    assert words == {0: ["apple"], 1: ["kiwi"]}  # a word in one text of a cluster names none


def test_a_word_in_most_texts_drops_out():
    brand = "Ledgerline"
    texts = [f"{brand} zebra refund money" for _ in range(4)]
    texts += [f"{brand} apple password login" for _ in range(4)]
    texts += [f"{brand} invoice tax vat" for _ in range(3)]
    labels = np.array([0] * 4 + [1] * 4 + [2] * 3)
    words = ctfidf_keywords(texts, labels, 3)
    assert all("ledgerline" not in w for w in words.values())
    assert set(words[0]) == {"zebra", "refund", "money"} and set(words[2]) == {
        "invoice",
        "tax",
        "vat",
    }
    texts[0] = texts[0].replace("zebra", "refund")  # zebra now in fewer of the cluster's texts
    assert ctfidf_keywords(texts, labels, 3)[0][-1] == "zebra"


def test_map_files(tmp_path):
    x, truth, texts = _synthetic(per=10)
    points, used = reduce_2d(x, "pca")
    from sklearn.decomposition import PCA

    ref = PCA(n_components=2, random_state=0).fit_transform(x)
    np.testing.assert_allclose(np.abs(points), np.abs(ref), atol=1e-3)
    assert used == "pca"
    png = write_png(points, truth, tmp_path / "m.png", "t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = write_html(points, truth, texts, tmp_path / "m.html", "t<>", {0: "sport"})
    body = page.read_text(encoding="utf8")
    assert body.count("<circle") == len(x) and "<title>[0] " in body and "t&lt;&gt;" in body


def test_cluster_cli(tmp_path, make_st_model):
    texts = ["football goal match", "team won the match", "stocks fell", "bank profit market"] * 3
    file = tmp_path / "t.txt"
    file.write_text("\n".join(texts) + "\n", encoding="utf8")
    model = str(make_st_model("mean", normalize=True))
    res = CliRunner().invoke(
        app,
        [
            "cluster",
            str(file),
            "--clusters",
            "2",
            "-m",
            model,
            "--json",
            "--out",
            str(tmp_path / "a.csv"),
            "--map",
            str(tmp_path / "map.png"),
            "--map-method",
            "pca",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert sum(r["size"] for r in rows) == len(texts) and len(rows) == 2
    assert (tmp_path / "map.png").exists() and (tmp_path / "map.html").exists()
    assert len((tmp_path / "a.csv").read_text(encoding="utf8").splitlines()) == len(texts) + 1
