"""Clustering sentence vectors: k-means (k given or chosen by silhouette), agglomerative with a
distance threshold, and community detection on nearest neighbours; each cluster described by
c-TF-IDF keywords and its most central examples.

Needs ``pip install 'sentvec[apps]'`` (scikit-learn, scipy).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.apps.neighbors import knn, unit
from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.extras import import_extra

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

METHODS = ("kmeans", "agglomerative", "community")
AGGLOMERATIVE_MAX = 20_000  # it needs an (n, n) distance matrix
SILHOUETTE_SAMPLE = 5_000


@dataclass
class Cluster:
    """One cluster: its members (indices), keywords and most central members."""

    id: int
    members: list[int]
    keywords: list[str] = field(default_factory=list)
    examples: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Number of members."""
        return len(self.members)


@dataclass
class ClusterResult:
    """Per-text labels (-1: in no cluster, community mode) and the clusters, largest first."""

    labels: np.ndarray
    clusters: list[Cluster]
    method: str
    silhouette: dict[int, float] = field(default_factory=dict)  # k -> score, when k was chosen


def cluster(
    texts: Sequence[str] | None = None,
    method: str = "kmeans",
    *,
    k: int | None = None,
    k_max: int = 10,
    threshold: float | None = None,
    min_size: int = 3,
    max_size: int = 128,
    encoder: Encoder | None = None,
    vectors: np.ndarray | None = None,
    n_keywords: int = 5,
    n_examples: int = 3,
    seed: int = 0,
    show_progress: bool | None = None,
) -> ClusterResult:
    """Group texts by meaning.

    :param texts: the texts (needed for keywords; give ``vectors`` too to skip encoding).
    :param method: ``kmeans``, ``agglomerative`` or ``community``.
    :param k: k-means clusters; None: the k in 2..``k_max`` with the best silhouette.
    :param k_max: largest k tried when choosing k.
    :param threshold: agglomerative: cosine *distance* at which merging stops (default 0.5);
        community: cosine *similarity* every member has to the centre (default 0.75).
    :param min_size: community: smallest community kept.
    :param max_size: community: neighbours examined per text (largest community).
    :param encoder: the model (default all-MiniLM-L6-v2), when ``vectors`` is not given.
    :param vectors: precomputed (n, d) vectors.
    :param n_keywords: c-TF-IDF keywords per cluster (needs texts).
    :param n_examples: most central members listed per cluster.
    :param seed: random seed.
    :param show_progress: progress bars (default: from 1,000 texts).
    :return: labels and clusters.
    """
    if method not in METHODS:
        raise InvalidChoiceError("clustering method", method, METHODS)
    x = unit(_vectors(texts, vectors, encoder, show_progress))
    sil: dict[int, float] = {}
    if method == "kmeans":
        if k is None:
            k, sil = choose_k(x, k_max, seed)
        labels = kmeans(x, k, seed)
    elif method == "agglomerative":
        labels = agglomerative(x, 0.5 if threshold is None else threshold)
    else:
        labels = communities(x, 0.75 if threshold is None else threshold, min_size, max_size)
    clusters = describe(labels, x, texts, n_keywords, n_examples)
    return ClusterResult(labels, clusters, method, sil)


def _vectors(
    texts: Sequence[str] | None,
    vectors: np.ndarray | None,
    encoder: Encoder | None,
    show_progress: bool | None,
) -> np.ndarray:
    if vectors is not None:
        return np.asarray(vectors, dtype=np.float32)
    if texts is None:
        raise SentvecError("cluster needs texts or vectors. Fix: pass one of them.")
    if encoder is None:
        from sentvec.encoder import load

        encoder = load()
    return encoder.encode(list(texts), show_progress=show_progress)


def _sklearn() -> Any:
    import_extra("sklearn.cluster", "apps", "scikit-learn")
    import_extra("sklearn.metrics", "apps", "scikit-learn")
    return import_extra("sklearn", "apps", "scikit-learn")


