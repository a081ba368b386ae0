"""What `sentvec search` and `sentvec index` share: the chunking options and how a hit is
shown (title, score, the passage with the answering sentence; ``--json`` gives every field)."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sentvec.documents import Chunking
    from sentvec.store.hits import Hit, Hits

ChunkTokensOpt = Annotated[
    int | None,
    typer.Option(
        "--chunk-tokens",
        help="Tokens per passage, title included [default: half the model's max_seq_length, "
        "at most 256].",
    ),
]
OverlapOpt = Annotated[
    int | None,
    typer.Option(
        "--overlap",
        help="Most tokens of whole sentences repeated between passages of one paragraph "
        "[default: a quarter of --chunk-tokens].",
    ),
]
NoChunkOpt = Annotated[
    bool,
    typer.Option(
        "--no-chunk", help="Store each document as one passage (cut at the model's limit)."
    ),
]
TitleFieldOpt = Annotated[
    str | None,
    typer.Option(
        "--title-field",
        help="Metadata field embedded with every passage as the title [default: title].",
    ),
]
PassagesOpt = Annotated[
    bool, typer.Option("--passages", help="Return passages (several per document may come).")
]
MinScoreOpt = Annotated[
    float | None,
    typer.Option(
        "--min-score",
        help="Hits under this similarity are dropped and 'no good match' is said "
        "[default: the collection's, measured per model; 0 keeps every hit].",
    ),
]


def chunking(
    chunk_tokens: int | None, overlap: int | None, no_chunk: bool, title_field: str | None
) -> Chunking | None:
    """The chunking the options ask for (None when none was given: the collection's own)."""
    from sentvec.documents import TITLE_FIELD, Chunking

    if chunk_tokens is None and overlap is None and not no_chunk and title_field is None:
        return None
    return Chunking(
        enabled=not no_chunk,
        tokens=chunk_tokens,
        overlap=overlap,
        title_field=title_field or TITLE_FIELD,
    )


def hit_row(query: str, rank: int, hit: Hit) -> dict[str, Any]:
    """One JSON line of ``--json`` output: the query, the rank and every field of the hit."""
    return {"query": query, "rank": rank, **hit.to_dict()}


def print_hits(query: str, hits: Hits, as_json: bool, width: int | None = None) -> None:
    """Show one query's hits: title, score, id, then the passage with the answering sentence
    (bold on a terminal). An empty result says why."""
    if as_json:
        if not hits:
            typer.echo(json.dumps({"query": query, "hits": 0, "reason": hits.reason}))
        for rank, h in enumerate(hits, 1):
            typer.echo(json.dumps(hit_row(query, rank, h), ensure_ascii=False))
        return
    typer.echo(f"Query: {query}")
    if not hits:
        typer.echo(f"  {hits.reason or 'nothing was found'}")
    cols = width or min(shutil.get_terminal_size((100, 24)).columns, 120)
    bold = sys.stdout.isatty()
    for rank, h in enumerate(hits, 1):
        fused = "" if h.fused is None else f" fused {h.fused:.2f}"
        title = h.title or _first_line(h.text)
        typer.echo(f"  {rank}. [{h.score:.3f}{fused}] {h.id}  {title}")
        if h.url:
            typer.echo(f"       {h.url}")
        body = h.text if h.title else _rest(h.text)
        if body:
            typer.echo(_passage(h, body, cols - 7, bold))
    typer.echo("")


def _first_line(text: str, limit: int = 100) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def _rest(text: str) -> str:
    """The text after what :func:`_first_line` showed (nothing for a one-line hit)."""
    first = _first_line(text)
    return "" if first == text.strip() else text.strip()


def _passage(h: Hit, body: str, width: int, bold: bool, limit: int = 600) -> str:
    """The passage, a wrapped block per paragraph; the answering sentence bold on a terminal.
    A passage longer than ``limit`` characters is cut to the paragraphs around the answer."""
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n") if p.strip()]
    answer = " ".join(h.answer_text.split()) if h.answer_text else ""
    at = next((n for n, p in enumerate(paragraphs) if answer and answer in p), 0)
    if sum(map(len, paragraphs)) > limit:  # keep the answer's paragraph, grow around it
        lo = hi = at
        while hi + 1 < len(paragraphs) and sum(map(len, paragraphs[lo : hi + 2])) <= limit:
            hi += 1
        while lo > 0 and sum(map(len, paragraphs[lo - 1 : hi + 1])) <= limit:
            lo -= 1
        kept = paragraphs[lo : hi + 1]
        if len(kept) == 1 and len(kept[0]) > limit:  # one long paragraph: cut around the answer
            text = kept[0]
            pos = max(0, text.find(answer)) if answer else 0
            start = max(0, pos - (limit - len(answer)) // 2)
            kept = [("..." if start else "") + text[start : start + limit].strip() + "..."]
        else:
            kept = (["..."] if lo else []) + kept + (["..."] if hi + 1 < len(paragraphs) else [])
        paragraphs = kept
    out = []
    for p in paragraphs:
        lines = textwrap.wrap(p, max(width, 40))
        block = "\n".join("       " + line for line in lines)
        if bold and answer and answer in p:
            block = _embolden(block, answer)
        out.append(block)
    return "\n".join(out)


def _embolden(block: str, answer: str) -> str:
    """The wrapped block with the answer's words bold (they may run over several lines)."""
    words, target = block.split(" "), answer.split()
    flat = [w.strip() for w in words]
    nonempty = [(k, w) for k, w in enumerate(flat) if w]
    for start in range(len(nonempty) - len(target) + 1):
        if [w for _, w in nonempty[start : start + len(target)]] == target:
            for k, _ in nonempty[start : start + len(target)]:
                words[k] = words[k].replace(flat[k], typer.style(flat[k], bold=True), 1)
            break
    return " ".join(words)


__all__ = [
    "ChunkTokensOpt",
    "MinScoreOpt",
    "NoChunkOpt",
    "OverlapOpt",
    "PassagesOpt",
    "TitleFieldOpt",
    "chunking",
    "hit_row",
    "print_hits",
]
