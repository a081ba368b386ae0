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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sentvec.backends.static.model import StaticModel
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    import torch

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


@dataclass
class FitConfig:
    """How :func:`fit_to_teacher` trains (defaults chosen on STSb dev, see BENCHMARKS.md)."""

    epochs: int = 4
    lr: float = 3e-3  # Adam, for the token rows and the head alike
    batch_size: int = 256
    dims: int | None = None  # PCA size of the result; None: the student's width
    centre: bool = True  # subtract the mean sentence vector of the texts (better on STSb dev)
    blend: float = 0.5  # weight of the starting rows kept beside the fitted ones (0: none)
    holdout: float = 0.05  # share of the texts kept aside to report the fit
    seed: int = 0


@dataclass
class FitResult:
    """What :func:`fit_to_teacher` made and how well it fits held-out text."""

    model: StaticModel
    heldout_cosine: float  # mean cosine(student, teacher) on the held-out texts
    start_cosine: float  # the same before training (least-squares head only)
    seconds: float
    history: list[float] = field(default_factory=list)  # mean training loss per epoch


def fit_to_teacher(
    student: StaticModel,
    texts: Sequence[str],
    targets: np.ndarray,
    config: FitConfig | None = None,
    show_progress: bool = False,
) -> FitResult:
    """Regress the static model onto the teacher's sentence vectors through a learned linear
    head, then fold the head into the token rows.

    The student's mean of token rows ``s(x)`` (D) goes through a head ``W`` (D, Dt) and is
    pulled towards the teacher's vector ``t(x)`` by cosine loss; rows and head train together
    (Adam). The head starts as the least-squares map from the student's vectors to the
    teacher's. Because the head is linear and has no bias, ``normalize(mean(rows) W)`` equals
    ``normalize(mean(rows W))``: the result is a plain static model whose rows are ``E W``,
    then centred on the texts' mean sentence vector and rotated onto the principal directions
    of the texts' vectors: as many as the student's width or ``config.dims``.

    With ``config.blend`` > 0 the starting rows stay beside the fitted ones: each part is
    scaled so that the texts' centred sentence vectors have median length 1, the starting
    part is weighted by ``blend``, the two are concatenated and the principal directions are
    taken over both. The fit follows the teacher's sentence vectors; the starting rows
    (e.g. the data-free model's: each token through the teacher alone) keep what the fit
    trades away. Without blending the result is exact at the student's width (the folded rows
    have that rank); with it, the width keeps the leading directions of both. The blend of 0.5
    raised STSb dev and AG News clustering without losing agreement with the teacher's
    neighbours (BENCHMARKS.md).

    :param student: the static model to start from (e.g. :func:`~sentvec.distill.distill`'s).
    :param texts: unlabelled training texts.
    :param targets: (len(texts), Dt) the teacher's vectors of ``texts``.
    :param config: epochs, learning rate, batch size, output size.
    :param show_progress: print the loss per epoch.
    :return: the new model and its held-out fit.
    :raises SentvecError: texts and targets disagree, or too few texts.
    """
    import time

    import torch
    import torch.nn.functional as F

    cfg = config or FitConfig()
    if len(texts) != len(targets):
        raise SentvecError(
            f"fit_to_teacher got {len(texts)} texts but {len(targets)} targets. Fix: pass one "
            "teacher vector per text."
        )
    if not cfg.blend >= 0:
        raise SentvecError(
            f"blend must be 0 or more, got {cfg.blend}. Fix: pass 0 to keep only the fitted "
            "rows, or a weight such as 0.5 for the starting rows beside them."
        )
    ids = student.token_ids(texts)
    keep = [i for i, x in enumerate(ids) if x]
    if len(keep) < max(student.dim, 20):
        raise SentvecError(
            f"fit_to_teacher needs at least {max(student.dim, 20)} non-empty texts, got "
            f"{len(keep)}. Fix: pass more text."
        )
    start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    order = np.random.default_rng(cfg.seed).permutation(keep)
    n_held = round(len(order) * cfg.holdout)
    held, train = order[:n_held], order[n_held:]
    y_all = torch.from_numpy(np.asarray(targets, dtype=np.float32))
    y_all = F.normalize(y_all, dim=-1)
    table = torch.nn.Parameter(torch.from_numpy(student.embeddings.copy()))

    def bag(rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        flat = torch.as_tensor(np.concatenate([ids[i] for i in rows]), dtype=torch.long)
        lengths = torch.as_tensor([len(ids[i]) for i in rows], dtype=torch.long)
        return flat, torch.cumsum(lengths, 0) - lengths

    def embed(rows: np.ndarray) -> torch.Tensor:
        flat, offsets = bag(rows)
        return F.embedding_bag(flat, table, offsets, mode="mean")

    with torch.no_grad():  # least-squares head from the starting vectors
        s = F.normalize(embed(train), dim=-1).double()
        w0 = torch.linalg.lstsq(s, y_all[train].double()).solution.float()  # (D, Dt)
    head = torch.nn.Parameter(w0)

    def heldout() -> float:
        if len(held) == 0:
            return float("nan")
        with torch.no_grad():
            return float(F.cosine_similarity(embed(held) @ head, y_all[held]).mean())

    start_cos = heldout()
    opt = torch.optim.Adam([table, head], lr=cfg.lr)
    history = []
    rng = np.random.default_rng(cfg.seed + 1)
    for epoch in range(cfg.epochs):
        perm = rng.permutation(train)
        total = 0.0
        for b in range(0, len(perm), cfg.batch_size):
            rows = perm[b : b + cfg.batch_size]
            loss = (1 - F.cosine_similarity(embed(rows) @ head, y_all[rows])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(rows)
        history.append(total / len(perm))
        if show_progress:
            print(f"epoch {epoch + 1}: loss {history[-1]:.4f}, held-out cosine {heldout():.4f}")
    with torch.no_grad():
        folded = (table @ head).double()  # (vocab, Dt), rank <= D
        flat, offsets = bag(train)
        sentences = F.embedding_bag(flat, folded, offsets, mode="mean")  # (n, Dt) unnormalised
        if cfg.blend > 0:
            start_rows = torch.from_numpy(student.embeddings).double()
            start_sentences = F.embedding_bag(flat, start_rows, offsets, mode="mean")
            folded, sentences = _blend(
                (folded, sentences), (start_rows, start_sentences), cfg.blend
            )
    rows = _centre_and_reduce(
        folded.numpy(), sentences.numpy(), cfg.dims or student.dim, cfg.centre
    )
    info = {
        **student.info,
        "fit_to_teacher": {
            "texts": len(train),
            "epochs": cfg.epochs,
            "lr": cfg.lr,
            "batch_size": cfg.batch_size,
            "heldout_cosine": round(heldout(), 4),
            "centred": cfg.centre,
            "blend": cfg.blend,
            "dims": int(rows.shape[1]),
        },
    }
    model = StaticModel(rows.astype(np.float32), student.tokenizer, student.normalize, info)
    return FitResult(model, heldout(), start_cos, time.perf_counter() - start, history)


def _blend(
    fitted: tuple[torch.Tensor, torch.Tensor],
    start: tuple[torch.Tensor, torch.Tensor],
    weight: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Concatenate two sets of rows (and the texts' sentence vectors under each), each scaled
    so that the median length of the centred sentence vectors is 1, the second times
    ``weight``.

    :param fitted: (rows, sentences) of the fitted model.
    :param start: (rows, sentences) of the starting model.
    :param weight: the starting part's weight.
    :return: the concatenated rows and sentence vectors.
    """
    import torch

    parts = []
    for (rows, sentences), w in ((fitted, 1.0), (start, weight)):
        length = (sentences - sentences.mean(0)).norm(dim=1).quantile(0.5).clamp_min(1e-12)
        parts.append((rows * (w / length), sentences * (w / length)))
    return torch.cat([parts[0][0], parts[1][0]], 1), torch.cat([parts[0][1], parts[1][1]], 1)


def _centre_and_reduce(
    rows: np.ndarray, sentences: np.ndarray, dims: int, centre: bool
) -> np.ndarray:
    """Shift and rotate the folded rows: sentence vectors lose their common mean and are
    expressed on their ``dims`` principal directions (nothing is lost when the rows' rank is
    no larger).

    Subtracting the mean sentence vector ``c`` from every row subtracts it from every
    sentence vector (a sentence vector is the mean of its rows). The rows span at most the
    student's width; on an orthonormal basis of that span, ordered by the variance of the
    training sentences' vectors, dot products (so cosines) are kept exactly when ``dims``
    reaches the rank, and the ``dims`` leading directions are kept otherwise.

    :param rows: (vocab, W) folded token rows (W: the teacher's width, plus the student's
        when blended).
    :param sentences: (n, W) the training texts' unnormalised sentence vectors.
    :param dims: the most output dimensions.
    :param centre: subtract the mean sentence vector.
    :return: (vocab, min(dims, rank)) rows.
    """
    c = sentences.mean(axis=0) if centre else np.zeros(rows.shape[1])
    shifted = rows - c
    _, sv, vt = np.linalg.svd(shifted, full_matrices=False)
    basis = vt[: int((sv > 1e-6 * sv[0]).sum())]  # (r, W) orthonormal span of the rows
    inner = (sentences - c) @ basis.T  # (n, r) coordinates of the centred sentences
    spread = inner - inner.mean(axis=0)
    values, vectors = np.linalg.eigh(spread.T @ spread)  # (r, r): every direction, any n
    order = vectors[:, np.argsort(values)[::-1]].T
    directions = order[: min(dims, len(basis))] @ basis  # (k, W), by sentence variance
    return shifted @ directions.T
