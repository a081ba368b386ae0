"""Training objectives for sentence embedders, each a small ``nn.Module``.

Every loss takes ``forward(embeddings, labels)`` where ``embeddings`` is a list with one
``(B, D)`` tensor per text column of the batch (anchor, positive, negatives...) and ``labels`` a
``(B,)`` tensor (or ``(B, D)`` teacher vectors, or None). :meth:`Loss.compute` runs the model on a
:class:`~sentvec.train.data.Batch` and calls ``forward``; losses that need the model itself
(SimCSE's two dropout views, GradCache's mini-batches) override ``compute``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.train.ddp import gather_tensor, gather_with_grad, rank_and_world

if TYPE_CHECKING:
    from sentvec.train.data import Batch


def cos_sim_matrix(a: Tensor, b: Tensor) -> Tensor:
    """Cosine similarity of every row of ``a`` (n, d) with every row of ``b`` (m, d): (n, m)."""
    return F.normalize(a, p=2, dim=-1) @ F.normalize(b, p=2, dim=-1).T


def pairwise_distance(a: Tensor, b: Tensor, metric: str) -> Tensor:
    """Distance of a[i] to b[i]: ``euclidean`` ||a - b||, or ``cosine`` 1 - cos(a, b). (n,)"""
    if metric == "euclidean":
        return (a - b).pow(2).sum(-1).clamp_min(1e-12).sqrt()  # (n,)
    if metric == "cosine":
        return 1.0 - F.cosine_similarity(a, b, dim=-1)  # (n,)
    raise InvalidChoiceError("distance", metric, DISTANCES)


def distance_matrix(a: Tensor, metric: str) -> Tensor:
    """All-pairs distances of the rows of ``a`` (n, d): (n, n)."""
    if metric == "euclidean":
        sq = (a * a).sum(-1)  # (n,)
        d2 = sq[:, None] + sq[None, :] - 2.0 * (a @ a.T)  # (n, n)
        d2 = d2.clamp_min(0.0)
        zero = d2 == 0
        return torch.where(zero, torch.zeros_like(d2), d2.masked_fill(zero, 1.0).sqrt())
    if metric == "cosine":
        return 1.0 - cos_sim_matrix(a, a)  # (n, n)
    raise InvalidChoiceError("distance", metric, DISTANCES)


DISTANCES = ("euclidean", "cosine")


class Loss(nn.Module):
    """Base class: ``compute(model, batch)`` embeds each text column once, then ``forward``."""

    uses_text_hashes = False  # True when forward also wants batch.hashes (duplicate masking)

    def compute(self, model: nn.Module, batch: Batch) -> Tensor:
        """Embed the batch with ``model`` and return the scalar loss.

        :param model: a :class:`~sentvec.modules.SentenceModel` (or a wrapper with its forward).
        :param batch: the collated batch.
        :return: the loss (a scalar tensor with a graph back to the model).
        """
        embeddings = embed_batch(model, batch)
        if self.uses_text_hashes:
            return self(embeddings, batch.labels, batch.hashes)
        return self(embeddings, batch.labels)


def embed_batch(model: nn.Module, batch: Batch) -> list[Tensor]:
    """One forward pass over every text of the batch, split back into its columns."""
    out = model(**batch.features)  # (C * B, D)
    return list(out.split(batch.size))  # C x (B, D)


def _need_labels(labels: Tensor | None, loss: str) -> Tensor:
    if labels is None:
        raise SentvecError(
            f"{loss} needs a label for every example. Fix: train it on data with "
            "scores or classes (e.g. kind='scored_pairs' or 'labelled_pairs')."
        )
    return labels


def _need_columns(embeddings: Sequence[Tensor], n: int, loss: str, what: str) -> None:
    if len(embeddings) < n:
        raise SentvecError(
            f"{loss} needs {what}, got {len(embeddings)} text column(s). "
            "Fix: pick a loss that matches the data kind (see sentvec.train.LOSSES)."
        )


class CosineSimilarityLoss(Loss):
    """Regression of cosine similarity onto a gold score: ``mean((cos(u_i, v_i) - y_i)^2)``.

    Input: pairs ``(sentence1, sentence2)`` with a score ``y`` in [0, 1] (read STS scores with
    ``score_scale=5``). The classic SBERT STS recipe.
    """

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        _need_columns(embeddings, 2, "CosineSimilarityLoss", "pairs")
        y = _need_labels(labels, "CosineSimilarityLoss")
        cos = F.cosine_similarity(embeddings[0], embeddings[1], dim=-1)  # (B,)
        return F.mse_loss(cos, y.to(cos.dtype))


class CoSENTLoss(Loss):
    """CoSENT, a ranking form of the STS signal:
    ``log(1 + sum_{(i, j): y_i > y_j} exp(scale * (cos_j - cos_i)))``.

    Input: pairs with a score (any scale: only the order of the scores matters). ``scale`` = 20.
    """

    def __init__(self, scale: float = 20.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        _need_columns(embeddings, 2, "CoSENTLoss", "pairs")
        y = _need_labels(labels, "CoSENTLoss")
        cos = F.cosine_similarity(embeddings[0], embeddings[1], dim=-1) * self.scale  # (B,)
        diff = cos[None, :] - cos[:, None]  # (B, B): diff[i, j] = s*(cos_j - cos_i)
        ordered = y[:, None] > y[None, :]  # (B, B): pair i should score above pair j
        diff = diff.masked_fill(~ordered, float("-inf")).flatten()
        zero = torch.zeros(1, dtype=diff.dtype, device=diff.device)  # the "1 +" term: exp(0)
        return torch.logsumexp(torch.cat([zero, diff]), dim=0)


class ContrastiveLoss(Loss):
    """Contrastive loss (Hadsell et al., 2006) on labelled pairs:
    ``mean(0.5 * (y * d^2 + (1 - y) * max(0, margin - d)^2))``.

    Input: pairs with ``y`` = 1 (similar) or 0 (dissimilar). ``distance``: ``cosine``
    (1 - cos, default) or ``euclidean``. Similar pairs are pulled together; dissimilar pairs are
    pushed apart until they are ``margin`` away.
    """

    def __init__(self, margin: float = 0.5, distance: str = "cosine") -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise InvalidChoiceError("distance", distance, DISTANCES)
        self.margin, self.distance = margin, distance

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        _need_columns(embeddings, 2, "ContrastiveLoss", "pairs")
        d = pairwise_distance(embeddings[0], embeddings[1], self.distance)  # (B,)
        y = _need_labels(labels, "ContrastiveLoss").to(d.dtype)
        losses = y * d.pow(2) + (1 - y) * F.relu(self.margin - d).pow(2)  # (B,)
        return 0.5 * losses.mean()


class OnlineContrastiveLoss(ContrastiveLoss):
    """Contrastive loss on the hard pairs of the batch only:
    ``sum_{hard pos} d^2 + sum_{hard neg} max(0, margin - d)^2``.

    A positive pair is hard when it is farther apart than the closest negative pair; a negative
    pair is hard when it is closer than the farthest positive pair. Input as ContrastiveLoss.
    """

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        _need_columns(embeddings, 2, "OnlineContrastiveLoss", "pairs")
        y = _need_labels(labels, "OnlineContrastiveLoss")
        d = pairwise_distance(embeddings[0], embeddings[1], self.distance)  # (B,)
        pos, neg = d[y == 1], d[y == 0]
        if len(pos) == 0 or len(neg) == 0:  # nothing to compare with: every pair counts
            hard_pos, hard_neg = pos, neg
        else:
            hard_pos = pos[pos > neg.min()]
            hard_neg = neg[neg < pos.max()]
        return hard_pos.pow(2).sum() + F.relu(self.margin - hard_neg).pow(2).sum()


class TripletLoss(Loss):
    """Triplet loss: ``mean(max(0, d(a, p) - d(a, n) + margin))``.

    Input: triplets ``(anchor, positive, negative)``. ``distance``: ``euclidean`` (default,
    margin 5 as in SBERT) or ``cosine`` (1 - cos; use a margin near 0.5).
    """

    def __init__(self, margin: float = 5.0, distance: str = "euclidean") -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise InvalidChoiceError("distance", distance, DISTANCES)
        self.margin, self.distance = margin, distance

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        _need_columns(embeddings, 3, "TripletLoss", "triplets (anchor, positive, negative)")
        a, p, n = embeddings[:3]
        d_ap = pairwise_distance(a, p, self.distance)  # (B,)
        d_an = pairwise_distance(a, n, self.distance)  # (B,)
        return F.relu(d_ap - d_an + self.margin).mean()


class BatchHardTripletLoss(Loss):
    """Batch-hard triplet loss (Hermans et al., 2017) on sentences with class labels: for each
    anchor, its farthest same-class sentence and its closest other-class sentence,
    ``mean_a max(0, max_p d(a, p) - min_n d(a, n) + margin)``.

    Input: single sentences with an integer class label. Anchors with no positive or no negative
    in the batch are left out.
    """

    def __init__(self, margin: float = 5.0, distance: str = "euclidean") -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise InvalidChoiceError("distance", distance, DISTANCES)
        self.margin, self.distance = margin, distance

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        y = _need_labels(labels, "BatchHardTripletLoss")
        d = distance_matrix(embeddings[0], self.distance)  # (B, B)
        same, diff = _label_masks(y)
        hardest_pos = d.masked_fill(~same, float("-inf")).max(dim=1).values  # (B,)
        hardest_neg = d.masked_fill(~diff, float("inf")).min(dim=1).values  # (B,)
        valid = same.any(1) & diff.any(1)
        if not valid.any():
            return d.sum() * 0.0
        return F.relu(hardest_pos[valid] - hardest_neg[valid] + self.margin).mean()


class BatchSemiHardTripletLoss(BatchHardTripletLoss):
    """Batch-semi-hard triplet loss (Schroff et al., 2015): for every positive pair (a, p), the
    negative n closest to a that is still farther than p (``d(a, n) > d(a, p)``); if there is
    none, the farthest negative. ``mean_{(a, p)} max(0, d(a, p) - d(a, n) + margin)``.

    Input: single sentences with an integer class label.
    """

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        y = _need_labels(labels, "BatchSemiHardTripletLoss")
        d = distance_matrix(embeddings[0], self.distance)  # (B, B)
        same, diff = _label_masks(y)
        d_ap = d[:, :, None]  # (B, B, 1): anchor a, positive p
        d_an = d[:, None, :]  # (B, 1, B): anchor a, negative n
        semi = diff[:, None, :] & (d_an > d_ap)  # (B, B, B)
        closest_semi = d_an.expand_as(semi).masked_fill(~semi, float("inf")).min(-1).values
        farthest = d.masked_fill(~diff, float("-inf")).max(-1).values  # (B,)
        has_semi = semi.any(-1)  # (B, B)
        d_neg = torch.where(has_semi, closest_semi, farthest[:, None].expand_as(closest_semi))
        valid = same & diff.any(1)[:, None]  # (B, B): positive pairs of anchors with a negative
        if not valid.any():
            return d.sum() * 0.0
        return F.relu(d[valid] - d_neg[valid] + self.margin).mean()


def _label_masks(y: Tensor) -> tuple[Tensor, Tensor]:
    """(same class, not self) and (other class) masks, each (B, B) bool."""
    eq = y[:, None] == y[None, :]
    eye = torch.eye(len(y), dtype=torch.bool, device=y.device)
    return eq & ~eye, ~eq


class MultipleNegativesRankingLoss(Loss):
    """In-batch negatives (InfoNCE): for anchor i, cross-entropy over
    ``scale * cos(a_i, c_j)`` with the target j = i, where the candidates c are every positive of
    the batch followed by every hard negative (columns 3, 4, ... of the data).

    Input: ``(anchor, positive)`` or ``(anchor, positive, negative, ...)``; no labels.
    ``symmetric=True`` adds the positive -> anchor direction and averages the two.
    A candidate whose text equals anchor i's positive (a duplicate in the batch) is masked out
    for anchor i instead of being pushed away. In a ``torchrun`` job with ``gather=True`` the
    candidates of every process join the softmax (gradients flow back to their owners).
    """

    uses_text_hashes = True

    def __init__(self, scale: float = 20.0, symmetric: bool = False, gather: bool = True) -> None:
        super().__init__()
        self.scale, self.symmetric, self.gather = scale, symmetric, gather

    def forward(
        self,
        embeddings: Sequence[Tensor],
        labels: Tensor | None = None,
        hashes: Tensor | None = None,
    ) -> Tensor:
        _need_columns(embeddings, 2, type(self).__name__, "(anchor, positive) pairs")
        anchors = embeddings[0]  # (B, D)
        batch = len(anchors)
        rank, world = rank_and_world() if self.gather else (0, 1)
        cols = [gather_with_grad(e) if world > 1 else e for e in embeddings[1:]]  # (W*B, D) each
        candidates = torch.cat(cols)  # (W*B*(C-1), D)
        target = torch.arange(batch, device=anchors.device) + rank * batch  # (B,)
        scores = cos_sim_matrix(anchors, candidates) * self.scale  # (B, W*B*(C-1))
        if hashes is not None:
            scores = _mask_duplicates(scores, hashes, target, rank, world)
        loss = F.cross_entropy(scores, target)
        if self.symmetric:
            all_anchors = gather_with_grad(anchors) if world > 1 else anchors  # (W*B, D)
            back = cos_sim_matrix(embeddings[1], all_anchors) * self.scale  # (B, W*B)
            loss = (loss + F.cross_entropy(back, target)) / 2
        return loss


def _mask_duplicates(
    scores: Tensor, hashes: Tensor, target: Tensor, rank: int, world: int
) -> Tensor:
    """Set to -inf every candidate (but the target) whose text equals the target's text."""
    cand = hashes[1:].reshape(-1)  # (B*(C-1),) local candidate text ids, column-major
    if world > 1:
        cand = torch.cat([gather_tensor(h) for h in hashes[1:]])  # (W*B*(C-1),)
    positive = hashes[1]  # (B,)
    dup = positive[:, None] == cand[None, :]  # (B, N)
    dup[torch.arange(len(target)), target] = False
    return scores.masked_fill(dup, float("-inf"))


