"""Zero-shot classification: each label becomes a vector (its name put in one or more
templates, averaged), and each text takes the labels its vector is closest to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sentvec.apps.neighbors import unit
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

DEFAULT_TEMPLATE = "This text is about {}."


@dataclass
class Classification:
    """The labels of one text: ``label`` is the best one (None in multi-label mode when no
    label passes the threshold), ``labels`` all chosen, ``scores`` one per label."""

    label: str | None
    labels: list[str]
    scores: dict[str, float] = field(default_factory=dict)


def label_vectors(labels: Sequence[str], templates: Sequence[str], encoder: Encoder) -> np.ndarray:
    """One unit vector per label: the mean of its unit template vectors, normalised.

    :param labels: label names. :param templates: texts with ``{}`` where the name goes.
    :param encoder: the model.
    :return: (len(labels), dim).
    """
    for t in templates:
        check_template(t)
    texts = [fill(t, label) for label in labels for t in templates]
    v = unit(encoder.encode(texts)).reshape(len(labels), len(templates), -1)  # (L, T, d)
    return unit(v.mean(axis=1))


def check_template(template: str) -> None:
    """A template holds exactly one ``{}`` where the label goes and no other brace; the
    label is put in by plain substitution (never ``str.format``, whose fields such as
    ``{0.__class__}`` or ``{:x>2000000}`` run code paths and build huge texts).

    :raises SentvecError: naming the template and the fix.
    """
    if template.count("{}") != 1 or template.count("{") != 1 or template.count("}") != 1:
        raise SentvecError(
            f"template {template!r} needs exactly one '{{}}' for the label and no other "
            "braces. Fix: write it like 'This text is about {}.'"
        )


def fill(template: str, label: str) -> str:
    """The template with its one ``{}`` replaced by ``label`` (plain text substitution)."""
    head, _, tail = template.partition("{}")
    return head + label + tail


def softmax(x: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of x / temperature."""
    z = x / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def classify(
    texts: Sequence[str] | None,
    labels: Sequence[str],
    template: str = DEFAULT_TEMPLATE,
    *,
    templates: Sequence[str] | None = None,
    temperature: float = 0.05,
    multi_label: bool = False,
    threshold: float = 0.3,
    encoder: Encoder | None = None,
    vectors: np.ndarray | None = None,
) -> list[Classification]:
    """Label texts with no training data.

    :param texts: the texts (or give ``vectors``).
    :param labels: the label names, e.g. ``["sports", "business"]``.
    :param template: how a label becomes a sentence.
    :param templates: several templates, whose vectors are averaged (overrides ``template``).
    :param temperature: softmax temperature over cosine similarities (lower: sharper).
    :param multi_label: each label chosen on its own when its cosine similarity reaches
        ``threshold``; ``scores`` are then the similarities, not a softmax.
    :param threshold: multi-label cut-off (cosine similarity).
    :param encoder: the model (default all-MiniLM-L6-v2).
    :param vectors: precomputed text vectors from the same model.
    :return: one :class:`Classification` per text.
    """
    labels = list(labels)
    if len(labels) < (1 if multi_label else 2) or len(set(labels)) != len(labels):
        raise SentvecError(
            f"labels {labels!r}: need at least two distinct labels (one in "
            "multi-label mode). Fix: pass --labels a,b,c"
        )
    if temperature <= 0:
        raise SentvecError(f"temperature {temperature} must be > 0. Fix: try 0.05.")
    if encoder is None:
        from sentvec.encoder import load

        encoder = load()
    if vectors is None:
        if texts is None:
            raise SentvecError("classify needs texts or vectors. Fix: pass one of them.")
        vectors = encoder.encode(list(texts))
    sims = unit(vectors) @ label_vectors(labels, list(templates or [template]), encoder).T
    if multi_label:
        return [_multi(row, labels, threshold) for row in sims]
    probs = softmax(sims.astype(np.float64), temperature)
    return [
        Classification(
            labels[int(np.argmax(p))],
            [labels[int(np.argmax(p))]],
            {lab: float(s) for lab, s in zip(labels, p, strict=True)},
        )
        for p in probs
    ]


def _multi(row: np.ndarray, labels: list[str], threshold: float) -> Classification:
    chosen = [labels[j] for j in np.argsort(-row, kind="stable") if row[j] >= threshold]
    return Classification(
        chosen[0] if chosen else None,
        chosen,
        {lab: float(s) for lab, s in zip(labels, row, strict=True)},
    )
