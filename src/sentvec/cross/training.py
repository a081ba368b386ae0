"""Training cross-encoders with the same :class:`~sentvec.train.Trainer` loop and data readers
as the bi-encoder (no second loop): the trainer asks the model to collate (``collate`` hook),
and each loss below builds the (query, document) pairs it needs from the batch's texts and
scores them in one forward pass.

==================== ============================= ===========================================
loss                 data kind                     objective
==================== ============================= ===========================================
``bce``              scored_pairs, labelled_pairs  binary cross-entropy of the logit, target
                                                   in [0, 1] (STS scores / 5, 0/1 labels)
``ce``               labelled_pairs                cross-entropy over the labels (NLI)
``mse``              scored_pairs                  mean squared error of the activated score
``mnrl``             pairs, triplets               the positive among hard negatives and other
                                                   queries' positives (in-batch), softmax
``listnet``          triplets                      ListNet: softmax cross-entropy of the
                                                   candidate list against its label list
``margin_mse``       triplets                      MarginMSE distillation: (pos - neg) score
                                                   margin regressed on a teacher's margin
==================== ============================= ===========================================

>>> from sentvec.train import Trainer, TrainingArgs, read_examples
>>> ce = sentvec.load_cross("sentence-transformers/all-MiniLM-L6-v2", num_labels=1)
>>> data = read_examples("sts-train.csv", "scored_pairs", score_scale=5, ...)
>>> Trainer(ce, BinaryCrossEntropyLoss(), data, TrainingArgs(epochs=1)).train()
>>> ce.save("stsb-cross")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sentvec.cross.batch import PairBatch
from sentvec.errors import SentvecError
from sentvec.train.losses import Loss

if TYPE_CHECKING:
    from sentvec.cross.model import CrossEncoder


def _labels(batch: PairBatch, loss: str) -> Tensor:
    if batch.labels is None:
        raise SentvecError(
            f"{loss} needs a score or label for every pair. Fix: train it on kind "
            "'scored_pairs' or 'labelled_pairs'."
        )
    return batch.labels


class BinaryCrossEntropyLoss(Loss):
    """``BCE(sigmoid(logit), y)`` for (sentence1, sentence2) pairs with a target y in [0, 1]
    (STS scores read with ``score_scale = 5``, or 0/1 labels). The reranker recipe of
    sentence-transformers' ``BinaryCrossEntropyLoss``.

    :param pos_weight: weight of the positive class (e.g. negatives per positive).
    """

    def __init__(self, pos_weight: float | None = None) -> None:
        super().__init__()
        self.pos_weight = pos_weight

    def compute(self, model: nn.Module, batch: Any) -> Tensor:
        y = _labels(batch, "BinaryCrossEntropyLoss").float()
        logits = batch.candidate_logits(model)[:, 0]  # (B,)
        weight = None if self.pos_weight is None else torch.tensor(self.pos_weight)
        return F.binary_cross_entropy_with_logits(logits, y.to(logits.dtype), pos_weight=weight)


class CrossEntropyLoss(Loss):
    """Cross-entropy over the head's labels, for (sentence1, sentence2) pairs with a class
    (e.g. NLI: entailment / neutral / contradiction)."""

    def compute(self, model: nn.Module, batch: Any) -> Tensor:
        y = _labels(batch, "CrossEntropyLoss").long()
        pairs = list(zip(batch.columns[0], batch.columns[1], strict=True))
        return F.cross_entropy(batch.score(model, pairs), y)  # (B, L) vs (B,)


class MSELoss(Loss):
    """``mean((act(logit) - y)^2)`` for pairs with a score (``activation``: identity, as
    sentence-transformers' CrossEncoder MSELoss, or sigmoid for targets in [0, 1])."""

    def __init__(self, activation: str = "identity") -> None:
        super().__init__()
        if activation not in ("identity", "sigmoid"):
            raise SentvecError(
                f"MSELoss activation must be identity or sigmoid, got {activation!r}"
            )
        self.activation = activation

    def compute(self, model: nn.Module, batch: Any) -> Tensor:
        y = _labels(batch, "MSELoss").float()
        s = batch.candidate_logits(model)[:, 0]  # (B,)
        if self.activation == "sigmoid":
            s = torch.sigmoid(s)
        return F.mse_loss(s, y.to(s.dtype))


class MultipleNegativesRankingLoss(Loss):
    """For (anchor, positive, negative...) rows: the positive must outscore the row's hard
    negatives and ``num_negatives`` positives of other rows (in-batch negatives):
    ``CE(scale * sigmoid([s_pos, s_neg..., s_inbatch...]), 0)``, as sentence-transformers'
    CrossEncoder MultipleNegativesRankingLoss.

    :param num_negatives: in-batch negatives per anchor (drawn at random, seeded by the trainer).
    :param scale: multiplies the sigmoid scores before the softmax.
    """

    def __init__(self, num_negatives: int = 4, scale: float = 10.0) -> None:
        super().__init__()
        self.num_negatives, self.scale = num_negatives, scale

    def compute(self, model: nn.Module, batch: Any) -> Tensor:
        b = batch.size
        queries, docs = batch.columns[0], batch.columns[1:]
        pairs = [(queries[i], col[i]) for col in docs for i in range(b)]
        k = min(self.num_negatives, b - 1)
        for i in range(b):  # other rows' positives
            others = torch.randperm(b - 1)[:k] if k > 0 else torch.empty(0, dtype=torch.long)
            pairs += [(queries[i], docs[0][j + (j >= i)]) for j in others.tolist()]
        logits = batch.score(model, pairs)[:, 0]  # (B * C-1 + B * k,)
        own = logits[: b * len(docs)].view(len(docs), b).T  # (B, C-1)
        extra = logits[b * len(docs) :].view(b, k)  # (B, k)
        scores = torch.sigmoid(torch.cat([own, extra], dim=1)) * self.scale  # (B, C-1+k)
        return F.cross_entropy(scores, torch.zeros(b, dtype=torch.long, device=scores.device))


class ListNetLoss(Loss):
    """ListNet: ``CE(softmax(y), softmax(s))`` over each row's candidate list, where the
    labels are the example's list of relevances (``label = [1, 0, 0.3, ...]``) or, for plain
    triplets, 1 for the positive and 0 for the negatives."""

    def compute(self, model: nn.Module, batch: Any) -> Tensor:
        s = batch.candidate_logits(model)  # (B, C-1)
        if batch.labels is not None and batch.labels.dim() == 2:
            y = batch.labels.float().to(s.dtype)  # (B, C-1)
        else:
            y = torch.zeros_like(s)
            y[:, 0] = 1.0
        return (
            -(F.softmax(y.masked_fill(y < 0, -1e4), dim=1) * F.log_softmax(s, dim=1)).sum(1).mean()
        )


class MarginMSELoss(Loss):
    """MarginMSE distillation (Hofstätter et al.): for (query, positive, negative) rows,
    ``mean(((s_pos - s_neg) - (t_pos - t_neg))^2)`` on logits, where t comes from the
    example's label (the teacher margin) or from a ``teacher`` cross-encoder run here.

    :param teacher: a :class:`~sentvec.cross.CrossEncoder` (or its folder) scoring the pairs
        when the data carries no margin.
    """

    def __init__(self, teacher: Any = None) -> None:
        super().__init__()
        if isinstance(teacher, str):
            from sentvec.cross import load_cross

            teacher = load_cross(teacher)
        self._teacher = teacher

    def compute(self, model: nn.Module, batch: Any) -> Tensor:
        if len(batch.columns) < 3:
            raise SentvecError("MarginMSELoss needs (query, positive, negative) triplets.")
        s = batch.candidate_logits(model)  # (B, C-1)
        margin = s[:, :1] - s[:, 1:]  # (B, C-2)
        if batch.labels is not None:
            target = batch.labels.float().view(batch.size, -1).to(s.dtype)
        elif self._teacher is not None:
            q = batch.columns[0]
            rows = [
                self._teacher.logits(list(zip(q, col, strict=True)))[:, 0]
                for col in batch.columns[1:]
            ]
            t = torch.from_numpy(np.stack(rows, axis=1)).to(s.device, s.dtype)  # (B, C-1)
            target = t[:, :1] - t[:, 1:]
        else:
            raise SentvecError(
                "MarginMSELoss needs the teacher's margin: a label on each triplet, or "
                "teacher= (a cross-encoder). Fix: pass options = {teacher = 'PATH'}."
            )
        return F.mse_loss(margin, target.expand_as(margin))


CROSS_LOSSES: dict[str, type[Loss]] = {
    "bce": BinaryCrossEntropyLoss,
    "ce": CrossEntropyLoss,
    "mse": MSELoss,
    "mnrl": MultipleNegativesRankingLoss,
    "listnet": ListNetLoss,
    "margin_mse": MarginMSELoss,
}


class CrossSTSEvaluator:
    """Spearman and Pearson between the cross-encoder's score and the gold score of each
    pair (an STS file). Primary metric: ``{name}_spearman``."""

    def __init__(self, data: Any, name: str = "sts", batch_size: int = 64) -> None:
        self.data, self.name, self.batch_size = data, name, batch_size
        self.primary_metric = f"{name}_spearman"

    @classmethod
    def from_file(cls, path: str, name: str | None = None) -> CrossSTSEvaluator:
        """:param path: an STS file (see :func:`sentvec.evaluate.read_sts`)."""
        from pathlib import Path

        from sentvec.evaluate import read_sts

        return cls(read_sts(path), name or Path(path).stem)

    def __call__(self, cross: CrossEncoder) -> dict[str, float]:
        from sentvec.evaluate.sts import pearson, spearman

        pairs = list(zip(self.data.sentences1, self.data.sentences2, strict=True))
        s = cross.predict(pairs, batch_size=self.batch_size)
        gold = np.asarray(self.data.scores)
        return {
            f"{self.name}_spearman": spearman(s, gold),
            f"{self.name}_pearson": pearson(s, gold),
        }


class CrossPairsEvaluator:
    """Accuracy and F1 at their best thresholds, and average precision, of the cross-encoder's
    score on labelled pairs (paraphrase detection). Primary metric: ``{name}_ap``."""

    def __init__(self, data: Any, name: str = "pairs", batch_size: int = 64) -> None:
        self.data, self.name, self.batch_size = data, name, batch_size
        self.primary_metric = f"{name}_ap"

    def __call__(self, cross: CrossEncoder) -> dict[str, float]:
        from sentvec.evaluate.pairs import average_precision, best_accuracy, best_f1

        pairs = list(zip(self.data.sentences1, self.data.sentences2, strict=True))
        s = cross.predict(pairs, batch_size=self.batch_size)
        y = self.data.labels
        acc, acc_t = best_accuracy(s, y)
        f1, precision, recall, f1_t = best_f1(s, y)
        p = self.name
        return {
            f"{p}_accuracy": acc,
            f"{p}_accuracy_threshold": acc_t,
            f"{p}_f1": f1,
            f"{p}_precision": precision,
            f"{p}_recall": recall,
            f"{p}_f1_threshold": f1_t,
            f"{p}_ap": average_precision(s, y),
        }


def load_for_training(model: str | None, num_labels: int | None = None) -> CrossEncoder:
    """The cross-encoder to train: a sequence-classification folder keeps its head (unless
    ``num_labels`` asks for a new one); any other encoder folder gets a new head of
    ``num_labels`` (default 1, a relevance score).

    :param model: folder or hub id (None: the packaged all-MiniLM-L6-v2, with a new head).
    """
    import json

    from sentvec import hub
    from sentvec.cross import load_cross

    folder = hub.resolve(model)
    config = json.loads((folder / "config.json").read_text(encoding="utf8"))
    has_head = any(
        str(a).endswith("ForSequenceClassification") for a in config.get("architectures") or []
    )
    if has_head and num_labels is None:
        return load_cross(folder)
    return load_cross(folder, num_labels=num_labels or 1)


def build_cross_losses(config: Any) -> list[Loss]:
    """The configured cross-encoder loss(es) (names from :data:`CROSS_LOSSES`)."""
    from sentvec.errors import InvalidChoiceError

    out = []
    for spec in config.loss or []:
        if spec.name not in CROSS_LOSSES:
            raise InvalidChoiceError("cross-encoder loss", spec.name, CROSS_LOSSES)
        try:
            out.append(CROSS_LOSSES[spec.name](**spec.options))
        except TypeError as e:
            raise SentvecError(f"loss {spec.name!r}: bad options {spec.options} ({e})") from None
    return out or [BinaryCrossEntropyLoss()]


def build_cross_evaluator(spec: Any) -> Any:
    """A cross-encoder evaluator for the config's ``[evaluator]``: ``sts`` or ``pairs``."""
    from sentvec.errors import InvalidChoiceError

    if spec is None:
        return None
    name = spec.name or spec.kind
    if spec.kind == "sts":
        return CrossSTSEvaluator.from_file(spec.path, name)
    if spec.kind == "pairs":
        from sentvec.evaluate import read_pairs

        cols = spec.columns or ("sentence1", "sentence2", "label")
        return CrossPairsEvaluator(read_pairs(spec.path, cols, spec.header), name)
    raise InvalidChoiceError("cross-encoder evaluator kind", spec.kind, ["sts", "pairs"])


__all__ = [
    "CROSS_LOSSES",
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "CrossPairsEvaluator",
    "CrossSTSEvaluator",
    "ListNetLoss",
    "MSELoss",
    "MarginMSELoss",
    "MultipleNegativesRankingLoss",
    "PairBatch",
    "build_cross_evaluator",
    "build_cross_losses",
    "load_for_training",
]
