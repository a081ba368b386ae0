"""Distil a static model from any sentence encoder, without training data.

1. Every regular token of the teacher's vocabulary goes through the teacher on its own
   (wrapped in the model's special tokens, pooled as the teacher pools): one vector per token.
2. PCA centres the token vectors and keeps the ``dims`` directions of largest variance.
3. Each row is scaled by a smooth-inverse-frequency weight ``a / (a + p(token))``: frequent
   tokens ("the", "##s") count little in the mean, rare and telling ones count much.
   ``p`` comes from a Zipf prior over the vocabulary's order (WordPiece and BPE vocabularies
   list frequent pieces first), or from token counts on the user's corpus when one is given.

Optionally (``fit_texts``), the model is then regressed onto the teacher's vectors of those
texts through a learned linear head that is folded into the rows
(:func:`sentvec.distill.tune.fit_to_teacher`): unlabelled text in, no labels needed.

Needs torch for the teacher (``sentvec[torch]``); the result loads without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer

from sentvec.backends.static.model import StaticModel
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.distill.tune import FitConfig
    from sentvec.encoder import Encoder

SKIP_TOKENS = re.compile(r"^\[unused\d+\]$|^<extra_id_\d+>$|^<unk_?\d*>$")


@dataclass
class DistillConfig:
    """How to distil (every field has a measured default, see BENCHMARKS.md)."""

    dims: int = 256  # PCA output size (capped at the teacher's width)
    sif: float = 3e-5  # a in a / (a + p): smaller favours rare tokens more (best on STSb dev)
    batch_size: int = 512  # tokens per teacher forward pass
    normalize: bool = True  # L2-normalise the sentence vectors


def distill(
    model: str | os.PathLike[str] | Encoder | None = None,
    config: DistillConfig | None = None,
    corpus: Iterable[str] | None = None,
    show_progress: bool = True,
    fit_texts: Sequence[str] | None = None,
    fit: FitConfig | None = None,
) -> StaticModel:
    """Make a static model from a sentence encoder.

    :param model: the teacher: an Encoder, or anything :func:`sentvec.load` takes
        (default all-MiniLM-L6-v2).
    :param config: dims, weighting and batch size.
    :param corpus: optional texts whose token counts replace the Zipf prior.
    :param show_progress: progress bar over the vocabulary.
    :param fit_texts: optional unlabelled texts: the teacher encodes them and the model is
        fitted to those vectors (:func:`sentvec.distill.tune.fit_to_teacher`).
    :param fit: epochs, learning rate and output size of that fit.
    :return: the static model (save it with ``.save(DIR)``).
    """
    from sentvec.encoder import Encoder

    cfg = config or DistillConfig()
    teacher = model if isinstance(model, Encoder) else Encoder.load(model)
    ids = regular_token_ids(teacher)
    vectors = token_vectors(teacher, ids, cfg.batch_size, show_progress)  # (n, Dt)
    reduced, explained = pca(vectors, cfg.dims)  # (n, dims)
    counts = None if corpus is None else token_counts(teacher, corpus)
    weights = sif_weights(ids, cfg.sif, counts)  # (n,)
    vocab = teacher.tokenizer.backend.get_vocab_size(with_added_tokens=True)
    table = np.zeros((vocab, reduced.shape[1]), dtype=np.float32)
    table[ids] = reduced * weights[:, None]
    info = {
        "teacher": teacher.name,
        "method": "vocabulary through the teacher, PCA, SIF weights",
        "pca_dims": int(reduced.shape[1]),
        "pca_explained_variance": round(float(explained), 4),
        "sif": cfg.sif,
        "weights_from": "corpus token counts" if counts is not None else "Zipf prior",
        "tokens": len(ids),
    }
    tokenizer = _plain_tokenizer(teacher)
    static = StaticModel(table, tokenizer, cfg.normalize, info)
    if fit_texts is None:
        return static
    from sentvec.distill.tune import fit_to_teacher

    texts = list(dict.fromkeys(t for t in fit_texts if t.strip()))
    targets = teacher.encode(texts, normalize=True, show_progress=show_progress)
    return fit_to_teacher(static, texts, targets, fit, show_progress).model


def regular_token_ids(teacher: Encoder) -> np.ndarray:
    """Ids of the vocabulary minus special and placeholder tokens (they get zero rows).

    :param teacher: the encoder.
    :return: sorted int64 ids.
    """
    tok = teacher.tokenizer.backend
    special = {int(i) for i, t in tok.get_added_tokens_decoder().items() if t.special}
    special |= {*teacher.tokenizer.prefix, *teacher.tokenizer.suffix, teacher.tokenizer.pad_id}
    vocab = tok.get_vocab(with_added_tokens=True)
    ids = [i for t, i in vocab.items() if i not in special and not SKIP_TOKENS.match(t)]
    if not ids:
        raise SentvecError(f"the tokenizer of {teacher.name!r} has no regular tokens to distil")
    return np.asarray(sorted(ids), dtype=np.int64)


def token_vectors(
    teacher: Encoder, ids: np.ndarray, batch_size: int = 512, show_progress: bool = True
) -> np.ndarray:
    """Each token alone through the teacher: ``[prefix] token [suffix]``, pooled (and
    normalised) as the teacher does.

    :param teacher: the encoder.
    :param ids: token ids.
    :param batch_size: tokens per forward pass.
    :param show_progress: progress bar.
    :return: float32 (len(ids), teacher dim).
    """
    from tqdm.auto import tqdm

    prefix = np.asarray(teacher.tokenizer.prefix, dtype=np.int64)
    suffix = np.asarray(teacher.tokenizer.suffix, dtype=np.int64)
    out = np.empty((len(ids), teacher.dim), dtype=np.float32)
    steps = range(0, len(ids), batch_size)
    for start in tqdm(steps, desc="distil", unit="batch", disable=not show_progress):
        chunk = ids[start : start + batch_size]
        n = len(chunk)
        rows = np.concatenate(
            [np.tile(prefix, (n, 1)), chunk[:, None], np.tile(suffix, (n, 1))], axis=1
        )  # (n, n_special + 1)
        out[start : start + n] = teacher.backend.embed(rows, np.ones_like(rows), 0 * rows)
    return out


def pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, float]:
    """Centre the rows and project them on the ``dims`` leading principal directions.

    :param x: (n, d) rows.
    :param dims: output size (capped at d).
    :return: (n, min(dims, d)) float32 and the share of variance kept.
    """
    x64 = x.astype(np.float64)
    centred = x64 - x64.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
    order = np.argsort(values)[::-1][: min(dims, x.shape[1])]
    kept = float(values[order].sum() / max(values.sum(), 1e-12))
    return (centred @ vectors[:, order]).astype(np.float32), kept


def token_counts(teacher: Encoder, corpus: Iterable[str], chunk: int = 10_000) -> np.ndarray:
    """How often each token id occurs in the corpus (no special tokens).

    :param teacher: the encoder whose tokenizer counts.
    :param corpus: texts.
    :param chunk: texts tokenized at a time.
    :return: int64 (vocab,) counts.
    """
    tok = teacher.tokenizer.backend
    counts = np.zeros(tok.get_vocab_size(with_added_tokens=True), dtype=np.int64)
    batch: list[str] = []
    for text in corpus:
        batch.append(text)
        if len(batch) >= chunk:
            _add_counts(tok, batch, counts)
            batch = []
    if batch:
        _add_counts(tok, batch, counts)
    if counts.sum() == 0:
        raise SentvecError("the corpus has no tokens. Fix: pass a file with one text per line.")
    return counts


def _add_counts(tok: object, texts: list[str], counts: np.ndarray) -> None:
    for enc in tok.encode_batch(texts, add_special_tokens=False):  # type: ignore[attr-defined]
        np.add.at(counts, np.asarray(enc.ids, dtype=np.int64), 1)


def sif_weights(ids: np.ndarray, a: float, counts: np.ndarray | None = None) -> np.ndarray:
    """Smooth inverse frequency ``a / (a + p)`` of each token.

    :param ids: the token ids (sorted: their order is the Zipf rank without counts).
    :param a: the SIF constant.
    :param counts: token counts on a corpus (indexed by id), or None for the Zipf prior
        ``p(rank) ~ 1 / (rank + 1)``.
    :return: float32 (len(ids),) weights in (0, 1).
    """
    if counts is None:
        p = 1.0 / np.arange(1, len(ids) + 1, dtype=np.float64)
    else:
        p = counts[ids].astype(np.float64) + 0.5  # unseen tokens: rare, so weighed high
    p /= p.sum()
    return (a / (a + p)).astype(np.float32)


def _plain_tokenizer(teacher: Encoder) -> Tokenizer:
    """A copy of the teacher's tokenizer; lower-casing moved into it if the model asks."""
    from tokenizers import normalizers

    tok = Tokenizer.from_str(teacher.tokenizer.backend.to_str())
    if teacher.spec.do_lower_case:
        current = tok.normalizer
        steps = [normalizers.Lowercase()] if current is None else [current, normalizers.Lowercase()]
        tok.normalizer = normalizers.Sequence(steps)
    tok.no_padding()
    tok.no_truncation()
    return tok