def kmeans(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means labels of unit vectors (scikit-learn, 5 restarts)."""
    if not 1 <= k <= len(x):
        raise SentvecError(f"k = {k} clusters for {len(x)} texts. Fix: pass 1 <= k <= {len(x)}.")
    model = _sklearn().cluster.KMeans(n_clusters=k, n_init=5, random_state=seed)
    return np.asarray(model.fit_predict(x), dtype=np.int64)


def choose_k(x: np.ndarray, k_max: int, seed: int = 0) -> tuple[int, dict[int, float]]:
    """The k in 2..k_max with the highest cosine silhouette (on a sample of 5,000 at most).

    :return: (best k, silhouette of each k tried).
    """
    metrics = _sklearn().metrics
    top = min(k_max, len(x) - 1)
    if top < 2:
        raise SentvecError(f"cannot choose k for {len(x)} texts. Fix: pass k, or more texts.")
    scores = {}
    for k in range(2, top + 1):
        labels = kmeans(x, k, seed)
        scores[k] = float(
            metrics.silhouette_score(
                x,
                labels,
                metric="cosine",
                sample_size=min(len(x), SILHOUETTE_SAMPLE),
                random_state=seed,
            )
        )
    return max(scores, key=lambda k: scores[k]), scores


def agglomerative(x: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage clusters, merged while the cosine distance is below ``threshold``."""
    if len(x) > AGGLOMERATIVE_MAX:
        raise SentvecError(
            f"agglomerative clustering of {len(x)} texts needs an n x n matrix. "
            "Fix: use --method community or kmeans past "
            f"{AGGLOMERATIVE_MAX} texts."
        )
    if len(x) < 2:
        return np.zeros(len(x), dtype=np.int64)
    model = _sklearn().cluster.AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
    )
    return np.asarray(model.fit_predict(x), dtype=np.int64)


def communities(
    x: np.ndarray, threshold: float, min_size: int = 3, max_size: int = 128
) -> np.ndarray:
    """Fast community detection: texts with the most neighbours above ``threshold`` become
    centres, largest first; each takes its unassigned neighbours above the threshold and is
    kept if at least ``min_size`` remain. Neighbours come from :func:`knn`, so it scales.

    :return: labels, -1 for texts in no community.
    """
    scores, idx = knn(x, max(1, min(max_size - 1, len(x) - 1)))
    counts = (scores >= threshold).sum(axis=1) + 1  # + the centre itself
    labels = np.full(len(x), -1, dtype=np.int64)
    next_label = 0
    for centre in np.argsort(-counts, kind="stable"):
        if counts[centre] < min_size:
            break
        if labels[centre] != -1:
            continue
        members = [centre, *idx[centre][scores[centre] >= threshold].tolist()]
        free = [m for m in members if labels[m] == -1]
        if len(free) >= min_size:
            labels[free] = next_label
            next_label += 1
    return labels


