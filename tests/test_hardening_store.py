"""Issue 21 defects 1, 2, 6, 7 on both backends, through HTTP and the CLI: bad collection names
never touch the disk; reserved and long metadata names, NaN/Infinity, integers beyond int64
and huge text queries give a 4xx (or are stored and found the same on both backends), never
a 500, and the store is unchanged after a refused request."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sentvec.server import Settings, create_app

from sentvec_cli_runner import run_cli
from store_backends import location, pg_server  # noqa: F401  (fixtures)

pytest.importorskip("lancedb")
NAME = "tiny"
DOC = {"id": "1", "text": "How do I reset my password?", "metadata": {"category": "account"}}
BAD_NAMES = ["faq\n", "faq\r", " faq", "faq ", "../x", "a/b", ".hidden", "x" * 101, "é", "a\x00b"]


@pytest.fixture()
def client(tiny_encoder, location):  # noqa: F811
    app = create_app(
        Settings(models={NAME: None}, collections=location), encoders={NAME: tiny_encoder}
    )
    with TestClient(app) as c:
        yield c


def files_under(where: str) -> set[str]:
    if where.startswith("postgresql://"):
        return set()
    root = Path(where)
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def snapshot(c) -> dict:
    names = c.get("/collections").json()["collections"]
    out = {}
    for n in names:
        info = c.get(f"/collections/{n}").json()
        out[n] = (info["documents"], info.get("passages"))
    return out


# defect 1: names


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_bad_collection_names_over_http_touch_nothing(client, location, bad):  # noqa: F811
    from urllib.parse import quote

    c = client
    assert c.post("/collections/faq/documents", json={"documents": [DOC]}).status_code == 200
    before, disk = snapshot(c), files_under(location)
    path = "/collections/" + quote(bad, safe="")
    for method, suffix, body in [
        ("post", "/documents", {"documents": [DOC]}),
        ("post", "/search", {"query": "password"}),
        ("get", "", None),
        ("post", "/delete", {"ids": ["1"]}),
        ("get", "/map", None),
    ]:
        r = c.request(method.upper(), path + suffix, json=body)
        assert 400 <= r.status_code < 500, (bad, suffix, r.status_code, r.text)
    assert snapshot(c) == before and files_under(location) == disk
    assert c.post("/collections/faq/search", json={"query": "password"}).status_code == 200


@pytest.mark.parametrize("bad", ["x\n", "faq\n", "a/b", ".x", "x" * 101])
def test_bad_collection_names_in_the_cli_touch_nothing(tmp_path, make_st_model, location, bad):  # noqa: F811
    model = str(make_st_model("mean", normalize=True))
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"id": "1", "text": "hello there"}) + "\n", encoding="utf8")
    code, out = run_cli(["index", "add", "faq", str(rows), "--store", location, "--model", model])
    assert code == 0, out
    disk = files_under(location)
    for args in (
        ["index", "add", bad, str(rows), "--store", location, "--model", model],
        ["index", "search", bad, "hello", "--store", location],
        ["index", "drop", bad, "--yes", "--store", location],
    ):
        code, out = run_cli(args)
        assert code == 2 and "error:" in out and "Traceback" not in out, (args, out)
        assert "invalid collection name" in out or "no collection" in out, out
    assert files_under(location) == disk
    code, out = run_cli(["index", "list", "--store", location])
    assert code == 0 and "faq" in out


# defects 2, 6: reserved, engine and long metadata names


RESERVED = [
    "_distance",
    "_score",
    "_rowid",
    "_rowaddr",
    "_relevance_score",
    "tsv",
    "TSV",
    "vector",
    "id",
    "text",
    "meta",
    "pid",
    "select",
    "AND",
]


def test_reserved_and_long_metadata_names_are_stored_and_searched(client):
    c = client
    long_a, long_b = "f" * 62 + "_a", "f" * 62 + "_b"  # share a 63-character prefix
    longer = "g" * 70
    meta = {k: f"v-{k}" for k in RESERVED if k not in ("id", "text")}
    meta.update({long_a: 1, long_b: 2, longer: "far", "category": "account"})
    docs = [
        {"id": "1", "text": "How do I reset my password?", "metadata": meta},
        {"id": "2", "text": "Invoices download", "metadata": {"category": "billing"}},
    ]
    r = c.post("/collections/faq/documents", json={"documents": docs})
    assert r.status_code == 200, r.text
    for mode in ("vector", "text", "hybrid"):
        r = c.post("/collections/faq/search", json={"query": "password reset", "mode": mode})
        assert r.status_code == 200, (mode, r.text)
        hit = next(h for h in r.json()["hits"] if h["id"] == "1")
        for k, v in meta.items():
            assert hit["metadata"][k] == v, (k, hit["metadata"].get(k))
    stored = c.get("/collections/faq/documents/1").json()["metadata"]
    assert stored[longer] == "far" and stored[long_a] == 1 and stored[long_b] == 2
    # a name that got no typed column is not silently filtered to nothing: refused, named
    r = c.post("/collections/faq/search", json={"query": "x", "filters": {longer: "far"}})
    assert r.status_code == 422 and longer in r.json()["error"]["message"]
    ok = c.post("/collections/faq/search", json={"query": "x", "filters": {"category": "account"}})
    assert [h["id"] for h in ok.json()["hits"]] == ["1"]


# defect 7: NaN, Infinity, int64, huge text queries


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "[1, NaN]", '{"a": Infinity}'])
def test_non_finite_metadata_is_422_and_changes_nothing(client, value):
    c = client
    assert c.post("/collections/faq/documents", json={"documents": [DOC]}).status_code == 200
    before = snapshot(c)
    body = '{"documents": [{"id": "2", "text": "hi", "metadata": {"x": %s}}]}' % value  # noqa: UP031
    r = c.post(
        "/collections/faq/documents",
        content=body.encode(),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert "finite" in r.json()["error"]["message"]
    assert snapshot(c) == before


def test_integers_beyond_int64(client):
    c = client
    big, small = 2**63, -(2**63) - 1
    docs = [
        {"id": "1", "text": "hello", "metadata": {"n": big, "m": 5}},
        {"id": "2", "text": "world", "metadata": {"n": 3, "m": small}},
    ]
    r = c.post("/collections/faq/documents", json={"documents": docs})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:  # kept in the JSON metadata, exactly
        assert c.get("/collections/faq/documents/1").json()["metadata"]["n"] == big
        assert c.get("/collections/faq/documents/2").json()["metadata"]["m"] == small
    r = c.post("/collections/faq/search", json={"query": "x", "filters": {"m": {"$gt": 2**64}}})
    assert 200 <= r.status_code < 500 and r.status_code != 500, r.text


def test_huge_text_query_is_refused_or_answered(client):
    c = client
    assert c.post("/collections/faq/documents", json={"documents": [DOC]}).status_code == 200
    words = " ".join(f"w{i}" for i in range(150_000))
    for query in (words, "password " * 1200):  # past the request's and the store's limit
        for mode in ("text", "hybrid", "vector"):
            r = c.post("/collections/faq/search", json={"query": query, "mode": mode})
            assert r.status_code == 413, (mode, r.status_code, r.text[:200])
    just = " ".join(["password"] * 1500)[:9_999]  # under the character limit: answered
    r = c.post("/collections/faq/search", json={"query": just, "mode": "text"})
    assert r.status_code == 200, r.text


def test_store_layer_refuses_the_same_names(location):  # noqa: F811
    from sentvec.errors import SentvecError
    from sentvec.store import check_name, open_collection

    for bad in BAD_NAMES:
        with pytest.raises(SentvecError):
            check_name(bad)
        with pytest.raises(SentvecError):
            open_collection(location, bad)
    if not location.startswith("postgresql://"):
        assert not os.path.exists(location) or not any(Path(location).iterdir())


# found by the fuzz suite: NUL characters (PostgreSQL text and JSON cannot hold them)


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "n1", "text": "a\x00b"},
        {"id": "n\x00", "text": "ok"},
        {"id": "n2", "text": "ok", "title": "t\x00"},
        {"id": "n3", "text": "ok", "metadata": {"k": "v\x00"}},
        {"id": "n4", "text": "ok", "metadata": {"k\x00": 1}},
        {"id": "n5", "text": "ok", "metadata": {"k": [{"x": "\x00"}]}},
    ],
)
def test_nul_characters_are_refused_the_same_on_both_backends(client, doc):
    c = client
    assert c.post("/collections/faq/documents", json={"documents": [DOC]}).status_code == 200
    before = snapshot(c)
    r = c.post("/collections/faq/documents", json={"documents": [doc]})
    assert 400 <= r.status_code < 500 and "NUL" in r.json()["error"]["message"], r.text
    assert snapshot(c) == before


def test_nul_characters_in_reads_are_not_500(client):
    c = client
    assert c.post("/collections/faq/documents", json={"documents": [DOC]}).status_code == 200
    for mode in ("vector", "text", "hybrid"):
        r = c.post("/collections/faq/search", json={"query": "pass\x00word", "mode": mode})
        assert r.status_code < 500, (mode, r.text)
    r = c.post("/collections/faq/search", json={"query": "x", "filters": {"category": "a\x00"}})
    assert r.status_code < 500 and (r.status_code != 200 or r.json()["hits"] == []), r.text
    assert c.get("/collections/faq/documents/a%00b").status_code == 404
    r = c.post("/collections/faq/delete", json={"ids": ["1\x00"]})
    assert r.status_code < 500 and snapshot(c)["faq"][0] == 1, r.text
