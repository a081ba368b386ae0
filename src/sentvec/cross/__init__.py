"""Cross-encoders: rerankers that read the query and the document together.

>>> ce = sentvec.load_cross("cross-encoder/ms-marco-MiniLM-L6-v2")
>>> ce.rank("reset my password", ["Open Settings ...", "Invoices are ..."], k=1)

Loading and scoring need only tokenizers and numpy with an exported ONNX folder
(``backend="onnx"``); the torch backend, training and export need ``sentvec[torch]``.
"""

from __future__ import annotations

from sentvec.cross.model import CROSS_BACKENDS, CrossEncoder, Ranked, load_cross
from sentvec.cross.rerank import rerank_hits

__all__ = ["CROSS_BACKENDS", "CrossEncoder", "Ranked", "load_cross", "rerank_hits"]
