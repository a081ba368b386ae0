"""The HTTP API in-process: values equal Encoder.encode, OpenAI's formats and error envelope,
limits, 429, API key, CORS, probes, metrics, collections and injection-proof filters."""

from __future__ import annotations

import asyncio
import base64
import threading

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from sentvec.server import Settings, create_app

from store_backends import location, pg_server  # noqa: F401  (fixtures)

NAME = "tiny"


def make_app(encoder, **kw):
    return create_app(Settings(models={NAME: None}, **kw), encoders={NAME: encoder})


@pytest.fixture()
def client(tiny_encoder, tmp_path):
    with TestClient(make_app(tiny_encoder, collections=tmp_path)) as c:
        yield c


@pytest.fixture()
def store_client(tiny_encoder, location):  # noqa: F811
    """A client whose collections live in a LanceDB folder or a real PostgreSQL database
    (``--store URI``): the collection tests run on both."""
    with TestClient(make_app(tiny_encoder, collections=location)) as c:
        yield c


def embed(client, texts, **kw):
    r = client.post("/v1/embeddings", json={"input": texts, "model": NAME, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def test_concurrent_requests_equal_encode(tiny_encoder):
    """30 concurrent requests of different sizes: each answer, in order, equals encode()."""
    rng = np.random.default_rng(0)
    words = [
        "the",
        "cat",
        "sat",
        "on",
        "a",
        "mat",
        "while",
        "dogs",
        "ran",
        "far",
        "away",
        "in",
        "bright",
        "cold",
        "rain",
    ]
    reqs = [
        [" ".join(rng.choice(words, rng.integers(1, 30))) for _ in range(rng.integers(1, 6))]
        for _ in range(30)
    ]
    app = make_app(tiny_encoder, max_wait_ms=5)

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                rs = await asyncio.gather(
                    *(c.post("/v1/embeddings", json={"input": r, "model": NAME}) for r in reqs)
                )
                metrics = (await c.get("/metrics")).text
        return [r.json() for r in rs], metrics

    bodies, metrics = asyncio.run(main())
    for texts, body in zip(reqs, bodies):
        got = np.array([d["embedding"] for d in body["data"]], dtype=np.float32)
        assert [d["index"] for d in body["data"]] == list(range(len(texts)))
        np.testing.assert_allclose(got, tiny_encoder.encode(texts), atol=1e-6)
        mask = tiny_encoder.tokenize(texts)["attention_mask"]
        assert body["usage"] == {"prompt_tokens": int(mask.sum()), "total_tokens": int(mask.sum())}
    # merged: fewer model calls than requests
    calls = float(metrics.split('sentvec_batch_texts_count{model="tiny"} ')[1].split()[0])
    assert calls < 30
    assert 'sentvec_request_seconds_bucket{le="0.005",route="/v1/embeddings"}' in metrics


def test_openai_shape_base64_and_dimensions(client, tiny_encoder):
    texts = ["A man is eating food.", "A plane takes off."]
    ref = tiny_encoder.encode(texts)
    body = embed(client, texts)
    assert body["object"] == "list" and body["model"] == NAME
    assert body["data"][0]["object"] == "embedding"
    b64 = embed(client, texts, encoding_format="base64")
    got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), "<f4") for d in b64["data"]])
    np.testing.assert_allclose(got, ref, atol=1e-6)
    short = embed(client, "A man is eating food.", dimensions=8)
    cut = ref[0, :8] / np.linalg.norm(ref[0, :8])
    np.testing.assert_allclose(short["data"][0]["embedding"], cut, atol=1e-6)
    models = client.get("/v1/models").json()
    assert models["data"][0]["id"] == NAME and models["data"][0]["object"] == "model"


@pytest.mark.parametrize(
    ("payload", "status", "param", "needle"),
    [
        ({"model": NAME}, 422, "input", "input"),
        ({"input": "x", "model": "nope"}, 404, "model", "not served"),
        ({"input": "x", "model": NAME, "dimensions": 10_000}, 422, "dimensions", "at most"),
        ({"input": "x", "model": NAME, "encoding_format": "int8"}, 422, "encoding_format", ""),
        ({"input": ["ok", ""], "model": NAME}, 422, "input", "empty"),
        ({"input": [1, 2, 3], "model": NAME}, 422, "input", "token ids"),
        ({"input": ["a"] * 2049, "model": NAME}, 413, "input", "2048"),
        ({"input": "x" * 20_001, "model": NAME}, 413, "input", "characters"),
    ],
)
def test_error_envelope(client, payload, status, param, needle):
    r = client.post("/v1/embeddings", json=payload)
    assert r.status_code == status
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == param and needle in err["message"]


