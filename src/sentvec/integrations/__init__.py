"""Adapters for the frameworks people use, each on a local model or a running ``sentvec serve``:

- :class:`sentvec.integrations.langchain.SentvecEmbeddings` (LangChain ``Embeddings``)
- :class:`sentvec.integrations.llamaindex.SentvecEmbedding` (LlamaIndex ``BaseEmbedding``)
- :class:`sentvec.integrations.chroma.SentvecEmbeddingFunction` (Chroma ``EmbeddingFunction``)

Each keeps query and document prompts apart (a model with ``query``/``document`` prompts, such
as E5, gets the right one). Import the module of the framework you use; each needs only that
framework (``pip install langchain-core``, ``llama-index-core`` or ``chromadb``).
"""

from sentvec.integrations._core import Embedder, LocalEmbedder, RemoteEmbedder, make_embedder

__all__ = ["Embedder", "LocalEmbedder", "RemoteEmbedder", "make_embedder"]
