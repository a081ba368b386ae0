"""What a cross-encoder folder says about itself: its labels, the activation applied to the
logits, and its longest input, read the way sentence-transformers reads them (no torch).

The activation comes from, in order: ``config_sentence_transformers.json`` (``activation_fn``,
sentence-transformers >= 5), ``config.json`` (``sentence_transformers.activation_fn``, v4-v5;
``sbert_ce_default_activation_function``, older), else sigmoid for one label and identity for
more. Only ``torch.*`` activations are honoured, as sentence-transformers does without
``trust_remote_code``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sentvec.errors import BrokenModelError, InvalidChoiceError, ModelNotFoundError

#: Short names -> sentence-transformers' dotted torch path (what its config files hold).
ACTIVATIONS = {
    "sigmoid": "torch.nn.modules.activation.Sigmoid",
    "identity": "torch.nn.modules.linear.Identity",
    "tanh": "torch.nn.modules.activation.Tanh",
    "softmax": "torch.nn.modules.activation.Softmax",
    "relu": "torch.nn.modules.activation.ReLU",
}
_BY_CLASS = {path.rsplit(".", 1)[1].lower(): name for name, path in ACTIVATIONS.items()}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (the labels)."""
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _softmax_torch_default(x: np.ndarray) -> np.ndarray:
    # torch.nn.Softmax() without dim picks dim=1 for 2-D input (the labels), 0 for 1-D
    return softmax(x) if x.ndim > 1 else softmax(x[None, :])[0]


FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": _sigmoid,
    "identity": lambda x: x,
    "tanh": np.tanh,
    "softmax": _softmax_torch_default,
    "relu": lambda x: np.maximum(x, 0),
}


def activation_name(value: str) -> str:
    """A short activation name from a short name or a dotted torch path.

    :raises InvalidChoiceError: for one sentvec cannot apply.
    """
    key = value.lower()
    if key in ACTIVATIONS:
        return key
    short = value.rsplit(".", 1)[-1].lower()
    if value.startswith("torch.") and short in _BY_CLASS:
        return _BY_CLASS[short]
    raise InvalidChoiceError("activation", value, list(ACTIVATIONS))


@dataclass
class CrossSpec:
    """A cross-encoder folder: where it is, its labels, activation and longest input."""

    path: Path
    num_labels: int
    activation: str  # a key of ACTIVATIONS
    max_seq_length: int
    model_type: str = ""
    do_lower_case: bool = False


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BrokenModelError(path, f"not valid JSON ({e})") from None
    return data if isinstance(data, dict) else {}


def read_cross_spec(
    folder: Path, activation: str | None = None, max_seq_length: int | None = None
) -> CrossSpec:
    """Read a sentence-transformers CrossEncoder folder or a plain Hugging Face
    sequence-classification folder.

    :param folder: the model folder.
    :param activation: override the folder's activation (a name from :data:`ACTIVATIONS`).
    :param max_seq_length: override the longest pair in tokens.
    :return: the spec.
    """
    config = _read_json(folder / "config.json")
    if not config:
        raise ModelNotFoundError(folder, "no config.json: not a Hugging Face model folder")
    labels = config.get("id2label")
    num_labels = int(config.get("num_labels") or (len(labels) if labels else 2))
    if activation is None:
        activation = _folder_activation(folder, config, num_labels)
    else:
        activation = activation_name(activation)
    return CrossSpec(
        folder,
        num_labels,
        activation,
        max_seq_length or _max_length(folder, config),
        str(config.get("model_type", "")),
        bool(_read_json(folder / "sentence_bert_config.json").get("do_lower_case", False)),
    )


def _folder_activation(folder: Path, config: dict[str, Any], num_labels: int) -> str:
    st = _read_json(folder / "config_sentence_transformers.json")
    nested = config.get("sentence_transformers")
    path = (
        st.get("activation_fn")
        or (nested.get("activation_fn") if isinstance(nested, dict) else None)
        or config.get("sbert_ce_default_activation_function")
    )
    if path:
        try:
            return activation_name(str(path))
        except InvalidChoiceError:
            warnings.warn(
                f"{folder}: activation {path!r} is not one sentvec applies; using the default "
                f"({'sigmoid' if num_labels == 1 else 'identity'}). Fix: pass activation=.",
                stacklevel=4,
            )
    return "sigmoid" if num_labels == 1 else "identity"


def _max_length(folder: Path, config: dict[str, Any]) -> int:
    """sentence_bert_config's max_seq_length, else the tokenizer's limit (as
    sentence-transformers' CrossEncoder), capped by the position embeddings."""
    own = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if isinstance(own, int) and own > 0:
        return own
    limits = []
    for value in (
        _read_json(folder / "tokenizer_config.json").get("model_max_length"),
        config.get("max_position_embeddings"),
    ):
        if isinstance(value, int) and 0 < value < 1_000_000:
            limits.append(value)
    return min(limits) if limits else 512


def write_cross_config(folder: Path, activation: str, max_seq_length: int) -> None:
    """The sentence-transformers description files of a CrossEncoder folder."""
    from sentvec._version import __version__

    st = {
        "__version__": {"sentvec": __version__},
        "activation_fn": ACTIVATIONS[activation],
        "model_type": "CrossEncoder",
        "default_prompt_name": None,
        "prompts": {},
    }
    (folder / "config_sentence_transformers.json").write_text(json.dumps(st, indent=2) + "\n")
    tok_cfg = folder / "tokenizer_config.json"
    data = json.loads(tok_cfg.read_text(encoding="utf8")) if tok_cfg.exists() else {}
    data["model_max_length"] = max_seq_length  # what sentence-transformers' CrossEncoder reads
    tok_cfg.write_text(json.dumps(data, indent=2) + "\n")


__all__ = [
    "ACTIVATIONS",
    "FUNCTIONS",
    "CrossSpec",
    "activation_name",
    "read_cross_spec",
    "softmax",
    "write_cross_config",
]
