"""Pair tokenization: query and document wrapped in the model's pair template
(``[CLS] q [SEP] d [SEP]``, ``<s> q </s></s> d </s>``), learnt once from the tokenizer, with
token types, and a truncation rule that cuts the document before the query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sentvec.batching import pad
from sentvec.tokenization import TextTokenizer

Pair = tuple[str, str]


class PairTokenizer:
    """Token ids of (query, document) pairs as the model's tokenizer would join them.

    The pair template is learnt by post-processing two probe words, so any tokenizer with a
    pair post-processor (BERT, RoBERTa, XLM-R, DeBERTa, ELECTRA) works without transformers.
    """

    def __init__(self, tokenizer: TextTokenizer) -> None:
        self.text = tokenizer
        self.pad_id = tokenizer.pad_id
        backend = tokenizer.backend
        a = backend.encode("query", add_special_tokens=False)
        b = backend.encode("document", add_special_tokens=False)
        full = backend.post_process(a, b)
        ids, types = list(full.ids), list(full.type_ids)
        pa = ids.index(a.ids[0])
        pb = pa + len(a.ids) + ids[pa + len(a.ids) :].index(b.ids[0])
        end_a, end_b = pa + len(a.ids), pb + len(b.ids)
        self.prefix, self.middle, self.suffix = ids[:pa], ids[end_a:pb], ids[end_b:]
        self.prefix_types, self.middle_types = types[:pa], types[end_a:pb]
        self.suffix_types = types[end_b:]
        self.query_type, self.document_type = types[pa], types[pb]
        self.n_special = len(self.prefix) + len(self.middle) + len(self.suffix)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Ids of each text, without special tokens and without truncation."""
        return self.text.content_ids(list(texts))

    def fit(self, q: list[int], d: list[int], limit: int) -> tuple[list[int], list[int]]:
        """Cut a pair to ``limit`` tokens in all: the document first; the query only when it
        alone would take more than half of the room (then it keeps half).

        :param q: query content ids. :param d: document content ids. :param limit: most tokens.
        :return: the kept query and document ids.
        """
        room = max(limit - self.n_special, 0)
        if len(q) + len(d) <= room:
            return q, d
        keep_q = min(len(q), max(room - len(d), room // 2))
        return q[:keep_q], d[: max(room - keep_q, 0)]

    def join(self, q: list[int], d: list[int]) -> tuple[list[int], list[int]]:
        """Wrap query and document ids in the template. :return: (ids, token types)."""
        ids = [*self.prefix, *q, *self.middle, *d, *self.suffix]
        types = [
            *self.prefix_types,
            *[self.query_type] * len(q),
            *self.middle_types,
            *[self.document_type] * len(d),
            *self.suffix_types,
        ]
        return ids, types

    def encode(self, pairs: Sequence[Pair], limit: int) -> tuple[list[list[int]], list[list[int]]]:
        """Ids and token types of each pair, each at most ``limit`` tokens, input order."""
        queries = self.content_ids([p[0] for p in pairs])
        docs = self.content_ids([p[1] for p in pairs])
        ids, types = [], []
        for q, d in zip(queries, docs, strict=True):
            i, t = self.join(*self.fit(q, d, limit))
            ids.append(i)
            types.append(t)
        return ids, types

    def features(self, ids: list[list[int]], types: list[list[int]]) -> dict[str, np.ndarray]:
        """Right-padded int64 (B, T) ``input_ids``, ``attention_mask``, ``token_type_ids``."""
        return {
            "input_ids": pad(ids, self.pad_id),
            "attention_mask": pad([[1] * len(x) for x in ids], 0),
            "token_type_ids": pad(types, 0),
        }


def check_pairs(pairs: object) -> list[Pair]:
    """Pairs as a list of (str, str); a single pair counts as a list of one.

    :raises SentvecError: naming the first item that is not a pair of strings.
    """
    from sentvec.errors import SentvecError

    if (
        isinstance(pairs, (tuple, list))
        and len(pairs) == 2
        and all(isinstance(x, str) for x in pairs)
    ):
        return [(pairs[0], pairs[1])]
    if pairs is None or isinstance(pairs, (str, bytes, dict)):
        raise SentvecError(
            f"expected a list of (query, document) pairs, got {type(pairs).__name__}. "
            "Fix: pass e.g. [('how to reset?', 'Open settings ...')]."
        )
    out: list[Pair] = []
    items: Any = pairs
    for i, p in enumerate(items):
        if not (
            isinstance(p, (tuple, list)) and len(p) == 2 and all(isinstance(x, str) for x in p)
        ):
            raise SentvecError(
                f"pairs[{i}] is {p!r:.60}, not a (query, document) pair of strings. "
                "Fix: pass two strings per pair."
            )
        out.append((p[0], p[1]))
    return out


__all__ = ["Pair", "PairTokenizer", "check_pairs"]
