"""Static embeddings: one vector per token, distilled from a sentence encoder.

:class:`StaticModel` (numpy + tokenizers) loads, encodes and saves a sentence-transformers
``StaticEmbedding`` folder; :func:`distill` (needs torch for the teacher) makes one.

>>> from sentvec.static import distill
>>> distill("sentence-transformers/all-MiniLM-L6-v2").save("minilm-static")
>>> sentvec.load("minilm-static").encode(["fast"])          # backend "static", no torch
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentvec.static.model import StaticModel, static_module_dir

if TYPE_CHECKING:
    from sentvec.static.distillation import DistillConfig, distill


def __getattr__(name: str) -> Any:
    """``distill`` and ``DistillConfig`` import torch-using code on first use only."""
    if name in ("distill", "DistillConfig"):
        from sentvec.static import distillation as module

        return getattr(module, name)
    raise AttributeError(f"module 'sentvec.static' has no attribute {name!r}")


__all__ = ["DistillConfig", "StaticModel", "distill", "static_module_dir"]
