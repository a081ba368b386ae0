"""The LangChain document compressor and the LlamaIndex node postprocessor, run through the
real libraries (a ContextualCompressionRetriever-style call, and postprocess_nodes), local and
against a served reranker; order and scores are sentence-transformers' CrossEncoder's."""

from __future__ import annotations

import numpy as np
import pytest

import sentvec
from cross_models import PAIRS, make_cross_folder

QUERY = "a man is eating food."
DOCS = [d for _, d in PAIRS]


@pytest.fixture(scope="module")
def cross_dir(tmp_path_factory: pytest.TempPathFactory):
    return make_cross_folder(tmp_path_factory.mktemp("ce") / "m", 1)


@pytest.fixture(scope="module")
def want(cross_dir) -> np.ndarray:
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(cross_dir)).predict([(QUERY, d) for d in DOCS])


def test_langchain_compressor(cross_dir, want) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.documents import BaseDocumentCompressor, Document

    from sentvec.integrations.langchain import SentvecRerank

    docs = [Document(page_content=d, metadata={"n": i}) for i, d in enumerate(DOCS)]
    rr = SentvecRerank(str(cross_dir), top_n=3)
    assert isinstance(rr, BaseDocumentCompressor)
    got = rr.compress_documents(docs, QUERY)
    order = np.argsort(-want, kind="stable")[:3]
    assert [d.metadata["n"] for d in got] == order.tolist()
    np.testing.assert_allclose([d.metadata["relevance_score"] for d in got], want[order], atol=1e-5)
    import asyncio

    again = asyncio.run(rr.acompress_documents(docs, QUERY))
    assert [d.page_content for d in again] == [d.page_content for d in got]


def test_llamaindex_postprocessor(cross_dir, want) -> None:
    pytest.importorskip("llama_index.core")
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import NodeWithScore, TextNode

    from sentvec.integrations.llamaindex import SentvecRerank

    nodes = [
        NodeWithScore(node=TextNode(text=d, id_=f"n{i}"), score=0.0) for i, d in enumerate(DOCS)
    ]
    rr = SentvecRerank(cross=sentvec.load_cross(cross_dir), top_n=4)
    assert isinstance(rr, BaseNodePostprocessor)
    got = rr.postprocess_nodes(nodes, query_str=QUERY)
    order = np.argsort(-want, kind="stable")[:4]
    assert [n.node.node_id for n in got] == [f"n{i}" for i in order]
    np.testing.assert_allclose([n.score for n in got], want[order], atol=1e-5)


@pytest.fixture(scope="module")
def server(cross_dir, tiny_encoder):
    """A real uvicorn server on 127.0.0.1 (a free port) serving the reranker, in a thread."""
    import socket
    import threading
    import time

    import uvicorn

    from sentvec.server import Settings, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(
        Settings(models={"tiny": None}),
        encoders={"tiny": tiny_encoder},
        rerankers={"ce": sentvec.load_cross(cross_dir)},
    )
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_remote_rerankers(server, want) -> None:
    """Both adapters against a running sentvec serve (its /v1/rerank)."""
    import asyncio

    from langchain_core.documents import Document
    from llama_index.core.schema import NodeWithScore, TextNode

    from sentvec.integrations import langchain, llamaindex

    order = np.argsort(-want, kind="stable")[:3]
    docs = [Document(page_content=d, metadata={"n": i}) for i, d in enumerate(DOCS)]
    lc = langchain.SentvecRerank("ce", url=server, top_n=3)
    for got in (
        lc.compress_documents(docs, QUERY),
        asyncio.run(lc.acompress_documents(docs, QUERY)),
    ):
        assert [d.metadata["n"] for d in got] == order.tolist()
        np.testing.assert_allclose(
            [d.metadata["relevance_score"] for d in got], want[order], atol=1e-5
        )
    nodes = [NodeWithScore(node=TextNode(text=d, id_=f"n{i}")) for i, d in enumerate(DOCS)]
    li = llamaindex.SentvecRerank(url=server, top_n=3)
    got = li.postprocess_nodes(nodes, query_str=QUERY)
    np.testing.assert_allclose([n.score for n in got], want[order], atol=1e-5)
