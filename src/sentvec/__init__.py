"""sentvec: sentence embeddings that load the models you have, and put them to work.

>>> import sentvec
>>> enc = sentvec.load()
>>> vecs = enc.encode(["A man is eating food.", "Someone is having a meal."])
>>> sentvec.similarity_matrix(vecs, vecs)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentvec._version import __version__

if TYPE_CHECKING:
    from sentvec.cross import CrossEncoder, load_cross
    from sentvec.encoder import Encoder, load
    from sentvec.similarity import pairwise_similarity, similarity_matrix, top_k

_LAZY = {
    "CrossEncoder": "sentvec.cross",
    "load_cross": "sentvec.cross",
    "Encoder": "sentvec.encoder",
    "load": "sentvec.encoder",
    "pairwise_similarity": "sentvec.similarity",
    "similarity_matrix": "sentvec.similarity",
    "top_k": "sentvec.similarity",
}


def __getattr__(name: str) -> Any:
    """Import on first use, so ``import sentvec`` (and the CLI) start fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sentvec' has no attribute {name!r}")


__all__ = [
    "CrossEncoder",
    "Encoder",
    "__version__",
    "load",
    "load_cross",
    "pairwise_similarity",
    "similarity_matrix",
    "top_k",
]
