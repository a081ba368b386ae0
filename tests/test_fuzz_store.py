"""Property-based fuzzing of the store through HTTP (both backends) and the CLI, with the
strategies of tests/strategies.py: no 5xx, no traceback, a refused request leaves the store
as it was, other collections are unaffected, and stored metadata reads back as sent."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentvec.server import Settings, create_app
from strategies import METADATA, NAMES, TEXTS

from sentvec_cli_runner import run_cli
from store_backends import location, pg_server  # noqa: F401  (fixtures)

pytest.importorskip("lancedb")
NAME = "tiny"
EXAMPLES = int(os.environ.get("SENTVEC_FUZZ_EXAMPLES", "40"))
SETTINGS = {
    "deadline": None,
    "database": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
}
KEEP = [
    {"id": "k1", "text": "How do I reset my password?", "metadata": {"tag": "a"}},
    {"id": "k2", "text": "Where are my invoices?", "metadata": {"tag": "b"}},
]
DOCS = st.lists(
    st.fixed_dictionaries(
        {"id": st.one_of(st.from_regex(r"\A[a-z0-9]{1,6}\Z"), TEXTS), "text": TEXTS},
        optional={"metadata": METADATA, "title": TEXTS},
    ),
    min_size=1,
    max_size=3,
)


def files(where: str) -> set[str]:
    if where.startswith("postgresql://"):
        return set()
    root = Path(where)
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def snapshot(c) -> dict:
    out = {}
    for n in c.get("/collections").json()["collections"]:
        info = c.get(f"/collections/{quote(n, safe='')}").json()
        out[n] = info["documents"]
    return out


def body(docs) -> bytes:
    # surrogates written as \\u escapes, as a client's JSON would carry them
    return json.dumps({"documents": docs}, ensure_ascii=True).encode()


def test_http_add_search_fuzz(tiny_encoder, location, fuzz_cases):  # noqa: F811
    app = create_app(
        Settings(models={NAME: None}, collections=location), encoders={NAME: tiny_encoder}
    )
    with TestClient(app) as c:
        assert c.post("/collections/keep/documents", json={"documents": KEEP}).status_code == 200

        @settings(max_examples=EXAMPLES, **SETTINGS)
        @given(name=NAMES, docs=DOCS, query=TEXTS)
        def run(name, docs, query):
            fuzz_cases[0] += 1
            before, disk = snapshot(c), files(location)
            path = f"/collections/{quote(name, safe='')}"
            r = c.post(
                path + "/documents",
                content=body(docs),
                headers={"content-type": "application/json"},
            )
            assert r.status_code < 500, r.text
            if r.status_code >= 400:
                err = r.json()["error"]
                assert err["message"] and "Traceback" not in err["message"]
                assert snapshot(c) == before, (name, docs, r.text)
                if not location.startswith("postgresql://") and name not in before:
                    assert files(location) == disk, (name, r.text)
            else:
                last = {}
                for d in docs:  # the first of each id is kept (no upsert)
                    last.setdefault(d["id"], d)
                for doc_id, d in last.items():
                    got = c.get(f"{path}/documents/{quote(doc_id, safe='')}")
                    if got.status_code == 200 and name not in before:  # all new: as sent
                        meta = {k: v for k, v in got.json()["metadata"].items() if k != "title"}
                        sent = d.get("metadata", {})
                        if meta != sent and r.json()["added"]:
                            assert json.dumps(meta, sort_keys=True) == json.dumps(
                                sent, sort_keys=True
                            )
            s = c.post(
                path + "/search",
                content=json.dumps({"query": query, "mode": "hybrid"}).encode(),
                headers={"content-type": "application/json"},
            )
            assert s.status_code < 500, s.text
            keep = c.post("/collections/keep/search", json={"query": "password", "k": 5})
            assert keep.status_code == 200 and {h["id"] for h in keep.json()["hits"]} == {
                "k1",
                "k2",
            }

        run()


def test_cli_index_add_fuzz(tmp_path_factory, make_st_model, fuzz_cases):
    model = str(make_st_model("mean", normalize=True))
    root = tmp_path_factory.mktemp("cli-fuzz")
    db = str(root / "db")
    rows = root / "keep.jsonl"
    rows.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in KEEP))
    code, out = run_cli(["index", "add", "keep", str(rows), "--store", db, "--model", model])
    assert code == 0, out

    @settings(max_examples=max(EXAMPLES // 2, 5), **SETTINGS)
    @given(name=NAMES, docs=DOCS, n=st.integers(0, 10**6))
    def run(name, docs, n):
        fuzz_cases[0] += 1
        f = root / f"in{n}.jsonl"
        f.write_text(
            "".join(
                json.dumps(
                    {**d.get("metadata", {}), "id": d["id"], "text": d["text"]}, ensure_ascii=True
                )
                + "\n"
                for d in docs
            )
        )
        disk = files(db)
        code, out = run_cli(["index", "add", name, str(f), "--store", db, "--model", model])
        assert code in (0, 2) and "Traceback" not in out, out
        if code == 2:
            assert out.count("error:") == 1, out
            assert files(db) == disk, (name, out)
        code, out = run_cli(["index", "search", "keep", "password", "--store", db, "--json"])
        assert code == 0, out

    run()
