"""Search results: :class:`Hit` (a document, or a passage, with the sentence that answers) and
:class:`Hits` (a list that says why it is empty)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sentvec.documents import PASSAGE_SEP, URL_FIELD


@dataclass
class Hit:
    """One search result: a document, shown by its best passage.

    ``score`` is always on a scale a user can threshold: cosine (or dot) similarity for
    vector and hybrid search, the text-match score for text search. Hybrid hits also carry
    ``fused``: the reciprocal-rank-fusion score scaled to 0..1 (1 = first in both rankings),
    and ``text_score`` (None when the text search did not find the passage).

    ``text`` is the passage; ``start``/``end`` are its character offsets in the document's
    text, and ``answer`` is the span (document offsets) of the passage's sentence closest in
    meaning to the query, when the search was given the model to find it.
    """

    id: str
    text: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    fused: float | None = None
    text_score: float | None = None
    title: str = ""
    passage: int = 0
    start: int = 0
    end: int = 0
    answer: tuple[int, int] | None = None
    pid: str = ""

    @property
    def url(self) -> str | None:
        """The document's ``url`` metadata field, if it has one."""
        url = self.metadata.get(URL_FIELD)
        return url if isinstance(url, str) and url else None

    @property
    def passage_id(self) -> str:
        """The stored passage's key."""
        return self.pid or f"{self.id}{PASSAGE_SEP}{self.passage}"

    @property
    def answer_text(self) -> str | None:
        """The sentence that answers the query (None if it was not looked for)."""
        if self.answer is None:
            return None
        a, b = self.answer
        return self.text[a - self.start : b - self.start]

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON (what ``--json`` and the HTTP API give)."""
        out: dict[str, Any] = {
            "id": self.id,
            "score": round(float(self.score), 6),
            "title": self.title,
            "url": self.url,
            "text": self.text,
            "passage": self.passage,
            "start": self.start,
            "end": self.end,
            "answer": self.answer_text,
            "answer_start": None if self.answer is None else self.answer[0],
            "answer_end": None if self.answer is None else self.answer[1],
        }
        if self.fused is not None:
            out["fused"] = round(float(self.fused), 6)
            out["text_score"] = (
                None if self.text_score is None else round(float(self.text_score), 6)
            )
        out["metadata"] = self.metadata
        return out


class Hits(list[Hit]):
    """Search results, best first; when empty, ``reason`` says why (nothing stored, nothing
    matched the filters, or nothing scored above the collection's minimum).

    >>> hits = col.search("asdfgh qwerty", encoder=enc)
    >>> hits == [], hits.reason
    (True, 'no good match: the best passage scored 0.121, under the minimum 0.3 ...')
    """

    def __init__(
        self, hits: list[Hit] | None = None, reason: str | None = None, best: float | None = None
    ) -> None:
        super().__init__(hits or [])
        self.reason = reason
        self.best = best  # the best score seen, kept or not


__all__ = ["Hit", "Hits"]
