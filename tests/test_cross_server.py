"""``POST /rerank`` (TEI) and ``POST /v1/rerank`` (Cohere / Jina): the scores of
sentence-transformers' CrossEncoder, best first, through the batching queue."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

import sentvec
from cross_models import PAIRS, make_cross_folder
from sentvec.server import Settings, create_app

QUERY = "a man is eating food."
DOCS = [d for _, d in PAIRS]


@pytest.fixture(scope="module")
def cross_dir(tmp_path_factory: pytest.TempPathFactory):
    return make_cross_folder(tmp_path_factory.mktemp("ce") / "m", 1)


@pytest.fixture(scope="module")
def reference(cross_dir) -> tuple[np.ndarray, np.ndarray]:
    import torch
    from sentence_transformers import CrossEncoder

    ref = CrossEncoder(str(cross_dir))
    pairs = [(QUERY, d) for d in DOCS]
    return ref.predict(pairs), ref.predict(pairs, activation_fn=torch.nn.Identity())


def _app(tiny_encoder, cross_dir, tmp_path, **kw):
    return create_app(
        Settings(models={"tiny": None}, collections=tmp_path, **kw),
        encoders={"tiny": tiny_encoder},
        rerankers={"ce": sentvec.load_cross(cross_dir)},
    )


@pytest.fixture()
def client(tiny_encoder, cross_dir, tmp_path):
    with TestClient(_app(tiny_encoder, cross_dir, tmp_path)) as c:
        yield c


def test_tei_rerank(client, reference) -> None:
    scores, raw = reference
    r = client.post("/rerank", json={"query": QUERY, "texts": DOCS, "return_text": True})
    assert r.status_code == 200, r.text
    body = r.json()
    order = np.argsort(-scores, kind="stable")
    assert [x["index"] for x in body] == order.tolist()
    np.testing.assert_allclose([x["score"] for x in body], scores[order], atol=1e-5)
    assert body[0]["text"] == DOCS[order[0]]
    r = client.post("/rerank", json={"query": QUERY, "texts": DOCS, "raw_scores": True})
    np.testing.assert_allclose([x["score"] for x in r.json()], raw[order], atol=1e-5)
    assert "text" not in r.json()[0]


def test_v1_rerank(client, reference) -> None:
    scores, _ = reference
    docs = [DOCS[0], {"text": DOCS[1]}, *DOCS[2:]]
    r = client.post(
        "/v1/rerank",
        json={
            "model": "ce",
            "query": QUERY,
            "documents": docs,
            "top_n": 3,
            "return_documents": True,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    order = np.argsort(-scores, kind="stable")[:3]
    assert body["model"] == "ce" and len(body["results"]) == 3
    assert [x["index"] for x in body["results"]] == order.tolist()
    np.testing.assert_allclose(
        [x["relevance_score"] for x in body["results"]], scores[order], atol=1e-5
    )
    assert body["results"][0]["document"] == {"text": DOCS[order[0]]}
    assert body["usage"]["total_tokens"] > 0
    plain = client.post("/v1/rerank", json={"query": QUERY, "documents": DOCS}).json()
    assert len(plain["results"]) == len(DOCS) and "document" not in plain["results"][0]


def test_rerank_errors(client, tiny_encoder, tmp_path) -> None:
    r = client.post("/v1/rerank", json={"model": "nope", "query": QUERY, "documents": DOCS})
    assert r.status_code == 404 and "ce" in r.json()["error"]["message"]
    r = client.post("/v1/rerank", json={"query": QUERY, "documents": []})
    assert r.status_code == 422
    r = client.post("/rerank", json={"query": QUERY, "texts": ["ok", ""]})
    assert r.status_code == 422
    app = create_app(
        Settings(models={"tiny": None}, collections=tmp_path), encoders={"tiny": tiny_encoder}
    )
    with TestClient(app) as c:
        r = c.post("/rerank", json={"query": QUERY, "texts": DOCS})
        assert r.status_code == 404 and "--rerank-model" in r.json()["error"]["message"]


def test_concurrent_requests_share_the_queue(tiny_encoder, cross_dir, tmp_path, reference):
    """20 concurrent requests: each answer equals the reference, whatever batch it rode in."""
    scores, _ = reference
    app = _app(tiny_encoder, cross_dir, tmp_path)

    async def main() -> list[dict]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as c,
        ):
            n = [1 + i % len(DOCS) for i in range(20)]
            rs = await asyncio.gather(
                *[c.post("/v1/rerank", json={"query": QUERY, "documents": DOCS[:k]}) for k in n]
            )
            return [(k, r.json()) for k, r in zip(n, rs, strict=True)]

    for k, body in asyncio.run(main()):
        got = {x["index"]: x["relevance_score"] for x in body["results"]}
        np.testing.assert_allclose([got[i] for i in range(k)], scores[:k], atol=1e-5)
