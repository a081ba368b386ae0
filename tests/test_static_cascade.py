"""Cascade search and dedup: a static first stage, the transformer re-scoring; compared with
the transformer alone by brute force."""

from pathlib import Path

import numpy as np
import pytest

import sentvec
from sentvec.apps.cascade import cascade_pairs, cascade_top_k
from sentvec.apps.dedup import find_duplicates
from sentvec.apps.search import search_records
from sentvec.distill.distillation import DistillConfig, distill
from sentvec.io import Record

from conftest import CORPUS

DOCS = [*CORPUS, *(f"{a} {b}" for a in CORPUS[:8] for b in CORPUS[8:12])]
QUERIES = ["a man eats", "playing music", "password help", "animals in the zoo"]


@pytest.fixture(scope="module")
def encoders(make_st_model, tmp_path_factory) -> tuple:
    teacher = sentvec.load(make_st_model("mean", normalize=True))
    folder = distill(teacher, DistillConfig(dims=16), show_progress=False).save(
        tmp_path_factory.mktemp("cascade-static")
    )
    return sentvec.load(folder), teacher


def _brute_force(teacher, docs, queries):
    d = teacher.encode(docs, normalize=True).astype(np.float64)
    q = teacher.encode(queries, normalize=True).astype(np.float64)
    return q @ d.T  # (q, n)


def test_full_pool_equals_the_transformer_alone(encoders):
    static, teacher = encoders
    scores, idx, encoded = cascade_top_k(static, teacher, DOCS, QUERIES, k=5, candidates=len(DOCS))
    assert encoded == len(DOCS)
    ref = _brute_force(teacher, DOCS, QUERIES)
    for i in range(len(QUERIES)):
        order = np.argsort(-ref[i], kind="stable")[:5]
        np.testing.assert_allclose(scores[i], ref[i, order], atol=1e-5)
        np.testing.assert_allclose(ref[i, idx[i]], ref[i, order], atol=1e-5)  # same ranking


def test_small_pool_scores_are_the_transformers_over_the_shortlist(encoders):
    static, teacher = encoders
    scores, idx, encoded = cascade_top_k(static, teacher, DOCS, QUERIES, k=3, candidates=6)
    assert encoded < len(DOCS)
    s_docs = static.encode(DOCS, normalize=True)
    s_q = static.encode(QUERIES, normalize=True)
    ref = _brute_force(teacher, DOCS, QUERIES)
    for i in range(len(QUERIES)):
        shortlist = np.argsort(-(s_q[i] @ s_docs.T), kind="stable")[:6]
        best = shortlist[np.argsort(-ref[i, shortlist], kind="stable")[:3]]
        np.testing.assert_allclose(scores[i], ref[i, best], atol=1e-5)
        assert set(idx[i].tolist()) <= set(shortlist.tolist())


def test_search_records_cascade_option(encoders):
    static, teacher = encoders
    records = [Record(id=str(i), text=t) for i, t in enumerate(DOCS)]
    plain = search_records(teacher, records, QUERIES, k=4)
    cascaded = search_records(teacher, records, QUERIES, k=4, cascade=static, candidates=10_000)
    for a, b in zip(plain, cascaded, strict=True):
        assert [h.id for h in a] == [h.id for h in b]
        np.testing.assert_allclose([h.score for h in a], [h.score for h in b], atol=1e-5)


def test_dedup_cascade_with_everything_checked_equals_all_pairs(encoders):
    static, teacher = encoders
    texts = [*DOCS, DOCS[3], DOCS[3].upper(), DOCS[20] + "!"]
    v = teacher.encode(texts, normalize=True).astype(np.float64)
    sim = v @ v.T
    threshold = float(np.quantile(sim[np.triu_indices(len(texts), 1)], 0.97))
    ref = {
        (i, j)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if sim[i, j] >= threshold
    }
    a, b, s, _ = cascade_pairs(static, teacher, texts, threshold, k=len(texts) - 1, margin=3.0)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == ref
    np.testing.assert_allclose(s, [sim[i, j] for i, j in zip(a, b, strict=True)], atol=1e-5)
    result = find_duplicates(
        texts, threshold, encoder=teacher, k=len(texts) - 1, cascade=static, cascade_margin=3.0
    )
    assert {(i, j) for i, j, _ in result.pairs} == ref
    plain = find_duplicates(texts, threshold, encoder=teacher, k=len(texts) - 1)
    assert [g.members for g in result.groups] == [g.members for g in plain.groups]


def test_dedup_cascade_skips_texts_without_close_neighbours(encoders):
    static, teacher = encoders
    texts = [*CORPUS, CORPUS[0], CORPUS[1]]
    a, b, _, encoded = cascade_pairs(static, teacher, texts, threshold=0.99, k=3, margin=0.01)
    assert (0, len(CORPUS)) in set(zip(a.tolist(), b.tolist(), strict=True))
    assert encoded < len(texts)


@pytest.mark.slow
def test_cli_search_and_dedup_with_cascade(encoders, tmp_path: Path, make_st_model):
    from typer.testing import CliRunner

    from sentvec.cli import app

    static, _ = encoders
    folder = str(static.spec.transformer_path.parent)
    model = str(make_st_model("mean", normalize=True))
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join([*DOCS, DOCS[0]]) + "\n")
    r = CliRunner().invoke(
        app, ["search", "a man eats", "-f", str(docs), "--model", model, "--cascade", folder]
    )
    assert r.exit_code == 0, r.output
    assert "1." in r.output
    r = CliRunner().invoke(
        app, ["dedup", str(docs), "--model", model, "--cascade", folder, "--threshold", "0.999"]
    )
    assert r.exit_code == 0, r.output
    assert '"members"' in r.output or "groups" in r.output
