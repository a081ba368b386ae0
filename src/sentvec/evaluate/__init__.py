"""Evaluators share one protocol: a name, a primary metric, and ``__call__(encoder)`` returning
a dict of metrics whose keys are prefixed with the evaluator's name (``sts-dev_cosine_spearman``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sentvec.evaluate.sts import STSEvaluator, read_sts

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


class Evaluator(Protocol):
    """What every evaluator offers."""

    name: str
    primary_metric: str  # key in the returned dict (already prefixed)

    def __call__(self, encoder: Encoder) -> dict[str, float]: ...


__all__ = ["Evaluator", "STSEvaluator", "read_sts"]
