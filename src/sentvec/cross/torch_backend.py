"""The torch side of a cross-encoder: the sequence-classification network as a module that
takes token ids and returns logits, and the backend that runs it for inference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sentvec.errors import BrokenModelError, ModelNotFoundError

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


class CrossModel(nn.Module):
    """Token ids of (query, document) pairs in, one row of label logits per pair out."""

    def __init__(self, transformer: Any) -> None:
        super().__init__()
        self.transformer = transformer  # a transformers *ForSequenceClassification model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}  # (B, T) each
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        return self.transformer(**kwargs, return_dict=True).logits  # (B, L)

    @property
    def uses_token_types(self) -> bool:
        """Whether the network reads token types (BERT does; RoBERTa, DistilBERT do not)."""
        config = getattr(self.transformer, "config", None)
        return bool(getattr(config, "type_vocab_size", 0)) and getattr(
            config, "model_type", ""
        ) not in ("distilbert",)


def build_cross_model(
    folder: Path, num_labels: int | None = None, trust_remote_code: bool = False
) -> CrossModel:
    """Load the sequence-classification weights of a folder (a new, randomly initialised head
    when the folder holds a plain encoder and ``num_labels`` is given).

    :param folder: the model folder.
    :param num_labels: labels of the head (None: the folder's).
    :param trust_remote_code: let transformers run model code shipped with the folder.
    :return: the module, in eval mode.
    """
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    if not any((folder / n).exists() for n in WEIGHT_FILES):
        raise ModelNotFoundError(folder, "no weights (model.safetensors) in the folder")
    extra: dict[str, Any] = {} if num_labels is None else {"num_labels": num_labels}
    bar_was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        net = AutoModelForSequenceClassification.from_pretrained(
            str(folder), trust_remote_code=trust_remote_code, **extra
        )
    except (OSError, ValueError, KeyError) as e:
        raise BrokenModelError(
            folder, f"transformers could not load it ({str(e).splitlines()[0]})"
        ) from None
    finally:
        if bar_was_on:
            hf_logging.enable_progress_bar()
    return CrossModel(net).eval()


class TorchCrossBackend:
    """Runs a :class:`CrossModel` under ``torch.inference_mode``."""

    name = "torch"
    max_tokens: int | None = None

    def __init__(self, model: CrossModel, device: str = "cpu") -> None:
        self.model = model.to(device)
        self.device = torch.device(device)

    def logits(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        """:return: (B, L) float32 logits."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                out = self.model(
                    torch.from_numpy(input_ids).to(self.device),
                    torch.from_numpy(attention_mask).to(self.device),
                    torch.from_numpy(token_type_ids).to(self.device)
                    if self.model.uses_token_types
                    else None,
                )  # (B, L)
        finally:
            self.model.train(was_training)
        return out.float().cpu().numpy()


__all__ = ["CrossModel", "TorchCrossBackend", "build_cross_model"]
