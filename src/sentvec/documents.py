"""Documents of any length as passages, and the sentence in a passage that answers a query.

A help-centre article runs to hundreds or thousands of words; a model reads at most
``max_seq_length`` tokens (256 for all-MiniLM-L6-v2) and cuts the rest. So a document is
stored as passages: windows measured in the model's own tokens that break at paragraph and
sentence boundaries (a sentence is cut only when it alone is longer than a window), with
overlap between windows that split a paragraph. The document's title goes into every
passage's embedded text, so a passage about "the recovery codes" still knows it belongs to
"Two-factor authentication".

The windows come from semantic-text-splitter (its ``TextSplitter`` counts tokens with the
model's own ``tokenizers`` tokenizer and gives character offsets); sentences come from
sentencex. Both were picked by measurement (BENCHMARKS.md, "Documents and passages").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.io import Record
    from sentvec.tokenization import TextTokenizer

TITLE_FIELD = "title"  # the metadata field read as the title when present
URL_FIELD = "url"
# Passage length (content tokens, title included) for a model reading ``max_seq_length`` tokens:
# half of it, at most 256 (BENCHMARKS.md: 128 of MiniLM's 256 gave the best document nDCG@10)
CHUNK_SHARE = 0.5
MAX_DEFAULT_TOKENS = 256
MIN_TOKENS = 16
OVERLAP_SHARE = 0.25  # of the passage length, whole sentences repeated inside a paragraph
TITLE_SHARE = 0.25  # a title takes at most this share of a passage's tokens (cut beyond)
PASSAGE_SEP = "#"  # passage key = document id + '#' + passage number


def default_chunk_tokens(max_seq_length: int, n_special: int = 2) -> int:
    """The default passage length in content tokens for a model's ``max_seq_length``.

    :param max_seq_length: the model's limit, special tokens included.
    :param n_special: special tokens the model adds to each input.
    :return: tokens per passage, title included.
    """
    budget = max_seq_length - n_special
    return max(min(MIN_TOKENS, budget), min(int(max_seq_length * CHUNK_SHARE), MAX_DEFAULT_TOKENS))


def default_overlap(tokens: int) -> int:
    """The default overlap for passages of ``tokens`` tokens."""
    return int(tokens * OVERLAP_SHARE)


@dataclass(frozen=True)
class Chunking:
    """How documents become passages.

    :param enabled: False stores each document as one passage (cut at the model's limit).
    :param tokens: content tokens per passage, title included (None: from the model's
        ``max_seq_length``, see :func:`default_chunk_tokens`).
    :param overlap: most tokens of whole sentences repeated between two passages of one
        paragraph (None: a quarter of ``tokens``).
    :param title_field: the metadata field holding the title (``title`` by default; a
        document without it has no title).
    """

    enabled: bool = True
    tokens: int | None = None
    overlap: int | None = None
    title_field: str | None = TITLE_FIELD

    def settings(self, max_seq_length: int, n_special: int) -> dict[str, Any]:
        """The resolved settings for a model (what a collection records).

        :raises SentvecError: a passage length over the model's limit, or an overlap as long
            as the passage.
        """
        budget = max_seq_length - n_special
        tokens = (
            self.tokens
            if self.tokens is not None
            else default_chunk_tokens(max_seq_length, n_special)
        )
        if self.enabled and not MIN_TOKENS <= tokens <= budget:
            raise SentvecError(
                f"chunk tokens {tokens} is outside {MIN_TOKENS}..{budget} (the model reads "
                f"{max_seq_length} tokens, {n_special} of them special). Fix: pass "
                f"--chunk-tokens between {MIN_TOKENS} and {budget}."
            )
        overlap = self.overlap if self.overlap is not None else default_overlap(tokens)
        if self.enabled and not 0 <= overlap < tokens:
            raise SentvecError(
                f"overlap {overlap} must be at least 0 and below the passage length {tokens}. "
                f"Fix: pass --overlap between 0 and {tokens - 1}."
            )
        return {
            "enabled": self.enabled,
            "tokens": int(tokens),
            "overlap": int(overlap),
            "title_field": self.title_field,
        }

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Chunking:
        """The chunking a collection recorded (see :meth:`settings`)."""
        return cls(
            enabled=bool(settings.get("enabled", True)),
            tokens=settings.get("tokens"),
            overlap=settings.get("overlap"),
            title_field=settings.get("title_field", TITLE_FIELD),
        )


@dataclass
class Passage:
    """One window of a document: what is embedded and stored.

    ``start``/``end`` are character offsets of ``text`` in the document's text; the
    embedded text is the title, a newline and ``text``. The first passage of a document
    also carries the whole ``document`` text (to show the whole article).
    """

    doc_id: str
    index: int
    text: str
    start: int
    end: int
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    document: str | None = None
    embed_title: str = ""

    @property
    def id(self) -> str:
        """The passage's key: document id, ``#``, passage number."""
        return passage_id(self.doc_id, self.index)

    @property
    def embed_text(self) -> str:
        """The text the model embeds: title (cut to its share of the tokens) and passage."""
        return f"{self.embed_title}\n{self.text}" if self.embed_title else self.text


def passage_id(doc_id: str, index: int) -> str:
    """The key of a document's passage number ``index``."""
    return f"{doc_id}{PASSAGE_SEP}{index}"


def _splitter_class() -> Any:
    from semantic_text_splitter import TextSplitter  # imported on first use: fast CLI start

    return TextSplitter


class Chunker:
    """Cut documents into passages for one model's tokenizer.

    >>> chunker = Chunker(encoder.tokenizer, encoder.max_seq_length)
    >>> [p.text for p in chunker.passages(record)]
    """

    def __init__(
        self, tokenizer: TextTokenizer, max_seq_length: int, chunking: Chunking | None = None
    ) -> None:
        """:param tokenizer: the model's tokenizer. :param max_seq_length: its limit.
        :param chunking: the settings (default :class:`Chunking`())."""
        self.tokenizer = tokenizer
        self.chunking = chunking or Chunking()
        self.max_seq_length = max_seq_length
        self.config = self.chunking.settings(max_seq_length, tokenizer.n_special)
        self._splitters: dict[int, Any] = {}

    def _splitter(self, capacity: int) -> Any:
        if capacity not in self._splitters:
            overlap = min(self.config["overlap"], capacity - 1)
            self._splitters[capacity] = _splitter_class().from_huggingface_tokenizer(
                self.tokenizer.backend, capacity, overlap=overlap
            )
        return self._splitters[capacity]

    def _title(self, title: str) -> tuple[str, int]:
        """The title as embedded (cut to its share of the passage) and its token count."""
        if not title:
            return "", 0
        limit = max(1, int(self.config["tokens"] * TITLE_SHARE))
        enc = self.tokenizer.backend.encode(title, add_special_tokens=False)
        if len(enc.ids) <= limit:
            return title, len(enc.ids)
        end = enc.offsets[limit - 1][1]
        return title[:end], limit

    def spans(self, text: str, title: str = "") -> list[tuple[int, int]]:
        """Character spans of the passages of ``text`` (one span for an unchunked setting).

        :param text: the document's text. :param title: its title (shares the token budget).
        :return: (start, end) pairs, in order; an empty text gives one empty span.
        """
        if not text.strip():
            return [(0, 0)]
        if not self.config["enabled"]:
            stripped = text.strip()
            start = text.index(stripped[0])
            return [(start, start + len(stripped))]
        _, title_tokens = self._title(title)
        # a title adds its tokens and a separator; keep 2 tokens of margin for tokenizers
        # whose pieces change at the join
        capacity = max(1, self.config["tokens"] - (title_tokens + 2 if title_tokens else 0))
        return [(o, o + len(c)) for o, c in self._splitter(capacity).chunk_indices(text)]

    def passages(self, record: Record) -> list[Passage]:
        """A record (id, text, metadata) as its passages.

        :raises SentvecError: a document with neither text nor title.
        """
        field_name = self.chunking.title_field
        raw = record.metadata.get(field_name) if field_name else None
        title = raw.strip() if isinstance(raw, str) else ""
        if not record.text.strip() and not title:
            raise SentvecError(
                f"document {record.id!r} has no text and no title. Fix: give it a text, "
                "or leave it out."
            )
        embed_title, _ = self._title(title)
        out = []
        for i, (start, end) in enumerate(self.spans(record.text, title)):
            out.append(
                Passage(
                    record.id,
                    i,
                    record.text[start:end],
                    start,
                    end,
                    title,
                    record.metadata,
                    record.text if i == 0 else None,
                    embed_title,
                )
            )
        return out

    def iter_passages(self, records: Iterable[Record]) -> Iterator[list[Passage]]:
        """Each record's passages, one list per record, streamed."""
        for r in records:
            yield self.passages(r)


# -- sentences ---------------------------------------------------------------------------------

_HEADING_WORDS = 8  # a line this short without end punctuation reads as a heading
_END = ".!?:;)\"'»”’"


def _answer_candidates(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentences that can answer: headings (short lines without end punctuation, such as
    "How long a refund takes") only when the passage holds nothing else."""
    full = [
        (a, b)
        for a, b in spans
        if text[a:b].rstrip()[-1:] in _END or len(text[a:b].split()) >= _HEADING_WORDS
    ]
    return full or spans


def sentence_spans(text: str, language: str = "en") -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (surrounding whitespace left out).

    :param text: the text. :param language: an ISO code for sentencex's rules.
    :return: (start, end) pairs in order; a text without sentence breaks is one span.
    """
    from sentencex import segment

    spans, pos = [], 0
    for piece in segment(language, text):
        stripped = piece.strip()
        if stripped:
            start = pos + piece.index(stripped[0])
            spans.append((start, start + len(stripped)))
        pos += len(piece)
    return spans or [(0, len(text))]


def best_sentences(
    query: np.ndarray,
    passages: Sequence[str],
    embed: Any,
    metric: str = "cosine",
) -> list[tuple[int, int] | None]:
    """The span of the sentence of each passage closest in meaning to the query.

    :param query: the query's vector (dim,).
    :param passages: the passages' texts.
    :param embed: a function of texts to vectors (the collection's model, as documents).
    :param metric: ``cosine`` or ``dot``.
    :return: one (start, end) span per passage, in passage coordinates (None for an empty
        passage). A one-sentence passage is its own answer and costs nothing to embed.
    """
    spans = [_answer_candidates(p, sentence_spans(p)) if p.strip() else [] for p in passages]
    todo = [(i, j) for i, s in enumerate(spans) if len(s) > 1 for j in range(len(s))]
    out: list[tuple[int, int] | None] = [s[0] if len(s) == 1 else None for s in spans]
    if not todo:
        return out
    texts = [passages[i][spans[i][j][0] : spans[i][j][1]] for i, j in todo]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if metric == "cosine":
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
    scores = vectors @ q
    best: dict[int, tuple[float, int]] = {}
    for (i, j), s in zip(todo, scores, strict=True):
        if i not in best or s > best[i][0]:
            best[i] = (float(s), j)
    for i, (_, j) in best.items():
        out[i] = spans[i][j]
    return out


__all__ = [
    "Chunker",
    "Chunking",
    "Passage",
    "best_sentences",
    "default_chunk_tokens",
    "default_overlap",
    "passage_id",
    "sentence_spans",
]
