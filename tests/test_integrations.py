"""Adapters against the real libraries (langchain-core, llama-index-core, chromadb), locally
and through a live ``sentvec serve``; the official openai client and LangChain's
OpenAIEmbeddings against the server, unchanged. Reference: Encoder.encode with the prompt."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time

import numpy as np
import pytest

NAME = "tiny-e5"
DOCS = ["How do I reset my password?", "Refunds take five business days.", "The app crashes."]
QUERY = "forgot password"


@pytest.fixture(scope="module")
def prompt_encoder(make_st_model, tmp_path_factory):
    """A tiny model with distinct query and document prompts (like E5)."""
    import sentvec

    folder = tmp_path_factory.mktemp("e5like")
    shutil.copytree(make_st_model("mean", normalize=True), folder, dirs_exist_ok=True)
    cfg = folder / "config_sentence_transformers.json"
    data = json.loads(cfg.read_text()) if cfg.exists() else {}
    data["prompts"] = {"query": "query: ", "document": "passage: "}
    cfg.write_text(json.dumps(data))
    return sentvec.load(folder)


@pytest.fixture(scope="module")
def server(prompt_encoder):
    """A real uvicorn server on 127.0.0.1 (a free port), in a thread; stopped after the module."""
    import uvicorn

    from sentvec.server import Settings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(models={NAME: None}), encoders={NAME: prompt_encoder})
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def ref(encoder, texts, role):
    return encoder.encode(texts, prompt=role)


def test_prompts_are_really_different(prompt_encoder):
    assert not np.allclose(
        ref(prompt_encoder, DOCS, "query"), ref(prompt_encoder, DOCS, "document")
    )


@pytest.mark.parametrize("remote", [False, True])
def test_langchain(prompt_encoder, server, remote):
    from langchain_core.embeddings import Embeddings
    from langchain_core.vectorstores import InMemoryVectorStore

    from sentvec.integrations.langchain import SentvecEmbeddings

    emb = (
        SentvecEmbeddings(NAME, url=server) if remote else SentvecEmbeddings(encoder=prompt_encoder)
    )
    assert isinstance(emb, Embeddings)
    np.testing.assert_allclose(
        emb.embed_documents(DOCS), ref(prompt_encoder, DOCS, "document"), atol=1e-6
    )
    np.testing.assert_allclose(
        emb.embed_query(QUERY), ref(prompt_encoder, [QUERY], "query")[0], atol=1e-6
    )
    adocs = asyncio.run(emb.aembed_documents(DOCS))
    aq = asyncio.run(emb.aembed_query(QUERY))
    np.testing.assert_allclose(adocs, ref(prompt_encoder, DOCS, "document"), atol=1e-6)
    np.testing.assert_allclose(aq, ref(prompt_encoder, [QUERY], "query")[0], atol=1e-6)
    store = InMemoryVectorStore.from_texts(DOCS, emb)
    hits = store.similarity_search_with_score(QUERY, k=3)
    q, d = ref(prompt_encoder, [QUERY], "query")[0], ref(prompt_encoder, DOCS, "document")
    assert [h.page_content for h, _ in hits] == [DOCS[i] for i in np.argsort(-(d @ q))]


@pytest.mark.parametrize("remote", [False, True])
def test_llamaindex(prompt_encoder, server, remote):
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from sentvec.integrations.llamaindex import SentvecEmbedding

    emb = SentvecEmbedding(NAME, url=server) if remote else SentvecEmbedding(encoder=prompt_encoder)
    assert isinstance(emb, BaseEmbedding)
    np.testing.assert_allclose(
        emb.get_query_embedding(QUERY), ref(prompt_encoder, [QUERY], "query")[0], atol=1e-6
    )
    np.testing.assert_allclose(
        emb.get_text_embedding_batch(DOCS), ref(prompt_encoder, DOCS, "document"), atol=1e-6
    )
    aq = asyncio.run(emb.aget_query_embedding(QUERY))
    ad = asyncio.run(emb.aget_text_embedding_batch(DOCS))
    np.testing.assert_allclose(aq, ref(prompt_encoder, [QUERY], "query")[0], atol=1e-6)
    np.testing.assert_allclose(ad, ref(prompt_encoder, DOCS, "document"), atol=1e-6)


@pytest.mark.parametrize("remote", [False, True])
def test_chroma(prompt_encoder, server, remote, monkeypatch):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from sentvec.integrations.chroma import SentvecEmbeddingFunction

    fn = (
        SentvecEmbeddingFunction(NAME, url=server)
        if remote
        else SentvecEmbeddingFunction(encoder=prompt_encoder)
    )
    assert not fn.is_legacy() and fn.name() == "sentvec"
    np.testing.assert_allclose(np.array(fn(DOCS)), ref(prompt_encoder, DOCS, "document"), atol=1e-6)
    np.testing.assert_allclose(
        np.array(fn.embed_query([QUERY])), ref(prompt_encoder, [QUERY], "query"), atol=1e-6
    )
    again = SentvecEmbeddingFunction.build_from_config(fn.get_config())
    assert again.get_config() == fn.get_config()
    client = chromadb.EphemeralClient(ChromaSettings(anonymized_telemetry=False))
    col = client.create_collection(f"faq{int(remote)}", embedding_function=fn)
    col.add(ids=[str(i) for i in range(len(DOCS))], documents=DOCS)
    got = col.query(query_texts=[QUERY], n_results=3)["ids"][0]
    q, d = ref(prompt_encoder, [QUERY], "query")[0], ref(prompt_encoder, DOCS, "document")
    assert got == [str(i) for i in np.argsort(-(d @ q))]


@pytest.mark.parametrize("encoding_format", ["base64", "float", None])
def test_official_openai_client(prompt_encoder, server, encoding_format):
    """The openai package, unchanged. With no encoding_format it asks for base64 and decodes
    it itself; an explicit base64 hands the strings to the caller."""
    import base64

    from openai import OpenAI

    client = OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
    kw = {"encoding_format": encoding_format} if encoding_format else {}
    r = client.embeddings.create(model=NAME, input=DOCS, **kw)
    if encoding_format == "base64":
        got = np.stack([np.frombuffer(base64.b64decode(d.embedding), "<f4") for d in r.data])
    else:
        got = np.array([d.embedding for d in r.data], dtype=np.float32)
    np.testing.assert_allclose(got, prompt_encoder.encode(DOCS), atol=1e-6)
    assert r.usage.prompt_tokens == int(prompt_encoder.tokenize(DOCS)["attention_mask"].sum())
    short = client.embeddings.create(model=NAME, input="hello", dimensions=4)
    assert len(short.data[0].embedding) == 4
    assert np.linalg.norm(short.data[0].embedding) == pytest.approx(1.0, abs=1e-5)
    assert [m.id for m in client.models.list()] == [NAME]
    import openai

    with pytest.raises(openai.NotFoundError) as err:
        client.embeddings.create(model="gpt-nope", input="x")
    assert "not served" in str(err.value)


def test_langchain_openai_embeddings(prompt_encoder, server):
    """LangChain's OpenAIEmbeddings pointed at sentvec serve; it sends text once told not to
    tokenize with tiktoken (the documented switch for OpenAI-compatible servers)."""
    from langchain_openai import OpenAIEmbeddings

    emb = OpenAIEmbeddings(
        model=NAME, base_url=f"{server}/v1", api_key="unused", check_embedding_ctx_length=False
    )
    np.testing.assert_allclose(emb.embed_documents(DOCS), prompt_encoder.encode(DOCS), atol=1e-6)
    np.testing.assert_allclose(emb.embed_query(QUERY), prompt_encoder.encode([QUERY])[0], atol=1e-6)