class SupervisedSimCSELoss(MultipleNegativesRankingLoss):
    """Supervised SimCSE (Gao et al., 2021): in-batch negatives on NLI triplets
    ``(premise, entailment, contradiction)`` at temperature 0.05 (``scale`` = 20)."""

    def __init__(self, temperature: float = 0.05, gather: bool = True) -> None:
        super().__init__(scale=1.0 / temperature, gather=gather)


class UnsupervisedSimCSELoss(MultipleNegativesRankingLoss):
    """Unsupervised SimCSE: every sentence goes through the model twice in train mode; the two
    dropout masks make two views, the other sentences of the batch are the negatives:
    InfoNCE over ``cos(h_i, h'_j) / temperature``.

    Input: plain sentences (one column). The model must be in train mode (the trainer does so).
    """

    def __init__(self, temperature: float = 0.05, gather: bool = True) -> None:
        super().__init__(scale=1.0 / temperature, gather=gather)

    def compute(self, model: nn.Module, batch: Batch) -> Tensor:
        feats = {k: torch.cat([v, v]) for k, v in batch.features.items()}  # (2 * B, T)
        views = model(**feats)  # (2 * B, D): two dropout masks, one pass
        hashes = None if batch.hashes is None else batch.hashes[:1].repeat(2, 1)
        return self(list(views.split(batch.size * batch.n_columns)), None, hashes)


