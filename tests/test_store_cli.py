"""``sentvec index ...`` and the knowledge-base collection behind ``sentvec search``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sentvec.cli import app

pytest.importorskip("lancedb")
runner = CliRunner()

ROWS = [
    {"id": "a1", "text": "How do I reset my password?", "category": "account"},
    {"id": "a2", "text": "Where can I download my invoices?", "category": "billing"},
    {"id": "a3", "text": "The cat sits on the mat.", "category": "other"},
    {"id": "a4", "text": "Error code ZK-5521 on checkout", "category": "billing"},
]


def _run(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture()
def setup(tmp_path, make_st_model):
    model = str(make_st_model("mean", normalize=True))
    file = tmp_path / "rows.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf8")
    return tmp_path / "db", model, file


def test_index_commands(setup, tmp_path):
    root, model, file = setup
    _run("index", "add", "faq", str(file), "--root", str(root), "--model", model)
    out = _run("index", "add", "faq", str(file), "--root", str(root)).stderr
    assert "0 added" in out and "4 skipped" in out
    lines = (
        _run(
            "index",
            "search",
            "faq",
            "invoices billing",
            "--root",
            str(root),
            "-k",
            "5",
            "--where",
            "category = 'billing'",
            "--json",
        )
        .stdout.strip()
        .splitlines()
    )
    hits = [json.loads(x) for x in lines]
    assert {h["id"] for h in hits} == {"a2", "a4"}
    text = _run(
        "index", "search", "faq", "ZK-5521", "--mode", "text", "--root", str(root), "--json"
    ).stdout
    assert json.loads(text.splitlines()[0])["id"] == "a4"
    info = json.loads(_run("index", "info", "faq", "--root", str(root), "--json").stdout)
    assert info["rows"] == 4 and info["model"] == model and "category" in info["filter_columns"]
    assert "faq\t4 rows" in _run("index", "list", "--root", str(root)).stdout
    changed = tmp_path / "changed.csv"
    changed.write_text("id,text,category\na3,A dog sleeps on the sofa,other\n", encoding="utf8")
    _run("index", "upsert", "faq", str(changed), "--root", str(root))
    out = _run(
        "index",
        "search",
        "faq",
        "A dog sleeps on the sofa",
        "--root",
        str(root),
        "-k",
        "1",
        "--json",
    ).stdout
    assert json.loads(out)["id"] == "a3" and json.loads(out)["score"] == pytest.approx(1, abs=1e-4)
    _run("index", "delete", "faq", "a1", "--root", str(root))
    _run("index", "delete", "faq", "--where", "category = 'billing'", "--root", str(root))
    assert (
        json.loads(_run("index", "info", "faq", "--root", str(root), "--json").stdout)["rows"] == 1
    )


def test_index_errors_are_one_line(setup, make_st_model):
    root, model, file = setup
    _run("index", "add", "faq", str(file), "--root", str(root), "--model", model)
    other = str(make_st_model("cls"))
    result = runner.invoke(
        app, ["index", "add", "faq", str(file), "--root", str(root), "--model", other]
    )
    assert result.exit_code != 0 and "fingerprint" in str(result.exception)
    result = runner.invoke(app, ["index", "info", "nope", "--root", str(root)])
    assert "faq" in str(result.exception)


KB = [
    {
        "id": "kb1",
        "category": "account",
        "question": "How do I reset my password?",
        "answer": "Use the Forgot password link on the sign-in page.",
    },
    {
        "id": "kb2",
        "category": "billing",
        "question": "Where are my invoices?",
        "answer": "Invoices are under Settings, Billing.",
    },
]


def test_search_uses_cached_knowledge_base(tmp_path, monkeypatch, make_st_model):
    import sentvec.cli.search as cli
    from sentvec.store import Collection

    kb = tmp_path / "kb.jsonl"
    kb.write_text("".join(json.dumps(r) + "\n" for r in KB), encoding="utf8")
    monkeypatch.setattr(cli, "knowledge_base_path", lambda: kb)
    monkeypatch.setenv("SENTVEC_HOME", str(tmp_path / "home"))
    model = str(make_st_model("mean", normalize=True))
    out = _run("search", "forgot my password", "-m", model, "-k", "2").stdout
    assert out.startswith("Query: forgot my password\n  1. [")
    assert "Use the Forgot password link" in out or "Invoices are under" in out
    rows = [
        json.loads(x)
        for x in _run("search", "invoices", "-m", model, "--json").stdout.split("\n")
        if x
    ]
    assert {r["id"] for r in rows} == {"kb1", "kb2"} and rows[0]["category"] in (
        "account",
        "billing",
    )
    root = tmp_path / "home" / "kb"
    (name,) = [p.name[: -len(".sentvec.json")] for p in root.glob("*.sentvec.json")]
    version = Collection.open(root, name).table.version
    _run("search", "invoices", "-m", model)
    assert Collection.open(root, name).table.version == version  # reused, not rebuilt
    kb.write_text(
        "".join(json.dumps(r) + "\n" for r in [*KB, {**KB[0], "id": "kb3"}]), encoding="utf8"
    )
    rows = [
        json.loads(x)
        for x in _run("search", "password", "-m", model, "-k", "5", "--json").stdout.split("\n")
        if x
    ]
    assert {r["id"] for r in rows} == {"kb1", "kb2", "kb3"}


def test_index_build_reports_recall(tmp_path):
    import numpy as np

    from sentvec.store import Collection

    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 8)).astype(np.float32)
    col = Collection.create(tmp_path, "v", dim=8, model="random", fingerprint="r")
    col.add_vectors([str(i) for i in range(600)], x)
    out = json.loads(
        _run("index", "build", "v", "--partitions", "4", "--root", str(tmp_path)).stdout
    )
    assert out["type"] == "IVF_FLAT" and out["recall_at_10"] == 1.0  # 4 cells, all probed
    info = json.loads(_run("index", "info", "v", "--root", str(tmp_path), "--json").stdout)
    assert info["search"] == "approximate" and info["vector_index"]["recall_at_10"] == 1.0


def test_search_without_lancedb_encodes_in_memory(tmp_path, monkeypatch, make_st_model):
    import sys

    import sentvec.cli.search as cli

    kb = tmp_path / "kb.jsonl"
    kb.write_text("".join(json.dumps(r) + "\n" for r in KB), encoding="utf8")
    monkeypatch.setattr(cli, "knowledge_base_path", lambda: kb)
    monkeypatch.setenv("SENTVEC_HOME", str(tmp_path / "home"))
    monkeypatch.setitem(sys.modules, "lancedb", None)  # import fails
    model = str(make_st_model("mean", normalize=True))
    rows = [
        json.loads(x)
        for x in _run("search", "invoices", "-m", model, "--json").stdout.split("\n")
        if x
    ]
    assert {r["id"] for r in rows} == {"kb1", "kb2"}
    assert not (tmp_path / "home").exists()
