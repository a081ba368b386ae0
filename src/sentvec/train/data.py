"""Training data: examples read from CSV/TSV/JSONL/text files, Python lists or Hugging Face
``datasets``; batch samplers (one that keeps duplicate texts out of a batch); mixing datasets;
and collation into token tensors.

Kinds of data and the columns read by default (rename with ``columns``):

==================== ================================= ===================================
kind                 columns                           label
==================== ================================= ===================================
scored_pairs         sentence1, sentence2, score       float score / ``score_scale``
labelled_pairs       sentence1, sentence2, label       int class (or ``label_map``)
pairs                anchor, positive                  none
triplets             anchor, positive, negative...     none (every ``negative*`` column)
labelled_sentences   text, label                       int class (or ``label_map``)
sentences            text                              none (.txt: one sentence per line)
==================== ================================= ===================================
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sentvec.errors import InvalidChoiceError, SentvecError
from sentvec.io import InputFileError, check_input_file, detect_format, iter_rows


class ExampleKind(str, Enum):
    """The shape of one training example."""

    SCORED_PAIRS = "scored_pairs"
    LABELLED_PAIRS = "labelled_pairs"
    PAIRS = "pairs"
    TRIPLETS = "triplets"
    LABELLED_SENTENCES = "labelled_sentences"
    SENTENCES = "sentences"


TEXT_ROLES: dict[ExampleKind, tuple[str, ...]] = {
    ExampleKind.SCORED_PAIRS: ("sentence1", "sentence2"),
    ExampleKind.LABELLED_PAIRS: ("sentence1", "sentence2"),
    ExampleKind.PAIRS: ("anchor", "positive"),
    ExampleKind.TRIPLETS: ("anchor", "positive", "negative"),
    ExampleKind.LABELLED_SENTENCES: ("text",),
    ExampleKind.SENTENCES: ("text",),
}
LABEL_ROLE: dict[ExampleKind, str | None] = {
    ExampleKind.SCORED_PAIRS: "score",
    ExampleKind.LABELLED_PAIRS: "label",
    ExampleKind.PAIRS: None,
    ExampleKind.TRIPLETS: None,
    ExampleKind.LABELLED_SENTENCES: "label",
    ExampleKind.SENTENCES: None,
}


@dataclass
class Example:
    """One training example: its texts (one per column) and an optional label."""

    texts: tuple[str, ...]
    label: float | int | list[float] | None = None


@dataclass
class TrainData:
    """Examples of one kind, with where they came from and how many rows were skipped."""

    kind: ExampleKind
    examples: list[Example]
    name: str = "data"
    skipped: int = 0
    label_map: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.examples)


def parse_kind(kind: str | ExampleKind) -> ExampleKind:
    """:param kind: a kind name. :return: the ExampleKind. :raises InvalidChoiceError:"""
    try:
        return ExampleKind(kind)
    except ValueError:
        raise InvalidChoiceError("data kind", kind, [k.value for k in ExampleKind]) from None


class _BadRow(Exception):
    """A row that cannot be turned into an example (message: the problem)."""


def read_examples(
    path: str | Path,
    kind: str | ExampleKind,
    *,
    columns: Mapping[str, str | int] | None = None,
    header: bool = True,
    score_scale: float = 1.0,
    label_map: Mapping[str, int] | None = None,
    skip_invalid: bool = False,
    fmt: str | None = None,
) -> TrainData:
    """Read training examples from a CSV, TSV, JSONL or text file.

    :param path: the file (.csv, .tsv, .jsonl, or .txt for ``sentences``).
    :param kind: one of :class:`ExampleKind` (see the module docstring for its columns).
    :param columns: role -> column name (or 0-based index for files without a header),
        e.g. ``{"sentence1": 5, "sentence2": 6, "score": 4}`` for the STS benchmark.
    :param header: False for CSV/TSV files without a header row (then ``columns`` gives indices).
    :param score_scale: scores are divided by this (5.0 maps STS scores to [0, 1]).
    :param label_map: class name -> integer, for text labels (``{"entailment": 0, ...}``).
    :param skip_invalid: skip malformed rows and count them in ``TrainData.skipped`` instead of
        raising.
    :param fmt: force ``csv``, ``tsv``, ``jsonl`` or ``txt``.
    :return: the examples.
    :raises InputFileError: naming file, line and problem, for the first malformed row.
    """
    kind = parse_kind(kind)
    path = check_input_file(path, "training file")
    fmt = detect_format(path, fmt, default="tsv")
    maker = _row_parser(kind, columns, score_scale, label_map)
    data = TrainData(kind, [], path.name, 0, dict(label_map or {}))
    for line, row in _rows(path, fmt, header):
        try:
            data.examples.append(maker(row))
        except _BadRow as e:
            if not skip_invalid:
                raise InputFileError(
                    path,
                    line,
                    f"{e}. Fix: correct the row, or pass "
                    "skip_invalid=True (config: skip_invalid = true) to skip it",
                ) from None
            data.skipped += 1
    if not data.examples:
        raise InputFileError(path, 0, f"no valid {kind.value} examples ({data.skipped} skipped)")
    return data


def _rows(path: Path, fmt: str, header: bool) -> Iterator[tuple[int, Any]]:
    """(line number, row) pairs: dicts for headed CSV/TSV and JSONL, lists otherwise."""
    return iter_rows(path, fmt, header)


def _row_parser(
    kind: ExampleKind,
    columns: Mapping[str, str | int] | None,
    score_scale: float,
    label_map: Mapping[str, int] | None,
) -> Callable[[Any], Example]:
    roles = dict(columns or {})
    text_roles = TEXT_ROLES[kind]
    label_role = LABEL_ROLE[kind]

    def get(row: Any, role: str, default: int) -> Any:
        key = roles.get(role, role if isinstance(row, dict) else default)
        try:
            return row[key]
        except (KeyError, IndexError, TypeError):
            have = sorted(row) if isinstance(row, dict) else f"{len(row)} columns"
            raise _BadRow(f"no column {key!r} for {role} (row has {have})") from None

    def negatives(row: Any) -> list[Any]:
        if isinstance(row, dict) and "negative" not in roles:
            keys = [k for k in row if str(k).startswith("negative")]
            if keys:
                return [row[k] for k in keys]
        return [get(row, "negative", 2)]

    def parse(row: Any) -> Example:
        if not isinstance(row, (dict, list)):
            raise _BadRow(f"expected an object or a list of columns, got {type(row).__name__}")
        texts = [get(row, r, i) for i, r in enumerate(text_roles) if r != "negative"]
        if kind is ExampleKind.TRIPLETS:
            texts += negatives(row)
        for role, t in zip(text_roles, texts, strict=False):
            if not isinstance(t, str) or not t.strip():
                raise _BadRow(f"{role} is {'empty' if isinstance(t, str) else type(t).__name__}")
        label: float | int | None = None
        if label_role is not None:
            raw = get(row, label_role, len(text_roles))
            label = _label(raw, kind, score_scale, label_map)
        return Example(tuple(texts), label)

    return parse


def _label(
    raw: Any, kind: ExampleKind, score_scale: float, label_map: Mapping[str, int] | None
) -> float | int:
    if kind is ExampleKind.SCORED_PAIRS:
        try:
            return float(raw) / score_scale
        except (TypeError, ValueError):
            raise _BadRow(f"score {raw!r} is not a number") from None
    if label_map is not None and str(raw) in label_map:
        return int(label_map[str(raw)])
    try:
        return int(raw)
    except (TypeError, ValueError):
        known = f" (label_map has {sorted(label_map)})" if label_map else ""
        raise _BadRow(f"label {raw!r} is not an integer class{known}; pass label_map") from None


def from_records(
    rows: Sequence[Any],
    kind: str | ExampleKind,
    *,
    columns: Mapping[str, str | int] | None = None,
    score_scale: float = 1.0,
    label_map: Mapping[str, int] | None = None,
    name: str = "list",
) -> TrainData:
    """Examples from in-memory rows: tuples/lists in column order (texts first, then the label)
    or dicts keyed by column name.

    :param rows: the rows, e.g. ``[("A man eats.", "Someone eats.", 4.2), ...]``.
    :param kind: see :class:`ExampleKind`. The other parameters are as :func:`read_examples`.
    :return: the examples.
    :raises SentvecError: naming the row index and problem.
    """
    kind = parse_kind(kind)
    maker = _row_parser(kind, columns, score_scale, label_map)
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(maker(list(row) if isinstance(row, tuple) else row))
        except _BadRow as e:
            raise SentvecError(f"{name}[{i}]: {e}. Fix: correct that row.") from None
    return TrainData(kind, out, name, 0, dict(label_map or {}))


def from_hf_dataset(
    dataset: Any,
    kind: str | ExampleKind,
    *,
    columns: Mapping[str, str] | None = None,
    score_scale: float = 1.0,
    label_map: Mapping[str, int] | None = None,
) -> TrainData:
    """Examples from a Hugging Face ``datasets.Dataset`` (rows are dicts keyed by column).

    :param dataset: the dataset (needs the ``datasets`` package, ``pip install datasets``).
    :param kind: see :class:`ExampleKind`. The other parameters are as :func:`read_examples`.
    :return: the examples.
    """
    name = str(getattr(getattr(dataset, "info", None), "dataset_name", None) or "hf-dataset")
    return from_records(
        list(dataset),
        kind,
        columns=columns,
        score_scale=score_scale,
        label_map=label_map,
        name=name,
    )


# -- batches -----------------------------------------------------------------------------------


def text_hash(text: str) -> int:
    """A stable 63-bit id of a text (same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf8"), digest_size=8).digest(), "big") >> 1


@dataclass
class Batch:
    """A collated batch: every text tokenized in one padded block, column after column.

    ``features`` holds ``input_ids``/``attention_mask`` (and ``token_type_ids``), each
    (n_columns * size, T); rows ``c * size + i`` are column c of example i.
    """

    features: dict[str, Tensor]
    size: int
    n_columns: int
    labels: Tensor | None
    hashes: Tensor  # (n_columns, size) int64 text ids, for duplicate masking

    def to(self, device: torch.device | str) -> Batch:
        """:param device: torch device. :return: the batch on that device."""
        feats = {k: v.to(device) for k, v in self.features.items()}
        labels = None if self.labels is None else self.labels.to(device)
        return Batch(feats, self.size, self.n_columns, labels, self.hashes.to(device))


Tokenize = Callable[[Sequence[str]], Mapping[str, np.ndarray]]


def collate(examples: Sequence[Example], tokenize: Tokenize, token_types: bool = True) -> Batch:
    """Tokenize a list of examples into a :class:`Batch`.

    :param examples: examples with the same number of texts.
    :param tokenize: ``Encoder.tokenize`` (texts -> int64 arrays).
    :param token_types: keep ``token_type_ids`` (False for models without them).
    :return: the batch.
    """
    n_cols = len(examples[0].texts)
    if any(len(e.texts) != n_cols for e in examples):
        raise SentvecError(
            "examples in one batch have different numbers of texts. Fix: give "
            "every triplet row the same number of negatives."
        )
    columns = [[e.texts[c] for e in examples] for c in range(n_cols)]
    flat = [t for col in columns for t in col]
    feats = {
        k: torch.from_numpy(np.asarray(v))
        for k, v in tokenize(flat).items()
        if token_types or k != "token_type_ids"
    }
    labels = None
    if examples[0].label is not None:
        labels = torch.tensor([e.label for e in examples])
        if labels.is_floating_point():
            labels = labels.float()
    hashes = torch.tensor([[text_hash(t) for t in col] for col in columns], dtype=torch.int64)
    return Batch(feats, len(examples), n_cols, labels, hashes)


def shuffled_batches(
    n: int, batch_size: int, seed: int, drop_last: bool = False
) -> list[list[int]]:
    """Indices 0..n-1 shuffled with ``seed`` and cut into batches.

    :param n: number of examples. :param batch_size: examples per batch.
    :param seed: shuffle seed (use a different one each epoch).
    :param drop_last: drop a last, smaller batch.
    :return: the batches.
    """
    order = list(range(n))
    random.Random(seed).shuffle(order)
    out = [order[s : s + batch_size] for s in range(0, n, batch_size)]
    if drop_last and out and len(out[-1]) < batch_size:
        out.pop()
    return out


class NoDuplicatesBatchSampler:
    """Batches in which no text occurs twice (for in-batch-negative losses, where a duplicate
    would be a false negative). Examples that would clash wait for a later batch.

    :param data: the examples. :param batch_size: examples per batch.
    :param drop_last: drop a last, smaller batch (True keeps every batch the same size, which
        multi-process training needs).
    """

    def __init__(self, data: TrainData, batch_size: int, drop_last: bool = True) -> None:
        self.data, self.batch_size, self.drop_last = data, batch_size, drop_last

    def batches(self, seed: int) -> list[list[int]]:
        """:param seed: shuffle seed for this epoch. :return: the batches of indices."""
        remaining = list(range(len(self.data)))
        random.Random(seed).shuffle(remaining)
        out: list[list[int]] = []
        while remaining:
            batch: list[int] = []
            seen: set[str] = set()
            later: list[int] = []
            for i in remaining:
                texts = self.data.examples[i].texts
                if len(batch) < self.batch_size and not seen.intersection(texts):
                    batch.append(i)
                    seen.update(texts)
                else:
                    later.append(i)
            out.append(batch)
            remaining = later
        if self.drop_last and out and len(out[-1]) < self.batch_size:
            out.pop()
        return out


def mix_datasets(
    per_dataset: Sequence[list[list[int]]], strategy: str = "proportional", seed: int = 0
) -> list[tuple[int, list[int]]]:
    """Interleave the batches of several datasets for one epoch (each batch from one dataset).

    :param per_dataset: for each dataset, its batches of indices.
    :param strategy: ``proportional`` (every batch of every dataset, in a seeded random order)
        or ``round_robin`` (one batch from each in turn, until the smallest runs out).
    :param seed: order seed.
    :return: (dataset index, batch) pairs.
    """
    if strategy == "round_robin":
        rounds = min(len(b) for b in per_dataset)
        return [(d, per_dataset[d][r]) for r in range(rounds) for d in range(len(per_dataset))]
    if strategy != "proportional":
        raise InvalidChoiceError("mixing strategy", strategy, ["proportional", "round_robin"])
    out = [(d, b) for d, batches in enumerate(per_dataset) for b in batches]
    random.Random(seed).shuffle(out)
    return out
