"""`sentvec search`: the main job, semantic search over a knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.cli._options import (
    DEFAULT_BACKEND,
    BackendOpt,
    CascadeOpt,
    HeaderOpt,
    IdFieldOpt,
    KOpt,
    ModelOpt,
    TextFieldOpt,
    load_encoder,
    require_rows,
)

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


def knowledge_base_path() -> Path:
    """The support knowledge base that ships with sentvec (the main job's demo data)."""
    return Path(__file__).resolve().parents[1] / "data" / "knowledge_base.jsonl"


def search(
    query: Annotated[list[str], typer.Argument(help="One or more queries.")],
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="Search this file (txt/JSONL/CSV) instead of the shipped knowledge base.",
        ),
    ] = None,
    k: KOpt = 3,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per hit.")] = False,
    cascade: CascadeOpt = None,
    candidates: Annotated[
        int, typer.Option(min=1, help="With --cascade: shortlist size per query.")
    ] = 100,
) -> None:
    """Semantic search: find the entries closest in meaning to each query.

    Example: sentvec search "How do I reset my password?" -k 3
    """
    from sentvec.io import read_records

    records = None
    if file is not None:  # read (and check) the file before the model loads
        records = read_records(file, text_field=text_field, id_field=id_field, header=header)
        require_rows(records, file)
    encoder = load_encoder(model, backend)
    if records is None and cascade is None:
        results = _search_knowledge_base(encoder, query, k)
    else:
        from sentvec.apps.search import search_records
        from sentvec.store.kb import kb_records

        if records is None:
            records = kb_records(knowledge_base_path())
        first = load_encoder(cascade) if cascade is not None else None
        results = [
            [(s, r.id, r.text, r.metadata) for s, r in hits]
            for hits in search_records(
                encoder, records, query, k, cascade=first, candidates=candidates
            )
        ]
    for q, hits in zip(query, results):
        if as_json:
            for rank, (score, rid, text, meta) in enumerate(hits, 1):
                row = {
                    "query": q,
                    "rank": rank,
                    "score": round(score, 4),
                    "id": rid,
                    "text": text,
                    **meta,
                }
                typer.echo(json.dumps(row, ensure_ascii=False))
            continue
        typer.echo(f"Query: {q}")
        for rank, (score, rid, text, meta) in enumerate(hits, 1):
            title = meta.get("question", text)
            typer.echo(f"  {rank}. [{score:.3f}] {rid}  {title}")
            if "answer" in meta:
                typer.echo(f"       {meta['answer']}")
        typer.echo("")


def _search_knowledge_base(
    encoder: Encoder, queries: list[str], k: int
) -> list[list[tuple[float, str, str, dict]]]:
    """Search the shipped knowledge base through its cached collection (built on first run);
    without the ``store`` extra (lancedb), encode it in memory each run instead."""
    from sentvec.store.kb import kb_records, knowledge_base_collection

    try:
        import lancedb  # noqa: F401
    except ImportError:
        from sentvec.apps.search import search_records

        records = kb_records(knowledge_base_path())
        return [
            [(s, r.id, r.text, r.metadata) for s, r in hits]
            for hits in search_records(encoder, records, queries, k)
        ]
    col = knowledge_base_collection(encoder, knowledge_base_path())
    return [
        [(h.score, h.id, h.text, h.metadata) for h in col.search(q, k, encoder=encoder)]
        for q in queries
    ]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(search)
