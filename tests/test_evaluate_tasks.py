"""Retrieval, pair classification, triplet and clustering evaluators against references
(hand-computed rankings, scikit-learn, brute-force threshold search)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from sentvec.evaluate import (
    ClusteringEvaluator,
    PairClassificationEvaluator,
    RetrievalEvaluator,
    TripletEvaluator,
    read_beir,
)
from sentvec.evaluate.clustering import ClusterData, kmeans, v_measure
from sentvec.evaluate.pairs import PairData, average_precision, best_accuracy, best_f1
from sentvec.evaluate.retrieval import map_at_k, mrr_at_k, ndcg_at_k, recall_at_k
from sentvec.evaluate.triplets import TripletData
from sentvec.io import InputFileError


class TableEncoder:
    """A stand-in encoder: each text's vector comes from a table."""

    def __init__(self, table):
        self.table = {k: np.asarray(v, dtype=np.float32) for k, v in table.items()}
        self.spec = SimpleNamespace(similarity="cosine")

    def encode(self, texts, batch_size=32, prompt=None, normalize=False, **kw):
        out = np.stack([self.table[t] for t in texts])
        if normalize:
            out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def test_ranking_metrics_by_hand():
    ranked = ["d3", "d1", "d9", "d2"]
    qrels = {"d1": 2, "d2": 1, "d7": 1, "d8": 0}
    assert mrr_at_k(ranked, qrels, 10) == 0.5
    assert mrr_at_k(ranked, qrels, 1) == 0.0
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(ranked, qrels, 10) == pytest.approx(dcg / idcg)
    assert recall_at_k(ranked, qrels, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, qrels, 10) == pytest.approx(2 / 3)
    assert map_at_k(ranked, qrels, 100) == pytest.approx((1 / 2 + 2 / 4) / 3)


def _beir(tmp_path, header=False):
    (tmp_path / "qrels").mkdir(parents=True)
    corpus = [{"_id": f"d{i}", "title": "", "text": f"doc {i}"} for i in range(4)]
    queries = [
        {"_id": "q1", "text": "query 1"},
        {"_id": "q2", "text": "query 2"},
        {"_id": "q3", "text": "unjudged"},
    ]
    (tmp_path / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in corpus))
    (tmp_path / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in queries))
    lines = (["query-id\tcorpus-id\tscore"] if header else []) + [
        "q1\td2\t1",
        "q2\td0\t1",
        "q2\td3\t1",
    ]
    (tmp_path / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("header", [False, True])
def test_retrieval_evaluator(tmp_path, header):
    folder = _beir(tmp_path, header)
    data = read_beir(folder)
    assert set(data.queries) == {"q1", "q2"}  # unjudged queries are left out
    # q1 ranks d2 first; q2 ranks d1, d0, d2, d3 (relevant at ranks 2 and 4)
    table = {
        "doc 0": [0, 1, 0],
        "doc 1": [0, 0.9, 0.45],
        "doc 2": [1, 0, 0],
        "doc 3": [-0.2, 0.1, -1],
        "query 1": [1, 0, 0],
        "query 2": [0, 1, 0.5],
    }
    got = RetrievalEvaluator(data)(TableEncoder(table))
    assert got["retrieval_mrr@10"] == pytest.approx((1 + 1 / 2) / 2)
    assert got["retrieval_recall@1"] == pytest.approx((1 + 0) / 2)
    assert got["retrieval_recall@10"] == pytest.approx(1.0)
    ndcg2 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert got["retrieval_ndcg@10"] == pytest.approx((1 + ndcg2) / 2)
    assert got["retrieval_map@100"] == pytest.approx((1 + (1 / 2 + 2 / 4) / 2) / 2)
    per = RetrievalEvaluator(data).per_query(TableEncoder(table))  # the same, query by query
    assert per["ndcg@10"] == pytest.approx([1, ndcg2])
    assert per["mrr@10"] == pytest.approx([1, 1 / 2])


def test_retrieval_bad_qrels_line_names_file_and_line(tmp_path):
    folder = _beir(tmp_path)
    with open(folder / "qrels" / "test.tsv", "a") as f:
        f.write("q1\n")
    with pytest.raises(InputFileError, match=r"test.tsv:4"):
        read_beir(folder)


def _brute_force(scores, labels):
    from sklearn.metrics import accuracy_score, f1_score

    cands = [*sorted(set(scores.tolist())), max(scores) + 1]
    accs = [accuracy_score(labels, scores >= t) for t in cands]
    f1s = [f1_score(labels, scores >= t, zero_division=0) for t in cands]
    return max(accs), max(f1s)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_metrics_against_sklearn(seed):
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 40)
    scores = np.round(labels * 0.3 + rng.normal(size=40) * 0.3, 1)  # rounding makes ties
    acc, acc_t = best_accuracy(scores, labels)
    f1, _, _, f1_t = best_f1(scores, labels)
    ref_acc, ref_f1 = _brute_force(scores, labels)
    assert acc == pytest.approx(ref_acc)
    assert f1 == pytest.approx(ref_f1)
    assert np.mean((scores >= acc_t) == labels) == pytest.approx(acc)  # threshold reproduces it
    pred = scores >= f1_t
    assert 2 * np.sum(pred & (labels == 1)) / (pred.sum() + labels.sum()) == pytest.approx(f1)
    assert average_precision(scores, labels) == pytest.approx(
        average_precision_score(labels, scores)
    )


