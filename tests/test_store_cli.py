"""``sentvec index ...`` and the knowledge-base collection behind ``sentvec search``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sentvec
from sentvec.cli import app

from store_backends import location, pg_server  # noqa: F401  (fixtures)

pytest.importorskip("lancedb")
runner = CliRunner()

ROWS = [
    {"id": "a1", "text": "How do I reset my password?", "category": "account"},
    {"id": "a2", "text": "Where can I download my invoices?", "category": "billing"},
    {"id": "a3", "text": "The cat sits on the mat.", "category": "other"},
    {"id": "a4", "text": "Error code ZK-5521 on checkout", "category": "billing"},
]


def _run(*args: str, input: str | None = None):
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


@pytest.fixture()
def setup(tmp_path, make_st_model):
    model = str(make_st_model("mean", normalize=True))
    file = tmp_path / "rows.jsonl"
    file.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf8")
    return tmp_path / "db", model, file


def _fails(*args: str, input: str | None = None) -> str:
    """A user error: SentvecError (main() turns it into one `error:` line and exit 2)."""
    from sentvec.errors import SentvecError

    result = runner.invoke(app, list(args), input=input)
    assert isinstance(result.exception, SentvecError), (result.output, result.exception)
    return str(result.exception)


@pytest.fixture()
def store(location):  # noqa: F811
    return location


def test_index_commands(setup, store, tmp_path):
    _, model, file = setup
    out = json.loads(
        _run("index", "add", "faq", str(file), "--store", store, "--model", model, "--json").stdout
    )
    assert out == {
        "name": "faq",
        "added": 4,
        "updated": 0,
        "skipped": 0,
        "passages": 4,
        "documents": 4,
        "passages_in_all": 4,
    }
    out = _run("index", "add", "faq", str(file), "--store", store).stderr
    assert "0 added" in out and "4 skipped" in out
    lines = (
        _run(
            "index",
            "search",
            "faq",
            "invoices billing",
            "--store",
            store,
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
    hits = [
        json.loads(x)
        for x in _run(
            "index",
            "search",
            "faq",
            "invoices",
            "--store",
            store,
            "-k",
            "5",
            "--filter",
            'category=["billing", "other"]',
            "--json",
        ).stdout.splitlines()
    ]
    assert {h["id"] for h in hits} == {"a2", "a3", "a4"}
    text = _run(
        "index", "search", "faq", "ZK-5521", "--mode", "text", "--store", store, "--json"
    ).stdout
    assert json.loads(text.splitlines()[0])["id"] == "a4"
    hybrid = [
        json.loads(x)
        for x in _run(
            "index",
            "search",
            "faq",
            "error ZK-5521",
            "--mode",
            "hybrid",
            "--store",
            store,
            "--json",
        ).stdout.splitlines()
    ]
    assert hybrid[0]["id"] == "a4" and 0 < hybrid[0]["fused"] <= 1 and -1 <= hybrid[0]["score"] <= 1
    assert len(hybrid) == 3  # the default k, the same as `sentvec search`
    info = json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)
    assert (
        info["documents"] == 4 and info["model"] == model and "category" in info["filter_columns"]
    )
    assert "faq\t4 documents\t4 passages" in _run("index", "list", "--store", store).stdout
    assert json.loads(_run("index", "list", "--store", store, "--json").stdout)[0]["documents"] == 4
    changed = tmp_path / "changed.csv"
    changed.write_text("id,text,category\na3,A dog sleeps on the sofa,other\n", encoding="utf8")
    _run("index", "upsert", "faq", str(changed), "--store", store)
    out = _run(
        "index", "search", "faq", "A dog sleeps on the sofa", "--store", store, "-k", "1", "--json"
    ).stdout
    assert json.loads(out)["id"] == "a3" and json.loads(out)["score"] == pytest.approx(1, abs=1e-4)
    _run("index", "delete", "faq", "a1", "--store", store)
    _run("index", "delete", "faq", "--where", "category = 'billing'", "--store", store, "--yes")
    assert (
        json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)["documents"]
        == 1
    )


def test_store_from_environment(setup, tmp_path, monkeypatch):
    _, model, file = setup
    monkeypatch.setenv("SENTVEC_STORE", str(tmp_path / "envstore"))
    _run("index", "add", "faq", str(file), "--model", model)
    assert (tmp_path / "envstore" / "faq.sentvec.json").exists()
    _run("index", "add", "faq", str(file), "--root", str(tmp_path / "old"), "--model", model)
    assert (tmp_path / "old" / "faq.sentvec.json").exists()  # --root still works


def test_delete_where_asks_and_counts(setup, store):
    _, model, file = setup
    _run("index", "add", "faq", str(file), "--store", store, "--model", model)
    where = ("--where", "category = 'billing'")
    msg = _fails("index", "delete", "faq", *where, "--store", store)  # no answer: refused
    assert "delete 2 of 4 documents" in msg and "--yes" in msg
    _fails("index", "delete", "faq", *where, "--store", store, input="n\n")
    assert (
        json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)["documents"]
        == 4
    )
    result = _run("index", "delete", "faq", *where, "--store", store, "--json", input="y\n")
    assert json.loads(result.stdout.splitlines()[-1])["deleted"] == 2
    assert "delete 2 of 4 documents" in result.stderr
    msg = _fails(
        "index", "delete", "faq", "--where", "category = 'bugs'; id = 'a1'", "--store", store
    )
    assert "';'" in msg
    _fails("index", "drop", "faq", "--store", store)
    assert (
        json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)["documents"]
        == 2
    )
    _run("index", "drop", "faq", "--store", store, "--yes")
    assert _run("index", "list", "--store", store, "--json").stdout.strip() == "[]"


def test_restore_undoes_a_delete(setup, tmp_path):
    _, model, file = setup
    store = str(tmp_path / "db")
    _run("index", "add", "faq", str(file), "--store", store, "--model", model)
    versions = json.loads(_run("index", "versions", "faq", "--store", store, "--json").stdout)
    before = versions[-1]
    assert before["documents"] == 4
    _run("index", "delete", "faq", "--where", "id != ''", "--store", store, "--yes")
    assert (
        json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)["documents"]
        == 0
    )
    _run("index", "restore", "faq", "--version", str(before["version"]), "--store", store)
    assert (
        json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)["documents"]
        == 4
    )
    _run("index", "add", "faq", str(file), "--store", store)  # and it can grow again


def test_refused_ingest_leaves_collection_as_it_was(setup, store, tmp_path):
    _, model, file = setup
    rows = [{"id": f"r{i}", "text": f"row number {i}", "n": i} for i in range(600)]
    typed = tmp_path / "typed.jsonl"
    typed.write_text(
        "".join(
            json.dumps({**r, "n": "x" if i == 300 else r["n"]}) + "\n" for i, r in enumerate(rows)
        ),
        encoding="utf8",
    )
    _fails(
        "index", "add", "new", str(typed), "--store", store, "--model", model, "--batch-size", "100"
    )
    assert "new" not in _run("index", "list", "--store", store).stdout  # no empty shell
    _run("index", "add", "faq", str(file), "--store", store, "--model", model)
    broken = tmp_path / "broken.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines[550] = '{"id": "r550", "text": '
    broken.write_text("\n".join(lines) + "\n", encoding="utf8")
    _fails("index", "add", "faq", str(broken), "--store", store, "--batch-size", "100")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(("caf\xe9 number one\n" * 400).encode("latin-1"))
    result = runner.invoke(app, ["index", "add", "faq", str(latin), "--store", store])
    assert result.exit_code != 0
    _fails("index", "add", "faq", str(tmp_path), "--store", store)  # a folder as input
    info = json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)
    assert info["documents"] == 4 and info["filter_columns"] == ["id", "title", "text", "category"]


@pytest.mark.slow
def test_delete_without_stdin_exits_2(setup, tmp_path):
    import os
    import subprocess
    import sys

    _, model, file = setup
    store = str(tmp_path / "db")
    _run("index", "add", "faq", str(file), "--store", store, "--model", model)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sentvec",
            "index",
            "delete",
            "faq",
            "--where",
            "id != ''",
            "--store",
            store,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(sentvec.__file__).parents[1])},
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.count("\n") <= 2, done.stderr
    assert "error:" in done.stderr and "--yes" in done.stderr
    assert (
        json.loads(_run("index", "info", "faq", "--store", store, "--json").stdout)["documents"]
        == 4
    )


def test_index_errors_are_one_line(setup, make_st_model):
    root, model, file = setup
    _run("index", "add", "faq", str(file), "--store", str(root), "--model", model)
    other = str(make_st_model("cls"))
    msg = _fails("index", "add", "faq", str(file), "--store", str(root), "--model", other)
    assert "fingerprint" in msg
    assert "faq" in _fails("index", "info", "nope", "--store", str(root))


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
    from sentvec.store import open_collection

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
    assert {r["id"] for r in rows} == {"kb1", "kb2"} and rows[0]["metadata"]["category"] in (
        "account",
        "billing",
    )
    root = tmp_path / "home" / "kb"
    (name,) = [p.name[: -len(".sentvec.json")] for p in root.glob("*.sentvec.json")]
    version = open_collection(root, name).info()["version"]
    _run("search", "invoices", "-m", model)
    assert open_collection(root, name).info()["version"] == version  # reused, not rebuilt
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

    from sentvec.store import create_collection

    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 8)).astype(np.float32)
    col = create_collection(tmp_path, "v", dim=8, model="random", fingerprint="r")
    col.add_vectors([str(i) for i in range(600)], x)
    out = json.loads(
        _run("index", "build", "v", "--partitions", "4", "--root", str(tmp_path), "--json").stdout
    )
    assert out["type"] == "IVF_FLAT" and out["recall_at_10"] == 1.0  # 4 cells, all probed
    info = json.loads(_run("index", "info", "v", "--root", str(tmp_path), "--json").stdout)
    assert info["search"] == "approximate" and info["vector_index"]["recall_at_10"] == 1.0


def test_index_build_settings_reach_the_engine(store):
    """`index build` passes the graph and quantisation settings to the engine itself (read
    back from LanceDB's index list and from PostgreSQL's catalog), and searches honour them."""
    import numpy as np

    from sentvec.store import create_collection, open_collection

    rng = np.random.default_rng(1)
    x = rng.standard_normal((800, 8)).astype(np.float32)
    col = create_collection(store, "g", dim=8, model="random", fingerprint="r")
    col.add_vectors([str(i) for i in range(800)], x)
    if col.backend == "lancedb":
        args = ["--type", "ivf_sq", "--partitions", "4", "--nprobes", "4", "--refine-factor", "3"]
    else:
        args = ["--m", "8", "--ef-construction", "32", "--ef-search", "60"]
    out = json.loads(_run("index", "build", "g", "--store", store, *args, "--json").stdout)
    col.close()
    col = open_collection(store, "g")
    q = x[:10] + 0.05 * rng.standard_normal((10, 8)).astype(np.float32)
    if col.backend == "lancedb":
        (index,) = [i for i in col.table.list_indices() if "vector" in i.columns]
        assert index.index_type == "IvfSq"  # LanceDB's name for IVF_SQ
        assert out["nprobes"] == 4 and out["refine_factor"] == 3
    else:
        opts = col.conn.execute(
            "SELECT reloptions FROM pg_class WHERE relname = 'sv_g_hnsw'"
        ).fetchone()[0]
        assert sorted(opts) == ["ef_construction=32", "m=8"]
        assert out["ef_search"] == 60
    assert out["recall_at_10"] >= 0.9
    for v in q:  # all cells probed and re-ranked on full vectors / a small graph: exact here
        exact = np.argsort(-(x @ v) / np.linalg.norm(x, axis=1))[:5].tolist()
        assert len(set(exact) & {int(h.id) for h in col.search(v, k=5)}) >= 4
    col.close()


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