def test_token_limit_413(tiny_encoder, tmp_path):
    with TestClient(make_app(tiny_encoder, max_request_tokens=10)) as c:
        r = c.post(
            "/v1/embeddings",
            json={"input": "one two three four five six seven eight nine ten", "model": NAME},
        )
    assert r.status_code == 413 and "tokens" in r.json()["error"]["message"]


def test_full_queue_answers_429_and_health_answers_while_busy(tiny_encoder):
    app = make_app(tiny_encoder, max_queued=2, max_batch_tokens=1, max_wait_ms=0)
    release = threading.Event()

    async def main():
        async with app.router.lifespan_context(app):
            queue = app.state.sentvec.models[NAME].queue
            real = queue.embed

            def blocked(texts):
                release.wait(10)
                return real(texts)

            queue.embed = blocked
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                post = lambda t: c.post("/v1/embeddings", json={"input": t, "model": NAME})  # noqa: E731
                busy = asyncio.ensure_future(post("first"))
                await asyncio.sleep(0.1)
                queued = asyncio.ensure_future(post(["second", "third"]))
                await asyncio.sleep(0.05)
                health = await asyncio.wait_for(c.get("/health"), 2)
                ready = await c.get("/ready")
                refused = await post("fourth")
                release.set()
                return health, ready.json(), refused, await busy, await queued

    health, ready, refused, busy, queued = asyncio.run(main())
    assert health.status_code == 200 and ready["models"][NAME]["queued"] == 2
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert busy.status_code == 200 and queued.status_code == 200