class CachedMultipleNegativesRankingLoss(MultipleNegativesRankingLoss):
    """MultipleNegativesRankingLoss with GradCache (Gao et al., 2021): trains very large batches
    (1,024 and more) in bounded memory.

    1. embed the batch in mini-batches without a graph; 2. compute the loss on those embeddings
    and its gradient with respect to them; 3. on ``backward()``, re-run each mini-batch with a
    graph (same dropout masks, via saved RNG state) and back-propagate the cached gradient.
    Gives the same gradients as the plain loss; memory grows with ``mini_batch_size``, not the
    batch. Input as MultipleNegativesRankingLoss.
    """

    def __init__(
        self,
        scale: float = 20.0,
        symmetric: bool = False,
        gather: bool = True,
        mini_batch_size: int = 32,
    ) -> None:
        super().__init__(scale=scale, symmetric=symmetric, gather=gather)
        self.mini_batch_size = mini_batch_size

    def compute(self, model: nn.Module, batch: Batch) -> Tensor:
        chunks = _row_chunks(batch.features, self.mini_batch_size)
        states: list[Any] = []
        reps = []
        with torch.no_grad():
            for feats in chunks:
                states.append(torch.get_rng_state())
                reps.append(model(**feats))  # (mb, D)
        flat = torch.cat(reps).requires_grad_()  # (C * B, D) leaf
        with torch.enable_grad():
            loss = self(list(flat.split(batch.size)), None, batch.hashes)
            (grad,) = torch.autograd.grad(loss, flat)  # (C * B, D)
        out = loss.detach().requires_grad_()
        out.register_hook(_replay(model, chunks, states, grad))
        return out


