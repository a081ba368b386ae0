"""Recover quality by fine-tuning a static model with the ordinary trainer.

Two recipes, both plain :class:`sentvec.train.Trainer` runs on ``encoder.model`` (the static
backend's ``nn.EmbeddingBag``):

- **distillation on text** (no labels): :func:`teacher_targets` turns sentences into examples
  whose label is the teacher's vector of that sentence, mapped into the static model's space
  by a least-squares linear map; train with ``MSEDistillationLoss``.
- **pairs**: any pair or scored-pair data with ``MultipleNegativesRankingLoss`` or
  ``CoSENTLoss``, exactly as for a transformer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.train.data import TrainData

STATIC_LR = 5e-3  # rows move far more per step than transformer weights need (BENCHMARKS.md)


def teacher_targets(
    student: Encoder, teacher: Encoder, texts: Sequence[str], batch_size: int = 64
) -> TrainData:
    """Sentences labelled with the teacher's vectors, in the student's space.

    The teacher's (n, Dt) vectors ``T`` and the student's (n, D) vectors ``S`` are aligned by
    the least-squares map ``A = argmin ||T A - S||``; the label of text i is ``T[i] A``,
    L2-normalised (the student's output is normalised).

    :param student: the static encoder to fine-tune.
    :param teacher: the encoder it was distilled from.
    :param texts: training sentences (unlabelled).
    :param batch_size: teacher batch size.
    :return: ``sentences`` examples for ``MSEDistillationLoss``.
    """
    from sentvec.train.data import Example, ExampleKind, TrainData

    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    if len(unique) < student.dim:
        raise SentvecError(
            f"teacher_targets needs at least as many distinct texts as the model has dimensions "
            f"({student.dim}), got {len(unique)}. Fix: pass more text."
        )
    t = teacher.encode(unique, batch_size=batch_size, normalize=True).astype(np.float64)
    s = student.encode(unique, normalize=True).astype(np.float64)
    a, *_ = np.linalg.lstsq(t, s, rcond=None)  # (Dt, D)
    y = t @ a
    y /= np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)
    y32 = y.astype(np.float32)
    examples = [Example((text,), row.tolist()) for text, row in zip(unique, y32, strict=True)]
    return TrainData(ExampleKind.SENTENCES, examples, name="teacher-targets")