def members_by_label(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Label (>= 0) -> indices with that label, ascending; in one sort, not one pass a label."""
    order = np.argsort(labels, kind="stable")
    values, starts = np.unique(labels[order], return_index=True)
    parts = np.split(order, starts[1:])
    return {int(v): p for v, p in zip(values, parts, strict=True) if v >= 0}


def describe(
    labels: np.ndarray, x: np.ndarray, texts: Sequence[str] | None, n_keywords: int, n_examples: int
) -> list[Cluster]:
    """Clusters (label >= 0), largest first, with c-TF-IDF keywords and central examples."""
    groups = members_by_label(labels)
    clusters = []
    for c, members in groups.items():
        centre = unit(x[members].mean(axis=0, keepdims=True))[0]
        central = members[np.argsort(-(x[members] @ centre), kind="stable")[:n_examples]]
        clusters.append(Cluster(c, members.tolist(), examples=central.tolist()))
    if texts is not None and n_keywords > 0 and clusters:
        words = ctfidf_keywords(texts, labels, n_keywords)
        for cl in clusters:
            cl.keywords = words.get(cl.id, [])
    return sorted(clusters, key=lambda cl: (-cl.size, cl.id))


# Words nobody would pick to name a cluster: reporting verbs and news agencies (news text),
# markup left by scraping (entities whose '&' was lost, tag and URL pieces), weekdays.
NOISE_WORDS = frozenset(
    {
        "said",
        "says",
        "say",
        "saying",
        "told",
        "tells",
        "tell",
        "according",
        "reported",
        "reports",
        "reuters",
        "ap",
        "afp",
        "upi",
        "quot",
        "amp",
        "lt",
        "gt",
        "nbsp",
        "apos",
        "hellip",
        "mdash",
        "ndash",
        "rsquo",
        "lsquo",
        "rdquo",
        "ldquo",
        "href",
        "http",
        "https",
        "www",
        "com",
        "html",
        "htm",
        "font",
        "face",
        "img",
        "src",
        "br",
        "px",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "today",
        "yesterday",
        "tomorrow",
    }
)
_TAG = re.compile(r"<[^>]{0,300}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_NUMERIC_ENTITY = re.compile(r"&?#(\d{1,7});")  # AG News writes &#39; as ' #39;'
_NAMED_ENTITY = re.compile(r"&?\b(?:quot|amp|lt|gt|nbsp|apos|hellip|mdash|ndash)\b;", re.I)


def clean_text(text: str) -> str:
    """Text for keywords: HTML entities decoded (also the broken ``#39;`` / ``quot;`` forms
    of scraped news), tags and URLs removed.

    >>> clean_text("Oil &lt;b&gt;prices&lt;/b&gt; rise, it #39;s said")
    "Oil prices rise, it 's said"
    """
    text = html.unescape(text)
    text = _NUMERIC_ENTITY.sub(lambda m: _char(int(m.group(1))), text)
    text = _NAMED_ENTITY.sub(" ", text)
    text = _TAG.sub(" ", html.unescape(text))  # twice-escaped markup, e.g. &amp;lt;b&amp;gt;
    return " ".join(_URL.sub(" ", text).split())


def _char(code: int) -> str:
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return " "


MAX_SHARE = 0.5  # a word in more than half of all texts (a product's name) names no cluster
MIN_TEXTS = 2  # a keyword is in at least this many of its cluster's texts (when it has them)


def ctfidf_keywords(texts: Sequence[str], labels: np.ndarray, n: int = 5) -> dict[int, list[str]]:
    """Class-based term weights against the whole collection: the words that are frequent in
    a cluster and rare elsewhere.

    For a cluster c and a word t, with p(t|c) the share of c's texts holding t and p(t) the
    share of all texts holding it, the weight is ``p(t|c) * log(p(t|c) / p(t))`` (the word's
    term of the divergence between the cluster and the collection; :func:`term_weights`). A
    word in more than half of all texts is left out, and so is a word in fewer than 2 of the
    cluster's texts; ties go to the word more texts of the cluster hold, then to the more
    common word, never to the alphabet. Texts are cleaned first (:func:`clean_text`), English
    stop words and :data:`NOISE_WORDS` left out. On AG News (4 clusters) 100% of the top-5
    keywords are among their class's 50 most distinctive words by a chi-square test, against
    85% for the c-TF-IDF of BERTopic used before (BENCHMARKS.md, "Cluster keywords").

    :return: cluster label -> its ``n`` best words.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    groups = members_by_label(labels)
    ids = list(groups)
    vectorizer = CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | NOISE_WORDS),
        token_pattern=r"(?u)\b[^\W\d_]{2,}\b",
        binary=True,
    )
    try:
        present = vectorizer.fit_transform([clean_text(t) for t in texts]).tocsr()  # (texts, vocab)
    except ValueError:  # nothing but stop words
        return {c: [] for c in ids}
    vocab = vectorizer.get_feature_names_out()
    df = np.asarray(present.sum(axis=0)).ravel()  # texts holding each word
    in_cluster = np.stack([np.asarray(present[groups[c]].sum(axis=0)).ravel() for c in ids])
    sizes = np.array([len(groups[c]) for c in ids])
    weights = term_weights(in_cluster, sizes, df, present.shape[0])
    out = {}
    for r, c in enumerate(ids):
        keep = (df <= MAX_SHARE * present.shape[0]) & (in_cluster[r] >= min(MIN_TEXTS, sizes[r]))
        w = np.where(keep, weights[r], 0.0)
        order = np.lexsort((-df, -in_cluster[r], -w))  # by weight, then cluster count, then df
        out[c] = _distinct([str(vocab[j]) for j in order if w[j] > 0], n)
    return out


def term_weights(in_cluster: np.ndarray, sizes: np.ndarray, df: np.ndarray, n: int) -> np.ndarray:
    """``p(t|c) * log(p(t|c) / p(t))`` for a (clusters, vocab) matrix of text counts.

    :param in_cluster: texts of each cluster holding each word. :param sizes: texts per
        cluster. :param df: texts of the collection holding each word. :param n: all texts.
    :return: (clusters, vocab) weights; 0 where a cluster has none of the word, negative where
        the cluster holds it less often than the collection does.
    """
    p_c = in_cluster / np.maximum(sizes, 1)[:, None]
    p = df / max(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = p_c * np.log(p_c / p[None, :])
    return np.where(in_cluster > 0, w, 0.0)


def _distinct(words: list[str], n: int) -> list[str]:
    """The first ``n`` words, a plural left out when its singular is already in (and back)."""
    kept: list[str] = []
    stems: set[str] = set()
    for w in words:
        stem = w[:-1] if w.endswith("s") and len(w) > 3 else w
        if stem in stems:
            continue
        stems.add(stem)
        kept.append(w)
        if len(kept) == n:
            break
    return kept