def _replay(
    model: nn.Module, chunks: list[dict[str, Tensor]], states: list[Any], grad: Tensor
) -> Callable[[Tensor], None]:
    """The backward hook of the cached loss: re-embed each mini-batch and push its gradient."""

    def hook(upstream: Tensor) -> None:
        start = 0
        rng = torch.get_rng_state()
        for feats, state in zip(chunks, states, strict=False):
            torch.set_rng_state(state)
            with torch.enable_grad():
                rep = model(**feats)  # (mb, D)
            rep.backward(grad[start : start + len(rep)] * upstream)
            start += len(rep)
        torch.set_rng_state(rng)

    return hook


def _row_chunks(features: dict[str, Tensor], size: int) -> list[dict[str, Tensor]]:
    """Split the rows of a padded batch into chunks, trimming each chunk's padding."""
    rows = len(features["input_ids"])
    out = []
    for s in range(0, rows, size):
        chunk = {k: v[s : s + size] for k, v in features.items()}
        width = max(int(chunk["attention_mask"].sum(1).max()), 1)
        out.append({k: v[:, :width] for k, v in chunk.items()})
    return out


class SoftmaxLoss(Loss):
    """SBERT's NLI objective: a linear classifier over ``(u, v, |u - v|)`` trained with
    cross-entropy, ``CE(W [u; v; |u - v|] + b, y)``.

    Input: pairs with an integer class (e.g. entailment 0, neutral 1, contradiction 2).
    ``dim`` is the embedding size; the classifier's weights train with the model.
    """

    def __init__(self, dim: int, num_labels: int = 3) -> None:
        super().__init__()
        self.classifier = nn.Linear(3 * dim, num_labels)

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        _need_columns(embeddings, 2, "SoftmaxLoss", "pairs")
        y = _need_labels(labels, "SoftmaxLoss").long()
        u, v = embeddings[0], embeddings[1]
        logits = self.classifier(torch.cat([u, v, (u - v).abs()], dim=-1))  # (B, num_labels)
        return F.cross_entropy(logits, y)


