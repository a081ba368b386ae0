"""The embedding network as torch modules: transformer -> pooling -> dense -> normalize.

``SentenceModel.forward`` takes plain tensors and returns plain tensors, so the same module
trains, runs inference, and exports to ONNX as one graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sentvec.errors import BrokenModelError, ModelNotFoundError
from sentvec.model_format import DenseSpec, ModelSpec
from sentvec.pooling import PoolingMode, pool

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "identity": nn.Identity,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
}


class Dense(nn.Module):
    """``activation(W x + b)``, stored as sentence-transformers stores it (``linear.*`` keys)."""

    def __init__(self, spec: DenseSpec) -> None:
        super().__init__()
        self.spec = spec
        self.linear = nn.Linear(spec.in_features, spec.out_features, bias=spec.bias)
        self.activation = _ACTIVATIONS[spec.activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))  # (B, out_features)

    def load(self, folder: Path) -> None:
        """Load ``linear.weight``/``linear.bias`` from model.safetensors (or a legacy .bin)."""
        file = folder / "model.safetensors"
        if file.exists():
            from safetensors.torch import load_file

            state = load_file(str(file))
        elif (folder / "pytorch_model.bin").exists():  # weights only: no code runs on load
            state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
        else:
            raise ModelNotFoundError(folder, "the Dense layer has no model.safetensors")
        try:
            self.linear.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()})
        except RuntimeError as e:
            raise BrokenModelError(folder, f"Dense weights do not match its config ({e})") from None


class SentenceModel(nn.Module):
    """Token ids in, one vector per text out."""

    transformer: Any  # a transformers PreTrainedModel

    def __init__(
        self,
        transformer: nn.Module,
        pooling: Sequence[PoolingMode],
        dense: Sequence[Dense] = (),
        normalize: bool = False,
    ) -> None:
        super().__init__()
        self.transformer = transformer
        self.pooling = tuple(pooling)
        self.dense = nn.ModuleList(dense)
        self.normalize = normalize

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}  # (B, T) each
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        tokens = self.transformer(**kwargs, return_dict=True).last_hidden_state  # (B, T, H)
        x = pool(tokens, attention_mask, self.pooling)  # (B, H * n_modes)
        for layer in self.dense:
            x = layer(x)  # (B, out_features)
        if self.normalize:
            x = F.normalize(x, p=2, dim=-1)  # (B, D), unit length
        return x

    @property
    def hidden_size(self) -> int:
        """Width of the transformer's token vectors."""
        return int(self.transformer.config.hidden_size)

    @property
    def output_dim(self) -> int:
        """Length of the sentence vectors this model returns."""
        layers = self.dense_layers()
        return layers[-1].spec.out_features if layers else self.hidden_size * len(self.pooling)

    def dense_layers(self) -> list[Dense]:
        """The dense layers after pooling, typed."""
        return [layer for layer in self.dense if isinstance(layer, Dense)]

    @property
    def uses_token_types(self) -> bool:
        config = getattr(self.transformer, "config", None)
        return bool(getattr(config, "type_vocab_size", 0))


def check_loading(path: Any, info: dict[str, Any]) -> None:
    """Refuse weights that do not match the architecture the config names (another model
    type, a cut file): transformers would fill the missing ones with random values and the
    vectors would change on every load. The pooler is not used by any pooling mode, so its
    absence is fine; weights of a task head the folder has (unexpected ones) are ignored,
    unless weights are missing too.

    :raises BrokenModelError: listing the missing, mismatched and unexpected weight names.
    """
    missing = [k for k in info.get("missing_keys", ()) if not k.startswith("pooler.")]
    mismatched = [
        str(k[0]) if isinstance(k, tuple) else str(k) for k in info.get("mismatched_keys", ())
    ]
    if not missing and not mismatched:
        return
    unexpected = list(info.get("unexpected_keys", ()))

    def names(keys: list[str]) -> str:
        return ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")

    parts = [f"{len(missing)} weights missing ({names(missing)})"] if missing else []
    if mismatched:
        parts.append(f"{len(mismatched)} of the wrong shape ({names(mismatched)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({names(unexpected)})")
    raise BrokenModelError(
        path,
        "its weights do not match the architecture in config.json (model_type, sizes): "
        + "; ".join(parts)
        + "; they would be initialised at random",
    )


def build_model(spec: ModelSpec, trust_remote_code: bool = False) -> SentenceModel:
    """Load the weights described by ``spec`` into a SentenceModel (eval mode).

    :param spec: the model description (see :func:`sentvec.model_format.read_spec`).
    :param trust_remote_code: let transformers run model code shipped with the folder.
    :return: the model.
    """
    from transformers import AutoModel

    path = spec.transformer_path
    if not any(
        (path / n).exists()
        for n in (
            "model.safetensors",
            "model.safetensors.index.json",
            "pytorch_model.bin",
            "pytorch_model.bin.index.json",
        )
    ):
        raise ModelNotFoundError(path, "no weights (model.safetensors) in the transformer folder")
    from transformers.utils import logging as hf_logging

    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a per-tensor "Loading weights" bar is noise on every load
    try:
        transformer, info = AutoModel.from_pretrained(
            str(path), trust_remote_code=trust_remote_code, output_loading_info=True
        )
    except Exception as e:  # config or weights transformers cannot read
        raise BrokenModelError(
            path, f"transformers could not load it ({str(e).splitlines()[0]})"
        ) from None
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    check_loading(path, info)
    dense = []
    for d in spec.dense:
        layer = Dense(d)
        if d.path is not None:
            layer.load(d.path)
        dense.append(layer)
    return SentenceModel(transformer, spec.pooling, dense, spec.normalize).eval()
