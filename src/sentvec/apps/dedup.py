"""Duplicate and paraphrase detection: candidate pairs from nearest-neighbour search (never
all pairs), grouped by connected components."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sentvec.apps.neighbors import knn, pairs_above
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


@dataclass
class DuplicateGroup:
    """Texts that are duplicates or paraphrases of each other (linked by pairs above the
    threshold). ``keep`` is the one to keep: the first in input order."""

    members: list[int]
    pairs: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def keep(self) -> int:
        """Index of the member to keep (the earliest)."""
        return self.members[0]

    def best_score(self, member: int) -> float:
        """Highest similarity of ``member`` to another member of the group."""
        return max(s for a, b, s in self.pairs if member in (a, b))


@dataclass
class DuplicateResult:
    """Groups (size >= 2, largest first) and every pair found above the threshold."""

    groups: list[DuplicateGroup]
    pairs: list[tuple[int, int, float]]
    n: int

    def keep_indices(self) -> list[int]:
        """Indices to keep, in input order: one per group, plus every text in no group."""
        drop = {m for g in self.groups for m in g.members if m != g.keep}
        return [i for i in range(self.n) if i not in drop]


def find_duplicates(
    texts: Sequence[str] | None = None,
    threshold: float = 0.9,
    *,
    encoder: Encoder | None = None,
    vectors: np.ndarray | None = None,
    k: int = 10,
    exact: bool | None = None,
    batch_size: int = 64,
    show_progress: bool | None = None,
    cascade: Encoder | None = None,
    cascade_margin: float = 0.15,
) -> DuplicateResult:
    """Find groups of near-duplicate texts.

    Each text is compared with its ``k`` nearest neighbours only (exact search below 20,000
    texts, an inverted-file index above); pairs with cosine similarity >= ``threshold`` are
    linked and groups are the connected components, so a group can be larger than ``k``.

    :param texts: the texts (or give ``vectors``).
    :param threshold: cosine similarity from which two texts count as duplicates.
    :param encoder: the model (default: all-MiniLM-L6-v2).
    :param vectors: precomputed (n, d) vectors, instead of texts.
    :param k: neighbours examined per text.
    :param exact: force exact (True) or approximate (False) neighbour search.
    :param batch_size: encoding batch size.
    :param show_progress: progress bars (default: from 1,000 texts).
    :param cascade: a fast first-stage model (e.g. a static model): it finds the neighbours,
        and ``encoder`` re-scores only the pairs it scores at least
        ``threshold - cascade_margin`` (so only the texts in such pairs are encoded by
        ``encoder``); scores and the threshold are ``encoder``'s.
    :param cascade_margin: see ``cascade``.
    :return: the groups and pairs.
    """
    if cascade is not None and vectors is None and texts is not None:
        from sentvec.apps.cascade import cascade_pairs

        if encoder is None:
            from sentvec.encoder import load

            encoder = load()
        n = len(texts)
        a, b, s, _ = cascade_pairs(
            cascade,
            encoder,
            list(texts),
            threshold,
            k,
            cascade_margin,
            exact=exact,
            batch_size=batch_size,
            show_progress=bool(show_progress if show_progress is not None else n >= 1000),
        )
        pairs = list(zip(a.tolist(), b.tolist(), s.tolist(), strict=True))
        return DuplicateResult(_groups(n, a, b, s), pairs, n)
    if vectors is None:
        if texts is None:
            raise SentvecError("find_duplicates needs texts or vectors. Fix: pass one of them.")
        if encoder is None:
            from sentvec.encoder import load

            encoder = load()
        vectors = encoder.encode(list(texts), batch_size=batch_size, show_progress=show_progress)
    n = len(vectors)
    show = show_progress if show_progress is not None else n >= 1000
    scores, idx = knn(vectors, k, exact=exact, show_progress=show)
    a, b, s = pairs_above(scores, idx, threshold)
    pairs = list(zip(a.tolist(), b.tolist(), s.tolist(), strict=True))
    return DuplicateResult(_groups(n, a, b, s), pairs, n)


def _groups(n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray) -> list[DuplicateGroup]:
    """Connected components of the pair graph, as groups of two or more."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(a) == 0:
        return []
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    by_label: dict[int, DuplicateGroup] = {}
    for i, j, score in zip(a.tolist(), b.tolist(), s.tolist(), strict=True):
        by_label.setdefault(int(label[i]), DuplicateGroup([])).pairs.append((i, j, score))
    for node in np.unique(np.concatenate([a, b])).tolist():  # ascending: members sorted
        by_label[int(label[node])].members.append(node)
    return sorted(by_label.values(), key=lambda g: (-len(g.members), g.members[0]))
