"""The batch a cross-encoder trains on: examples kept as text, paired and tokenized by the
losses through the model's own pair tokenizer (:meth:`~sentvec.cross.CrossEncoder.collate`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.train.data import Example


class PairTokenizing(Protocol):
    """What a batch needs of its cross-encoder: the pair tokenizer."""

    def tokenize(self, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]: ...


@dataclass
class PairBatch:
    """A batch of examples kept as text: ``columns[c][i]`` is column c of example i (query,
    then documents). Losses pair them up and call :meth:`score`."""

    columns: list[list[str]]
    labels: Tensor | None
    cross: PairTokenizing = field(repr=False)  # the CrossEncoder
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @classmethod
    def from_examples(cls, examples: Sequence[Example], cross: PairTokenizing) -> PairBatch:
        """:param examples: examples with the same number of texts. :param cross: the model."""
        n = len(examples[0].texts)
        if n < 2 or any(len(e.texts) != n for e in examples):
            raise SentvecError(
                "a cross-encoder trains on pairs or triplets with the same number of texts in "
                "every row. Fix: use kind scored_pairs, labelled_pairs, pairs or triplets."
            )
        labels = None
        if examples[0].label is not None:
            labels = torch.tensor([e.label for e in examples])
            if labels.is_floating_point():
                labels = labels.float()
        return cls([[e.texts[c] for e in examples] for c in range(n)], labels, cross)

    @property
    def size(self) -> int:
        """Examples in the batch."""
        return len(self.columns[0])

    def to(self, device: torch.device | str) -> PairBatch:
        """:return: the batch with labels on ``device`` (texts are tokenized when scored)."""
        labels = None if self.labels is None else self.labels.to(device)
        return PairBatch(self.columns, labels, self.cross, torch.device(device))

    def score(self, model: nn.Module, pairs: Sequence[tuple[str, str]]) -> Tensor:
        """Logits of the pairs in one forward pass: (N, labels)."""
        feats = self.cross.tokenize(pairs)
        inputs = {k: torch.from_numpy(v).to(self.device) for k, v in feats.items()}
        if not getattr(model, "uses_token_types", True):
            inputs.pop("token_type_ids")
        return model(**inputs)

    def candidate_logits(self, model: nn.Module) -> Tensor:
        """Query i with each of its documents (columns 1..): (B, C - 1) one-label logits."""
        queries, docs = self.columns[0], self.columns[1:]
        pairs = [(queries[i], col[i]) for col in docs for i in range(self.size)]
        logits = self.score(model, pairs)[:, 0]  # (C-1 * B,)
        return logits.view(len(docs), self.size).T  # (B, C-1)


__all__ = ["PairBatch", "PairTokenizing"]
