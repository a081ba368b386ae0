"""Augmented SBERT (Thakur et al., 2021): a cross-encoder teaches a bi-encoder.

With few gold pairs, a cross-encoder trained on them labels many more pairs (silver), and the
bi-encoder trains on gold + silver. Silver pairs are sampled as the paper does: for each
sentence, its nearest neighbours by BM25 (shared words) and by the bi-encoder (shared meaning),
so that the silver set holds similar pairs, not only random (dissimilar) ones.

>>> data = read_examples("stsb-1k.csv", "scored_pairs", score_scale=5.0)
>>> cross = train_cross(data)                     # or a cross-encoder folder
>>> augment_bi_encoder(data, cross, "stsb-augmented")
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.cross.model import CrossEncoder
    from sentvec.encoder import Encoder
    from sentvec.train.data import TrainData

_WORD = re.compile(r"\w+")


def bm25_neighbours(
    texts: Sequence[str], k: int, k1: float = 1.5, b: float = 0.75, chunk: int = 512
) -> list[list[int]]:
    """The ``k`` texts that score highest by BM25 with each text as the query (itself left
    out; texts sharing no word are never neighbours).

    :param texts: the corpus. :param k: neighbours per text.
    :return: for each text, the indices of its neighbours, best first.
    """
    from scipy import sparse

    docs = [_WORD.findall(t.lower()) for t in texts]
    vocab: dict[str, int] = {}
    rows, cols, tf = [], [], []
    for i, words in enumerate(docs):
        for w, n in Counter(words).items():
            rows.append(i)
            cols.append(vocab.setdefault(w, len(vocab)))
            tf.append(n)
    n_docs = len(docs)
    shape = (n_docs, max(len(vocab), 1))
    counts = sparse.csr_matrix((np.asarray(tf, float), (rows, cols)), shape=shape)
    df = np.bincount(np.asarray(cols, dtype=np.int64), minlength=shape[1])
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))  # (V,)
    lengths = np.array([len(d) for d in docs], dtype=float)
    norm = k1 * (1 - b + b * lengths / max(lengths.mean(), 1e-9))  # (N,)
    weights = counts.tocoo()
    data = weights.data * (k1 + 1) / (weights.data + norm[weights.row]) * idf[weights.col]
    w = sparse.csr_matrix((data, (weights.row, weights.col)), shape=shape)  # (N, V)
    queries = (counts > 0).astype(float)  # (N, V): each word of the query once
    out: list[list[int]] = []
    for start in range(0, n_docs, chunk):
        scores = (queries[start : start + chunk] @ w.T).toarray()  # (c, N)
        for r, row in enumerate(scores):
            row[start + r] = -np.inf
            top = np.argsort(-row, kind="stable")[:k]
            out.append([int(j) for j in top if row[j] > 0])
    return out


def vector_neighbours(encoder: Encoder, texts: Sequence[str], k: int) -> list[list[int]]:
    """The ``k`` texts closest to each text by the bi-encoder (itself left out)."""
    from sentvec.similarity import top_k

    vectors = encoder.encode(list(texts), normalize=True)
    _, idx = top_k(vectors, vectors, k=min(k + 1, len(texts)))
    return [[int(j) for j in row if j != i][:k] for i, row in enumerate(idx)]


def sample_pairs(
    texts: Sequence[str],
    encoder: Encoder | None,
    per_sentence: int = 3,
    exclude: set[tuple[str, str]] | None = None,
) -> list[tuple[str, str]]:
    """Unlabelled pairs: each text with its BM25 and bi-encoder neighbours, each unordered
    pair once, without pairs in ``exclude`` (e.g. the gold pairs) or pairs of equal texts.

    :param texts: distinct sentences. :param encoder: the bi-encoder (None: BM25 only).
    :param per_sentence: neighbours per text and sampler.
    :return: the pairs, in a deterministic order.
    """
    texts = list(dict.fromkeys(texts))
    lists = [bm25_neighbours(texts, per_sentence)]
    if encoder is not None:
        lists.append(vector_neighbours(encoder, texts, per_sentence))
    seen = {tuple(sorted(p)) for p in (exclude or set())}
    out = []
    for neighbours in lists:
        for i, js in enumerate(neighbours):
            for j in js:
                key = tuple(sorted((texts[i], texts[j])))
                if key[0] != key[1] and key not in seen:
                    seen.add(key)
                    out.append((texts[i], texts[j]))
    return out


def train_cross(
    data: TrainData,
    model: str | None = None,
    *,
    output_dir: str | Path = "runs/cross",
    epochs: int = 4,
    batch_size: int = 16,
    lr: float = 5e-5,
    max_seq_length: int | None = 128,
    seed: int = 42,
    show_progress: bool = False,
) -> CrossEncoder:
    """Train a one-label cross-encoder on scored pairs (scores in [0, 1]) with binary
    cross-entropy: the Augmented SBERT teacher, or an STS cross-encoder.

    The defaults suit the few gold pairs of Augmented SBERT: on 1,000 STSb train pairs a new
    head trained 1 epoch at 2e-5 reached 26.6 STSb test Spearman, 4 epochs at 2e-5 75.3 and
    4 epochs at 5e-5 78.3 (BENCHMARKS.md, "Cross-encoders").

    :param data: scored pairs. :param model: base model (None: the packaged MiniLM, new head).
    :return: the trained cross-encoder.
    """
    from sentvec.cross.training import BinaryCrossEntropyLoss, load_for_training
    from sentvec.train import Trainer, TrainingArgs

    cross = load_for_training(model)
    if max_seq_length:
        cross.spec.max_seq_length = max_seq_length
    args = TrainingArgs(
        output_dir=str(output_dir),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        resume=False,
        show_progress=show_progress,
    )
    Trainer(cross, BinaryCrossEntropyLoss(), data, args).train()  # type: ignore[arg-type]
    return cross


def augment_bi_encoder(
    gold: TrainData,
    cross: str | CrossEncoder,
    out: str | Path,
    *,
    model: str | None = None,
    corpus: Sequence[str] | None = None,
    per_sentence: int = 3,
    epochs: int = 1,
    batch_size: int = 16,
    lr: float = 2e-5,
    seed: int = 42,
    max_seq_length: int | None = None,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Label sampled pairs with the cross-encoder and train the bi-encoder on gold + silver
    with the cosine-similarity loss; save it to ``out``.

    :param gold: scored pairs, scores in [0, 1] (STS scores / 5).
    :param cross: the cross-encoder (trained on the gold pairs) or its folder.
    :param out: folder for the trained bi-encoder.
    :param model: bi-encoder to train (None: the packaged all-MiniLM-L6-v2).
    :param corpus: unlabelled sentences to pair (default: the gold sentences).
    :param per_sentence: neighbours per sentence and sampler (BM25, bi-encoder).
    :param max_seq_length: the bi-encoder's longest input while training (None: its own).
    :return: ``gold``, ``silver`` (pair counts) and ``model`` (the saved folder).
    """
    from sentvec.cross import load_cross
    from sentvec.encoder import load
    from sentvec.train import CosineSimilarityLoss, Trainer, TrainingArgs
    from sentvec.train.data import Example, TrainData

    if gold.kind.value != "scored_pairs":
        raise SentvecError(f"augment needs scored pairs (gold), got {gold.kind.value}.")
    teacher = load_cross(cross) if isinstance(cross, (str, Path)) else cross
    encoder = load(model, max_seq_length=max_seq_length)
    texts = list(corpus) if corpus is not None else [t for e in gold.examples for t in e.texts]
    gold_pairs = {(e.texts[0], e.texts[1]) for e in gold.examples}
    pairs = sample_pairs(texts, encoder, per_sentence, gold_pairs)
    silver = teacher.predict(pairs, batch_size=64) if pairs else np.zeros(0)
    examples = list(gold.examples) + [
        Example((a, b), float(s)) for (a, b), s in zip(pairs, silver, strict=True)
    ]
    data = TrainData(gold.kind, examples, f"{gold.name}+silver")
    args = TrainingArgs(
        output_dir=str(Path(out).with_name(Path(out).name + ".run")),
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        resume=False,
        show_progress=show_progress,
    )
    trainer = Trainer(encoder, CosineSimilarityLoss(), data, args)
    trainer.train()
    folder = trainer.save(out)
    return {"gold": len(gold.examples), "silver": len(pairs), "model": str(folder)}


def read_gold(path: Path, columns: dict[str, Any], header: bool, score_scale: float) -> TrainData:
    """Scored gold pairs from a file (see :func:`sentvec.train.read_examples`)."""
    from sentvec.train.data import read_examples

    return read_examples(
        path, "scored_pairs", columns=columns, header=header, score_scale=score_scale
    )


__all__ = [
    "augment_bi_encoder",
    "bm25_neighbours",
    "read_gold",
    "sample_pairs",
    "train_cross",
    "vector_neighbours",
]
