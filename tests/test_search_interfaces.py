"""One search path: the same query gives the same documents, scores, passages and answering
sentences from Python, the CLI (``--json``), HTTP, and the LangChain and LlamaIndex
retrievers (the real libraries), in vector, text and hybrid mode, on both backends."""

from __future__ import annotations

import json

import pytest

from sentvec.io import Record
from sentvec.store import for_encoder

from sentvec_cli_runner import run_cli as invoke
from store_backends import location, pg_server  # noqa: F401  (fixtures)

pytest.importorskip("lancedb")

DOCS = [
    Record(
        "Refunds for annual plans are paid back within ten days. The weather is sunny today. "
        "Monthly plans are not refunded. Cards take five to ten business days.",
        "refunds",
        {"title": "Refunds", "category": "billing", "url": "https://x/refunds"},
    ),
    Record(
        "Turn on two factor authentication in the security settings. Codes come from an "
        "authenticator app. Recovery codes work once each. Keep them safe.",
        "2fa",
        {"title": "Two-factor authentication", "category": "account"},
    ),
    Record(
        "Exports are zip files with one CSV file per table. Large books take an hour. "
        "The download link works for seven days.",
        "export",
        {"title": "Exporting your data", "category": "data"},
    ),
    Record("Invoices carry your logo. Pick a brand colour.", "invoices", {"title": "Invoices"}),
]
QUERY = "refund of my annual plan"
FIELDS = ("id", "passage", "start", "end", "answer_start", "answer_end", "text")


def _key(hit: dict) -> tuple:
    return tuple(hit[f] for f in FIELDS)


@pytest.fixture()
def served(location, tiny_encoder, make_st_model):  # noqa: F811
    from fastapi.testclient import TestClient

    from sentvec.documents import Chunking
    from sentvec.server import Settings, create_app

    col = for_encoder(location, "help", tiny_encoder)
    col.add(DOCS, tiny_encoder, chunking=Chunking(tokens=24, overlap=6))
    settings = Settings(models={"tiny": None}, collections=location)
    with TestClient(create_app(settings, encoders={"tiny": tiny_encoder})) as client:
        yield col, client
    col.close()


@pytest.mark.parametrize("mode", ["vector", "text", "hybrid"])
def test_every_interface_gives_the_same_hits(served, tiny_encoder, mode, location):  # noqa: F811
    from sentvec.integrations.langchain import SentvecRetriever as LangChainRetriever
    from sentvec.integrations.llamaindex import SentvecRetriever as LlamaRetriever

    col, client = served
    python = [h.to_dict() for h in col.search(QUERY, 3, mode=mode, encoder=tiny_encoder)]
    assert len(python) >= (1 if mode == "text" else 2)  # (a tiny random model: any order)
    assert all(h["answer"] and h["title"] for h in python)

    r = client.post("/collections/help/search", json={"query": QUERY, "k": 3, "mode": mode})
    assert r.status_code == 200, r.text
    http = r.json()["hits"]

    model = str(tiny_encoder.spec.transformer_path)
    args = ["index", "search", "help", QUERY, "-k", "3", "--mode", mode, "--json"]
    args += ["--store", location, "--model", model]
    code, out = invoke(args)
    assert code == 0, out
    cli = [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    chain = LangChainRetriever(collection=col, encoder=tiny_encoder, k=3, mode=mode).invoke(QUERY)
    llama = LlamaRetriever(collection=col, encoder=tiny_encoder, k=3, mode=mode).retrieve(QUERY)
    chain_hits = [{**d.metadata, "text": d.page_content} for d in chain]
    llama_hits = [{**n.node.metadata, "text": n.node.get_content()} for n in llama]
    assert [n.score for n in llama] == pytest.approx([h["score"] for h in python], abs=1e-5)

    want = [_key(h) for h in python]
    for name, got in [
        ("http", http),
        ("cli", cli),
        ("langchain", chain_hits),
        ("llamaindex", llama_hits),
    ]:
        assert [_key(h) for h in got] == want, name
        scores = [h["score"] for h in python]
        assert [h["score"] for h in got] == pytest.approx(scores, abs=1e-5), name
    if mode == "hybrid":
        for got in (python, http, cli):
            assert all(0 < h["fused"] <= 1 and -1 <= h["score"] <= 1 for h in got)


def test_answer_sentences_from_the_cache_equal_fresh_ones(served, tiny_encoder, location):  # noqa: F811
    """The server keeps the vectors of passages' sentences: asked again (other queries over
    the same articles), the answers are still those of a fresh Python search, and the
    sentences are not encoded twice."""
    from sentvec.documents import Chunking

    _, client = served
    col = for_encoder(location, "whole", tiny_encoder)  # one passage per article: 3-4 sentences
    col.add(DOCS, tiny_encoder, chunking=Chunking(enabled=False))
    queries = [QUERY, "authenticator app codes", "export zip csv"]
    cache = client.app.state.sentvec.models["tiny"].sentences
    for round_ in range(2):
        for q in queries:
            python = [_key(h.to_dict()) for h in col.search(q, 3, encoder=tiny_encoder)]
            r = client.post("/collections/whole/search", json={"query": q, "k": 3})
            assert r.status_code == 200, r.text
            assert [_key(h) for h in r.json()["hits"]] == python, (round_, q)
        if round_ == 0:
            misses, hits = cache.misses, cache.hits
            assert misses > 0
    assert cache.misses == misses and cache.hits > hits  # the second round encoded nothing
    col.close()


def test_the_http_retrievers_match_too(served, tiny_encoder):
    """The retrievers through a live server (httpx against the TestClient's app)."""
    import httpx

    from sentvec.integrations._core import RemoteSearcher

    col, client = served
    searcher = RemoteSearcher("http://testserver", "help", k=3, mode="hybrid")
    transport = httpx.ASGITransport(app=client.app)

    async def remote() -> list[dict]:
        url, body, headers = searcher._request(QUERY)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return (await c.post(url, json=body, headers=headers)).json()["hits"]

    import asyncio

    got = asyncio.run(remote())
    want = [h.to_dict() for h in col.search(QUERY, 3, mode="hybrid", encoder=tiny_encoder)]
    assert [_key(h) for h in got] == [_key(h) for h in want]
    assert [h["score"] for h in got] == pytest.approx([h["score"] for h in want], abs=1e-5)


def test_no_good_match_reaches_every_interface(served, tiny_encoder, location):  # noqa: F811
    col, client = served
    col.update_meta(min_score=0.9999)
    assert col.search(QUERY, 3, encoder=tiny_encoder).reason.startswith("no good match")
    r = client.post("/collections/help/search", json={"query": QUERY}).json()
    assert r["hits"] == [] and r["reason"].startswith("no good match")
    model = str(tiny_encoder.spec.transformer_path)
    code, out = invoke(["index", "search", "help", QUERY, "--store", location, "--model", model])
    assert code == 0 and "no good match" in out
    code, out = invoke(
        [
            "index",
            "search",
            "help",
            QUERY,
            "--store",
            location,
            "--model",
            model,
            "--min-score",
            "0",
        ]
    )
    assert code == 0 and "refunds" in out