def test_pair_evaluator_end_to_end():
    table = {"a": [1, 0], "b": [1, 0.1], "c": [0, 1], "d": [1, 1]}
    data = PairData(["a", "a", "c"], ["b", "c", "d"], np.array([1, 0, 1]))
    got = PairClassificationEvaluator(data, threshold=0.5)(TableEncoder(table))
    assert got["pairs_cosine_accuracy"] == 1.0
    assert got["pairs_cosine_ap"] == 1.0
    assert got["pairs_cosine_accuracy_at_threshold"] == 1.0


def test_triplet_evaluator():
    table = {"a": [1, 0], "p": [1, 0.2], "n": [0, 1], "x": [0, 1], "y": [1, 0]}
    data = TripletData(["a", "x"], ["p", "y"], ["n", "n"])  # first right, second wrong
    got = TripletEvaluator(data)(TableEncoder(table))
    assert got["triplets_cosine_accuracy"] == 0.5
    assert set(got) == {
        f"triplets_{m}_accuracy" for m in ("cosine", "dot", "euclidean", "manhattan")
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_v_measure_against_sklearn(seed):
    from sklearn.metrics import v_measure_score

    rng = np.random.default_rng(seed)
    y, c = rng.integers(0, 4, 50), rng.integers(0, 3, 50)
    assert v_measure(y.tolist(), c.tolist()) == pytest.approx(v_measure_score(y, c))
    assert v_measure([0, 0, 1, 1], [5, 5, 7, 7]) == pytest.approx(1.0)


def test_kmeans_recovers_separated_blobs():
    rng = np.random.default_rng(0)
    centers = np.eye(3) * 10
    labels = np.repeat([0, 1, 2], 20)
    x = centers[labels] + rng.normal(size=(60, 3))
    assert v_measure(labels.tolist(), kmeans(x, 3).tolist()) == pytest.approx(1.0)


def test_clustering_evaluator():
    table = {f"t{i}": v for i, v in enumerate([[1, 0.1], [1, 0], [0, 1], [0.1, 1]])}
    data = ClusterData(list(table), ["x", "x", "y", "y"])
    assert ClusteringEvaluator(data)(TableEncoder(table))["clusters_v_measure"] == 1.0


# -- the `sentvec eval` commands on the tiny model -----------------------------------------------


def _run(args):
    from typer.testing import CliRunner

    from sentvec.cli import app

    return CliRunner().invoke(app, args)


def test_cli_eval_commands(tmp_path, make_st_model):
    model = str(make_st_model("mean"))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(
        "q\ta\tb\n1\tA man is eating food.\tA man is eating a piece of bread.\n"
        "0\tThe cat sits on the mat.\tThe stock market fell today.\n"
    )
    result = _run(["eval", "pairs", str(pairs), "--columns", "a,b,q", "-m", model, "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output[result.output.index("{") :])) >= {
        "pairs_cosine_f1",
        "pairs_cosine_ap",
    }
    trip = tmp_path / "trip.csv"
    trip.write_text("A man is eating food.,A man is eating a piece of bread.,Weather is sunny.\n")
    result = _run(["eval", "triplets", str(trip), "--no-header", "-m", model])
    assert result.exit_code == 0, result.output
    assert "triplets_cosine_accuracy" in result.output
    clus = tmp_path / "c.jsonl"
    clus.write_text(
        "\n".join(
            json.dumps({"text": t, "label": lab})
            for t, lab in [
                ("A man is eating food.", "food"),
                ("A man is eating a piece of bread.", "food"),
                ("A monkey is playing drums.", "music"),
                ("A woman is playing violin.", "music"),
            ]
        )
    )
    result = _run(["eval", "clusters", str(clus), "-m", model])
    assert result.exit_code == 0, result.output
    assert "clusters_v_measure" in result.output
    folder = _beir(tmp_path / "beir")
    result = _run(["eval", "retrieval", str(folder), "-m", model])
    assert result.exit_code == 0, result.output
    assert "retrieval_ndcg@10" in result.output


def test_cli_eval_bad_columns_is_clear(tmp_path):
    f = tmp_path / "p.tsv"
    f.write_text("x\ty\n1\t2\n")
    result = _run(["eval", "pairs", str(f), "--columns", "a,b"])
    assert result.exit_code != 0
    assert "--columns needs 3 columns" in str(result.exception)
