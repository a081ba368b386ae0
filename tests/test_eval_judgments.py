"""Judgments become an evaluation: scores checked against scikit-learn's nDCG and a by-hand
MRR / hit@1 on the rankings, the BEIR export read back by the BEIR reader, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from sentvec.evaluate.judgments import export_beir, score_judgments
from sentvec.evaluate.retrieval import read_beir
from sentvec.records import Record
from sentvec.store import for_encoder
from sentvec.store.judgments import Judgment, add_judgment, iter_judgments

from sentvec_cli_runner import run_cli
from store_backends import location, pg_server  # noqa: F401  (fixtures)

DOCS = [
    ("reset", "Reset your password from the sign-in page with the forgotten password link."),
    ("refund", "Refunds reach your card within five working days of the request."),
    ("invoice", "Download an invoice as PDF from the billing page of your account."),
    ("twofa", "Turn on two-factor authentication in the security settings."),
    ("export", "Export every transaction as a CSV file from the reports page."),
    ("bank", "Connect your bank account to import transactions automatically."),
]
JUDGED = [  # (query, document, label): two right answers for one query, a wrong one after
    ("how do I reset my password", "reset", 1),
    ("how do I reset my password", "twofa", -1),
    ("when is my money back", "refund", 1),
    ("when is my money back", "invoice", 1),
    ("get a pdf invoice", "invoice", 1),
    ("get a pdf invoice", "invoice", -1),  # changed their mind: the latest label counts
    ("get a pdf invoice", "export", 1),
    ("only wrong answers here", "bank", -1),
]


@pytest.fixture()
def judged(tiny_encoder, location):  # noqa: F811
    col = for_encoder(location, "kb", tiny_encoder)
    col.add([Record(t, i, {"title": i}) for i, t in DOCS], tiny_encoder)
    for q, d, label in JUDGED:
        add_judgment(col, Judgment(q, d, label, mode="hybrid", rank=1))
    return col


def reference(col, encoder, mode):
    """nDCG@10 by scikit-learn, MRR@10 and hit@1 by hand, over the judged queries with a
    relevant document (latest label wins), on the collection's own rankings."""
    latest = {}
    for q, d, label in JUDGED:
        latest.setdefault(q, {})[d] = label
    ndcgs, mrrs, hits = [], [], []
    ids = [i for i, _ in DOCS]
    for q, labels in latest.items():
        relevant = {d for d, lab in labels.items() if lab > 0}
        if not relevant:
            continue
        ranked = [h.id for h in col.search(q, 10, mode=mode, encoder=encoder, min_score=0)]
        # ranked documents first, then 10 unjudged fillers, then the relevant ones not
        # retrieved: those fall past k=10, as for a ranking that never found them
        scores = [len(ranked) - ranked.index(i) if i in ranked else -1.0 for i in ids]
        truth = [1 if i in relevant else 0 for i in ids]
        scores, truth = np.array([[*scores, *[0.0] * 10]]), np.array([[*truth, *[0] * 10]])
        ndcgs.append(ndcg_score(truth, scores, k=10))
        first = next((n for n, d in enumerate(ranked, 1) if d in relevant), None)
        mrrs.append(1 / first if first else 0.0)
        hits.append(float(bool(ranked) and ranked[0] in relevant))
    return len(ndcgs), np.mean(ndcgs), np.mean(mrrs), np.mean(hits)


@pytest.mark.parametrize("mode", ["vector", "text", "hybrid"])
def test_scores_match_scikit_learn(judged, tiny_encoder, mode):
    got = score_judgments(judged, tiny_encoder, mode=mode)
    n, ndcg, mrr, hit1 = reference(judged, tiny_encoder, mode)
    assert (got.queries, got.judged, got.judgments) == (n, 4, len(JUDGED)) == (3, 4, 8)
    assert got.ndcg == pytest.approx(ndcg, abs=1e-9)
    assert got.mrr == pytest.approx(mrr, abs=1e-9)
    assert got.hit1 == pytest.approx(hit1, abs=1e-9)


def test_judgments_survive_in_order_and_a_torn_line_is_skipped(judged, location):  # noqa: F811
    rows = list(iter_judgments(judged))
    assert [(j.query, j.id, j.label) for j in rows] == JUDGED
    if judged.backend == "lance":
        path = judged.root / "kb.judgments.jsonl"
        with open(path, "a", encoding="utf-8") as f:
            f.write('{"query": "half a li')  # a crash in the middle of a write
        assert len(list(iter_judgments(judged))) == len(JUDGED)


def test_another_model_scores_on_the_same_judgments(judged, tiny_encoder, make_st_model):
    import sentvec

    other = sentvec.load(make_st_model("cls", normalize=True))
    got = score_judgments(judged, tiny_encoder, mode="vector", other_model=other)
    from sentvec.evaluate.judgments import in_memory_copy

    mem = in_memory_copy(judged, other)
    assert mem.document_ids() == judged.document_ids()
    n, ndcg, _, _ = reference(mem, other, "vector")
    assert got.queries == n and got.ndcg == pytest.approx(ndcg, abs=1e-9)
    assert got.setting.startswith(other.name)
    assert len(judged) == len(DOCS)  # the collection itself is untouched


def test_beir_export_reads_back(judged, tmp_path):
    counts = export_beir(judged, tmp_path / "beir")
    data = read_beir(tmp_path / "beir")
    assert counts == {"documents": len(DOCS), "queries": 4, "qrels": 7}
    by_text = {data.queries[q]: rel for q, rel in data.qrels.items()}
    assert by_text["get a pdf invoice"] == {"invoice": 0, "export": 1}
    assert by_text["how do I reset my password"] == {"reset": 1, "twofa": 0}


def test_cli_scores_compares_and_says_how_to_collect(judged, tiny_encoder, location, tmp_path):  # noqa: F811
    store = str(location)
    code, out = run_cli(
        [
            "eval",
            "judgments",
            "kb",
            "--store",
            store,
            "--mode",
            "vector",
            "--against-mode",
            "text",
            "--json",
        ]
    )
    assert code == 0, out
    rows = json.loads(out[out.index("[") :])
    want = [score_judgments(judged, tiny_encoder, mode=m).to_dict() for m in ("vector", "text")]
    assert rows == want
    code, out = run_cli(["eval", "judgments", "kb", "--store", store])
    assert code == 0 and "3 judged queries" in out and "nDCG@10" in out
    for_encoder(location, "empty", tiny_encoder).add([Record("some text", "a")], tiny_encoder)
    code, out = run_cli(["eval", "judgments", "empty", "--store", store])
    assert code == 2 and "no judgments" in out and "thumbs up" in out
