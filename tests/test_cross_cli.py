"""`sentvec rerank`, and `--rerank` on `sentvec search` and `sentvec index search`: the
order and scores of sentence-transformers' CrossEncoder on the same shortlist."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cross_models import PAIRS, make_cross_folder
from sentvec.cli import app

runner = CliRunner()
DOCS = [
    {"id": f"d{i}", "text": text}
    for i, text in enumerate(dict.fromkeys([t for p in PAIRS for t in p]))
]
QUERY = "a man is eating food."


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.fixture(scope="module")
def cross_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cross_folder(tmp_path_factory.mktemp("ce") / "m", 1)


@pytest.fixture()
def docs_file(tmp_path: Path) -> Path:
    f = tmp_path / "docs.jsonl"
    f.write_text("".join(json.dumps(d) + "\n" for d in DOCS), encoding="utf8")
    return f


def _st_scores(cross_dir: Path, query: str, texts: list[str]) -> np.ndarray:
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(cross_dir)).predict([(query, t) for t in texts])


def test_rerank_command_matches_sentence_transformers(cross_dir, docs_file) -> None:
    out = _run(
        "rerank",
        QUERY,
        str(docs_file),
        "-m",
        str(cross_dir),
        "--backend",
        "torch",
        "--json",
        "-k",
        "4",
    )
    rows = [json.loads(line) for line in out.splitlines()]
    want = _st_scores(cross_dir, QUERY, [d["text"] for d in DOCS])
    order = np.argsort(-want, kind="stable")[:4]
    assert [r["id"] for r in rows] == [DOCS[i]["id"] for i in order]
    np.testing.assert_allclose([r["score"] for r in rows], want[order], atol=1e-5)
    text = _run("rerank", QUERY, str(docs_file), "-m", str(cross_dir), "--backend", "onnx")
    assert text.splitlines()[0].startswith("  1. [") and DOCS[order[0]]["id"] in text


def _check_reranked(cross_dir: Path, plain: list[dict], reranked: list[dict], k: int) -> None:
    want = _st_scores(cross_dir, QUERY, [h["text"] for h in plain])
    order = np.argsort(-want, kind="stable")[:k]
    assert [h["id"] for h in reranked] == [plain[i]["id"] for i in order]
    np.testing.assert_allclose([h["score"] for h in reranked], want[order], atol=1e-5)
    for h in reranked:  # the search's own score rides along
        first = next(p for p in plain if p["id"] == h["id"])
        assert h["retrieval_score"] == pytest.approx(first["score"], abs=1e-6)


def test_search_rerank(cross_dir, docs_file, make_st_model) -> None:
    bi = str(make_st_model("mean", normalize=True))
    common = ["search", QUERY, "-f", str(docs_file), "-m", bi, "--backend", "torch", "--json"]
    plain = [json.loads(x) for x in _run(*common, "-k", "5").splitlines()]
    out = _run(*common, "-k", "2", "--rerank", str(cross_dir), "--rerank-top", "5")
    _check_reranked(cross_dir, plain, [json.loads(x) for x in out.splitlines()], 2)


def test_index_search_rerank(cross_dir, docs_file, make_st_model, tmp_path) -> None:
    pytest.importorskip("lancedb")
    bi = str(make_st_model("mean", normalize=True))
    store = str(tmp_path / "db")
    _run("index", "add", "faq", str(docs_file), "--store", store, "--model", bi)
    common = ["index", "search", "faq", QUERY, "--store", store, "--backend", "torch", "--json"]
    plain = [json.loads(x) for x in _run(*common, "-k", "6").splitlines()]
    out = _run(*common, "-k", "3", "--rerank", str(cross_dir), "--rerank-top", "6")
    _check_reranked(cross_dir, plain, [json.loads(x) for x in out.splitlines()], 3)
    hybrid = _run(*common, "--mode", "hybrid", "-k", "2", "--rerank", str(cross_dir))
    assert len(hybrid.splitlines()) == 2