class MSEDistillationLoss(Loss):
    """Distillation: ``mean((student(x) - teacher(x))^2)`` over every element.

    Input: single sentences whose label is the teacher's (D,) embedding of the same text
    (labels (B, D)). Every text column is compared with the same teacher vector.
    """

    def forward(self, embeddings: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        target = _need_labels(labels, "MSEDistillationLoss").to(embeddings[0].dtype)  # (B, D)
        return torch.stack([F.mse_loss(e, target) for e in embeddings]).mean()


class MatryoshkaLoss(Loss):
    """Matryoshka representation learning: the inner loss summed over truncated embeddings,
    ``sum_k w_k * inner(emb[:, :d_k])``, so vectors can later be cut to any ``d_k``.

    Input: whatever the inner loss expects. Wraps any loss that works on embeddings (not the
    cached or SimCSE variants, which run the model themselves).
    """

    def __init__(
        self,
        inner: Loss,
        dims: Sequence[int] = (768, 512, 256, 128, 64),
        weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if type(inner).compute is not Loss.compute:
            raise SentvecError(
                f"MatryoshkaLoss cannot wrap {type(inner).__name__}: it runs the "
                "model itself. Fix: wrap MultipleNegativesRankingLoss instead."
            )
        self.inner = inner
        self.dims = list(dims)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.dims)
        self.uses_text_hashes = inner.uses_text_hashes

    def forward(
        self,
        embeddings: Sequence[Tensor],
        labels: Tensor | None = None,
        hashes: Tensor | None = None,
    ) -> Tensor:
        total = embeddings[0].new_zeros(())
        for dim, weight in zip(self.dims, self.weights, strict=False):
            cut = [e[:, :dim] for e in embeddings]  # (B, dim) each
            extra = (hashes,) if self.inner.uses_text_hashes else ()
            total = total + weight * self.inner(cut, labels, *extra)
        return total


LOSSES: dict[str, type[Loss]] = {
    "cosine": CosineSimilarityLoss,
    "cosent": CoSENTLoss,
    "contrastive": ContrastiveLoss,
    "online_contrastive": OnlineContrastiveLoss,
    "triplet": TripletLoss,
    "batch_hard_triplet": BatchHardTripletLoss,
    "batch_semi_hard_triplet": BatchSemiHardTripletLoss,
    "mnrl": MultipleNegativesRankingLoss,
    "cached_mnrl": CachedMultipleNegativesRankingLoss,
    "simcse": UnsupervisedSimCSELoss,
    "supervised_simcse": SupervisedSimCSELoss,
    "softmax": SoftmaxLoss,
    "mse": MSEDistillationLoss,
}
