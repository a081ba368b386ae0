"""`sentvec search`: the main job, semantic search over a knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.cli._documents import (
    ChunkTokensOpt,
    MinScoreOpt,
    NoChunkOpt,
    OverlapOpt,
    PassagesOpt,
    TitleFieldOpt,
    chunking,
    print_hits,
)
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
from sentvec.cli.cross import (
    DEFAULT_RERANK_TOP,
    RerankOpt,
    RerankTopOpt,
    load_cross_encoder,
    rerank_results,
    shortlist_size,
)

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.store.hits import Hits


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
            help="Search this file (txt/JSONL/CSV) or folder of Markdown/HTML articles "
            "instead of the shipped knowledge base.",
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
    chunk_tokens: ChunkTokensOpt = None,
    overlap: OverlapOpt = None,
    no_chunk: NoChunkOpt = False,
    title_field: TitleFieldOpt = None,
    passages: PassagesOpt = False,
    min_score: MinScoreOpt = None,
    rerank: RerankOpt = None,
    rerank_top: RerankTopOpt = DEFAULT_RERANK_TOP,
) -> None:
    """Semantic search: find the documents closest in meaning to each query, each shown by
    the passage that matches, with the answering sentence.

    Example: sentvec search "How do I reset my password?" -k 3
    """
    from sentvec.io import read_records

    records = None
    if file is not None:  # read (and check) the file before the model loads
        records = read_records(file, text_field=text_field, id_field=id_field, header=header)
        require_rows(records, file)
    spec = chunking(chunk_tokens, overlap, no_chunk, title_field)
    encoder = load_encoder(model, backend)
    cross = load_cross_encoder(rerank, backend) if rerank else None
    wanted, k = k, shortlist_size(k, rerank, rerank_top)
    if records is None and cascade is None and spec is None:
        results = _search_knowledge_base(encoder, query, k, min_score, passages)
    else:
        from sentvec.apps.search import search_records
        from sentvec.store import default_min_score
        from sentvec.store.kb import kb_records

        if records is None:
            records = kb_records(knowledge_base_path())
        first = load_encoder(cascade) if cascade is not None else None
        minimum = default_min_score(encoder.name) if min_score is None else min_score
        results = search_records(
            encoder,
            records,
            query,
            k,
            cascade=first,
            candidates=candidates,
            chunking=spec,
            min_score=minimum,
            passages=passages,
        )
    results = rerank_results(cross, query, results, wanted)
    for q, hits in zip(query, results):
        print_hits(q, hits, as_json)


def _search_knowledge_base(
    encoder: Encoder, queries: list[str], k: int, min_score: float | None, passages: bool
) -> list[Hits]:
    """Search the shipped knowledge base through its cached collection (built on first run);
    without the ``store`` extra (lancedb), encode it in memory each run instead."""
    from sentvec.store import default_min_score
    from sentvec.store.kb import kb_records, knowledge_base_collection

    try:
        import lancedb  # noqa: F401
    except ImportError:
        from sentvec.apps.search import search_records

        minimum = default_min_score(encoder.name) if min_score is None else min_score
        records = kb_records(knowledge_base_path())
        return search_records(encoder, records, queries, k, min_score=minimum, passages=passages)
    col = knowledge_base_collection(encoder, knowledge_base_path())
    return [
        col.search(q, k, encoder=encoder, min_score=min_score, passages=passages) for q in queries
    ]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(search)
