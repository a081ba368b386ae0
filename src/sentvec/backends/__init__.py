"""Inference backends: each turns padded token ids into sentence vectors.

A backend is a small class with one method, ``embed``; the encoder does everything else
(tokenizing, batching, long texts, ordering). ``torch`` is the default; ``onnx`` and
``onnx-int8`` run one exported graph with ONNX Runtime (no torch needed for an exported model).
``static`` averages one distilled vector per token (numpy only, see ``sentvec distill``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

from sentvec.errors import InvalidChoiceError

if TYPE_CHECKING:
    from sentvec.config import ModelSpec

BACKENDS = ("torch", "onnx", "onnx-int8", "static")


class Backend(Protocol):
    """Runs the network: token ids in, vectors out."""

    name: str
    dim: int

    def embed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        """:param input_ids: (B, T) int64. :param attention_mask: (B, T) int64.
        :param token_type_ids: (B, T) int64. :return: (B, D) float32 vectors."""
        ...


def create_backend(name: str, spec: ModelSpec, **options: object) -> Backend:
    """Build the named backend for a model.

    :param name: one of :data:`BACKENDS`.
    :param spec: the model description.
    :param options: backend-specific options (torch: ``device``, ``trust_remote_code``;
        onnx: ``threads``, ``lanes``, ``optimization``, ``cache_dir``).
    :return: the backend.
    """
    if name in ("onnx", "onnx-int8"):
        from sentvec.backends.onnx_backend import OnnxBackend

        return OnnxBackend.from_spec(spec, name, **options)  # type: ignore[arg-type]
    if name == "torch":
        from sentvec.backends.torch_backend import TorchBackend

        return TorchBackend.from_spec(spec, **options)  # type: ignore[arg-type]
    if name == "static":
        from sentvec.backends.static import StaticBackend
        from sentvec.static.model import StaticModel

        return StaticBackend(StaticModel.load(spec.transformer_path.parent))
    raise InvalidChoiceError("backend", name, BACKENDS)