def test_api_key_required_and_checked(tiny_encoder):
    with TestClient(make_app(tiny_encoder, api_key="s3cret")) as c:
        payload = {"input": "x", "model": NAME}
        assert c.post("/v1/embeddings", json=payload).status_code == 401
        wrong = c.post("/v1/embeddings", json=payload, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["type"] == "authentication_error"
        ok = c.post("/v1/embeddings", json=payload, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert c.get("/collections").status_code == 401
        assert c.get("/health").status_code == 200  # liveness stays open


def test_non_loopback_needs_a_key(monkeypatch):
    from sentvec.errors import SentvecError

    monkeypatch.delenv("SENTVEC_API_KEY", raising=False)
    Settings(host="127.0.0.1").check_host()
    Settings(host="::1").check_host()
    with pytest.raises(SentvecError, match="api-key"):
        Settings(host="0.0.0.0").check_host()
    Settings(host="0.0.0.0", api_key="k").check_host()
    monkeypatch.setenv("SENTVEC_API_KEY", "from-env")
    assert Settings(host="0.0.0.0").api_key == "from-env"


def test_no_cors_unless_asked(tiny_encoder):
    hdr = {"Origin": "http://evil.example"}
    with TestClient(make_app(tiny_encoder)) as c:
        assert "access-control-allow-origin" not in c.get("/v1/models", headers=hdr).headers
    with TestClient(make_app(tiny_encoder, cors_origins=["http://ok.example"])) as c:
        r = c.get("/v1/models", headers={"Origin": "http://ok.example"})
        assert r.headers["access-control-allow-origin"] == "http://ok.example"


def test_similarity_and_classify_match_the_library(client, tiny_encoder):
    from sentvec.apps.classify import classify

    a, b = ["a cat sits", "stock prices fell"], ["a kitten rests", "markets drop", "rain"]
    scores = client.post("/similarity", json={"a": a, "b": b}).json()["scores"]
    ref = tiny_encoder.similarity(tiny_encoder.encode(a), tiny_encoder.encode(b))
    np.testing.assert_allclose(scores, ref, atol=1e-6)
    labels = ["animals", "finance"]
    got = client.post("/classify", json={"texts": a, "labels": labels}).json()["results"]
    want = classify(a, labels, encoder=tiny_encoder)
    assert [g["label"] for g in got] == [w.label for w in want]
    for g, w in zip(got, want):
        assert g["scores"] == pytest.approx(w.scores, abs=1e-6)


DOCS = [
    {
        "id": "1",
        "text": "How do I reset my password?",
        "metadata": {"category": "account", "year": 2021},
    },
    {
        "id": "2",
        "text": "Refunds take five business days.",
        "metadata": {"category": "billing", "year": 2022},
    },
    {
        "id": "3",
        "text": "Change the email on my account",
        "metadata": {"category": "account", "year": 2023},
    },
    {
        "id": "4",
        "text": "Update the credit card used for billing",
        "metadata": {"category": "billing", "year": 2020},
    },
    {
        "id": "5",
        "text": "The app crashes when I upload a photo",
        "metadata": {"category": "bugs", "year": 2023},
    },
]


def fill(client):
    r = client.post("/collections/faq/documents", json={"documents": DOCS})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 5 and r.json()["passages"] == 5


def search(client, **body):
    r = client.post("/collections/faq/search", json=body)
    assert r.status_code == 200, r.text
    return r.json()["hits"]


def test_collection_search_matches_brute_force(store_client, tiny_encoder):
    fill(store_client)
    assert store_client.get("/collections").json()["collections"] == ["faq"]
    assert store_client.get("/collections/faq").json()["documents"] == 5
    docs = tiny_encoder.encode([d["text"] for d in DOCS])
    q = tiny_encoder.encode(["forgot my password"])[0]
    order = [DOCS[i]["id"] for i in np.argsort(-(docs @ q))]
    hits = search(store_client, query="forgot my password", k=5)
    assert [h["id"] for h in hits] == order
    np.testing.assert_allclose([h["score"] for h in hits], np.sort(docs @ q)[::-1], atol=1e-5)
    by_vec = search(store_client, vector=q.tolist(), k=2)
    assert [h["id"] for h in by_vec] == order[:2]
    billing = search(store_client, query="card", k=5, filters={"category": "billing"})
    assert {h["id"] for h in billing} == {"2", "4"}
    recent = search(
        store_client,
        query="account",
        k=5,
        filters={"year": {"$gte": 2022}, "category": {"$in": ["account", "bugs"]}},
    )
    assert {h["id"] for h in recent} == {"3", "5"}
    text = search(store_client, query="refunds", mode="text", k=3)
    assert text[0]["id"] == "2"
    hybrid = search(store_client, query="refunds billing", mode="hybrid", k=3)
    assert "2" in {h["id"] for h in hybrid}


def test_filters_cannot_inject_sql(store_client):
    fill(store_client)
    evil_value = {"category": "x' OR '1'='1"}
    assert search(store_client, query="password", k=5, filters=evil_value) == []
    r = store_client.post(
        "/collections/faq/search",
        json={"query": "password", "filters": {"category = 'account' OR 1=1 --": "x"}},
    )
    assert r.status_code == 422 and "no column" in r.json()["error"]["message"]
    r = store_client.post(
        "/collections/faq/search",
        json={"query": "p", "filters": {"year": {"$gt": "1; DROP TABLE faq"}}},
    )
    assert r.status_code == 422  # a string for an int column: refused before any query
    assert "does not fit column 'year'" in r.json()["error"]["message"]
    assert r.json()["error"]["param"] == "filters"
    r = store_client.post("/collections/faq/delete", json={"filters": {"category": "' OR ''='"}})
    assert r.status_code == 200 and r.json()["deleted"] == 0
    assert store_client.get("/collections/faq").json()["documents"] == 5
    r = store_client.post(
        "/collections/faq/search", json={"query": "p", "filters": {"year": {"$regex": ".*"}}}
    )
    assert r.status_code == 422 and "operator" in r.json()["error"]["message"]


def test_upsert_delete_and_map(store_client):
    fill(store_client)
    again = store_client.post("/collections/faq/documents", json={"documents": DOCS[:1]}).json()
    assert again["added"] == 0 and again["skipped"] == 1 and again["documents"] == 5
    changed = {**DOCS[0], "text": "Password reset link never arrives"}
    up = store_client.post(
        "/collections/faq/documents", json={"documents": [changed], "upsert": True}
    )
    assert up.json()["updated"] == 1
    assert search(store_client, query="link never arrives", mode="text", k=1)[0]["id"] == "1"
    gone = store_client.post("/collections/faq/delete", json={"ids": ["5"]}).json()
    assert gone == {"deleted": 1, "documents": 4}
    m = store_client.get("/collections/faq/map").json()
    assert len(m["points"]) == 4 and {p["id"] for p in m["points"]} == {"1", "2", "3", "4"}
    assert all(0 <= p["x"] <= 1 and 0 <= p["y"] <= 1 for p in m["points"])
    assert m["clusters"] and all(c["label"] for c in m["clusters"])
    assert store_client.get("/collections/nope").status_code == 404


def test_page_and_docs_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "http" not in page.text.replace("http://www.w3.org", "")  # nothing from a CDN
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/docs").status_code == 200
    assert "/v1/embeddings" in client.get("/openapi.json").json()["paths"]
