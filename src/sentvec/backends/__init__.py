"""Inference backends: each turns padded token ids into sentence vectors.

A backend is a small class with one method, ``embed``; the encoder does everything else
(tokenizing, batching, long texts, ordering). ``torch`` is the default; ``onnx`` and
``onnx-int8`` run one exported graph with ONNX Runtime (no torch needed for an exported model).
``static`` averages one distilled vector per token (numpy only, see ``sentvec distill``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from sentvec.errors import InvalidChoiceError

if TYPE_CHECKING:
    from pathlib import Path

    from sentvec.model_format import ModelSpec
    from sentvec.tokenization import TextTokenizer

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
        from sentvec.backends.onnx.runtime import OnnxBackend

        return OnnxBackend.from_spec(spec, name, **options)  # type: ignore[arg-type]
    if name == "torch":
        from sentvec.backends.torch_backend import TorchBackend

        return TorchBackend.from_spec(spec, **options)  # type: ignore[arg-type]
    if name == "static":
        from sentvec.backends.static import StaticBackend, StaticModel

        return StaticBackend(StaticModel.load(spec.transformer_path.parent))
    raise InvalidChoiceError("backend", name, BACKENDS)


def detect_format(folder: Path) -> str:
    """What a model folder holds: ``static`` (a StaticEmbedding module: one vector per
    token) or ``transformer`` (everything the torch and onnx backends run)."""
    from sentvec.backends.static.model import static_module_dir

    return "static" if static_module_dir(folder) is not None else "transformer"


def open_model(
    folder: Path,
    backend: str = "torch",
    pooling: str | Sequence[str] | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
    **options: object,
) -> tuple[ModelSpec, TextTokenizer, Backend]:
    """A model folder's parts, by its format: the spec, the tokenizer and the backend (the one
    path every load takes; a static folder always runs on ``static``).

    :param folder: a local model folder. :param backend: one of :data:`BACKENDS`.
    :param pooling: override the pooling mode(s). :param normalize: override normalisation.
    :param max_seq_length: override the longest input. :param options: for the backend.
    """
    if backend == "static" or detect_format(folder) == "static":
        from sentvec.backends.static.backend import load_static

        return load_static(folder, normalize)
    from sentvec.model_format import load_spec
    from sentvec.tokenization import TextTokenizer

    spec = load_spec(folder, pooling, normalize, max_seq_length)
    tokenizer = TextTokenizer.from_folder(spec.transformer_path, spec.do_lower_case)
    return spec, tokenizer, create_backend(backend, spec, **options)
