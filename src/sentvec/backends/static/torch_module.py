"""The static model as a torch module, so the trainer and its losses can fine-tune it."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


class StaticEmbeddingBag(nn.Module):
    """Mean of one trainable row per token (an ``nn.EmbeddingBag`` in ``mean`` mode).

    Takes the same padded ``input_ids``/``attention_mask`` as a transformer, so every loss of
    :mod:`sentvec.train.losses` works unchanged.

    :param weights: (vocab, dim) initial rows; the module shares their memory on CPU.
    :param normalize: L2-normalise the sentence vectors.
    """

    uses_token_types = False

    def __init__(self, weights: np.ndarray, normalize: bool = True) -> None:
        super().__init__()
        self.embedding = nn.EmbeddingBag.from_pretrained(
            torch.from_numpy(weights), freeze=False, mode="mean"
        )
        self.normalize = normalize

    @property
    def output_dim(self) -> int:
        """Length of each vector."""
        return int(self.embedding.embedding_dim)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor, token_type_ids: Tensor | None = None
    ) -> Tensor:
        """:param input_ids: (B, T). :param attention_mask: (B, T).
        :param token_type_ids: ignored. :return: (B, D) sentence vectors."""
        keep = attention_mask.bool()  # (B, T)
        lengths = keep.sum(dim=1)  # (B,)
        offsets = torch.cumsum(lengths, 0) - lengths  # (B,)
        out = self.embedding(input_ids[keep], offsets)  # (B, D); an empty text gives zeros
        return F.normalize(out, p=2, dim=-1) if self.normalize else out

    def numpy_weights(self) -> np.ndarray:
        """The current rows as float32 numpy (no copy on CPU). :return: (vocab, dim)."""
        return self.embedding.weight.detach().float().cpu().numpy()
