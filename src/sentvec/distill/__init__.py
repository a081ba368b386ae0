"""Distilling static embeddings (one vector per token) from a sentence encoder: the recipe
(:func:`distill`, needs torch for the teacher) and the fit to a teacher on your texts
(:mod:`sentvec.distill.tune`). The format itself, and the numpy runtime that reads it, are
in :mod:`sentvec.backends.static`; the evaluation suite ``distill --eval`` prints is
:mod:`sentvec.evaluate.suite`.

>>> from sentvec.distill import distill
>>> distill("sentence-transformers/all-MiniLM-L6-v2").save("minilm-static")
>>> sentvec.load("minilm-static").encode(["fast"])          # backend "static", no torch
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentvec.backends.static.model import StaticModel, static_module_dir  # re-exported

if TYPE_CHECKING:
    from sentvec.distill.distillation import DistillConfig, distill


def __getattr__(name: str) -> Any:
    """``distill`` and ``DistillConfig`` import torch-using code on first use only."""
    if name in ("distill", "DistillConfig"):
        from sentvec.distill import distillation as module

        return getattr(module, name)
    raise AttributeError(f"module 'sentvec.distill' has no attribute {name!r}")


__all__ = ["DistillConfig", "StaticModel", "distill", "static_module_dir"]
