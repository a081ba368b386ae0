"""The static format: one vector per token (a sentence-transformers ``StaticEmbedding``
folder), read with numpy + tokenizers. :class:`StaticModel` loads, encodes and saves it;
:class:`StaticBackend` runs it behind the encoder. ``sentvec.distill`` makes one."""

from __future__ import annotations

from sentvec.backends.static.backend import StaticBackend
from sentvec.backends.static.model import StaticModel, static_module_dir

__all__ = ["StaticBackend", "StaticModel", "static_module_dir"]
