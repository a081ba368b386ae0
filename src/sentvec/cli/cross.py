"""`sentvec rerank` and `sentvec augment`, and the ``--rerank`` options that `sentvec search`
and `sentvec index search` share: a cross-encoder re-scores the search's shortlist."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.cli._options import (
    DEFAULT_BACKEND,
    FALLBACK_BACKEND,
    BackendOpt,
    HeaderOpt,
    IdFieldOpt,
    JsonOpt,
    TextFieldOpt,
    default_backend,
    emit_json,
    require_rows,
)
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.cross import CrossEncoder
    from sentvec.store.hits import Hits

DEFAULT_RERANK_TOP = 20  # shortlist the cross-encoder re-scores (BENCHMARKS.md: its latency)

RerankOpt = Annotated[
    str | None,
    typer.Option(
        "--rerank",
        help="Re-score the shortlist with this cross-encoder (folder or hub id) and show the "
        "best -k by its score.",
    ),
]
RerankTopOpt = Annotated[
    int,
    typer.Option(
        "--rerank-top", min=1, max=10_000, help="With --rerank: shortlist size per query."
    ),
]


def load_cross_encoder(model: str, backend: str | None = None) -> CrossEncoder:
    """Load a cross-encoder for a command: the backend asked for, else onnx when installed
    (falling back to torch, with a note, for a model that cannot be exported).

    :param model: folder or hub id. :param backend: torch, onnx, onnx-int8, or None.
    :return: the cross-encoder.
    """
    from sentvec.cross import load_cross

    if backend is not None:
        return load_cross(model, backend=backend)
    chosen = default_backend()
    if chosen == FALLBACK_BACKEND:
        return load_cross(model, backend=chosen)
    try:
        return load_cross(model, backend=chosen)
    except SentvecError:
        raise
    except Exception as e:  # an architecture torch.onnx cannot export
        typer.echo(
            f"note: could not export this cross-encoder to ONNX ({type(e).__name__}); using "
            "torch (pass --backend torch to skip the attempt)",
            err=True,
        )
        return load_cross(model, backend=FALLBACK_BACKEND)


def shortlist_size(k: int, rerank: str | None, top: int) -> int:
    """How many hits the search fetches: ``k``, or the rerank shortlist when reranking."""
    return max(k, top) if rerank else k


def rerank_results(
    cross: CrossEncoder | None, queries: list[str], results: list[Hits], k: int
) -> list[Hits]:
    """Each query's hits re-scored by the cross-encoder, best ``k`` kept (no cross: as is)."""
    if cross is None:
        return results
    from sentvec.cross import rerank_hits

    return [rerank_hits(cross, q, hits, k) for q, hits in zip(queries, results, strict=True)]


def rerank(
    query: Annotated[str, typer.Argument(help="The query.")],
    file: Annotated[Path, typer.Argument(help="Candidates: .txt (one per line), JSONL or CSV.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Cross-encoder folder or hub id.")],
    k: Annotated[
        int | None, typer.Option("-k", "--top-k", min=1, help="Show the best k [default: all].")
    ] = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    header: HeaderOpt = True,
    backend: BackendOpt = DEFAULT_BACKEND,
    batch_size: Annotated[int, typer.Option(min=1, help="Pairs per forward pass.")] = 32,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per text.")] = False,
) -> None:
    """Order the texts of FILE by how well each answers QUERY, read together by a
    cross-encoder (slower than `sentvec search`, and more exact).

    Example: sentvec rerank "How do I reset my password?" faq.jsonl -m ./my-reranker -k 3
    """
    import json

    from sentvec.io import read_records

    records = read_records(file, text_field=text_field, id_field=id_field, header=header)
    require_rows(records, file)
    cross = load_cross_encoder(model, backend)
    ranked = cross.rank(query, [r.text for r in records], k, batch_size=batch_size)
    for place, r in enumerate(ranked, 1):
        rec = records[r.index]
        if as_json:
            row = {"rank": place, "id": rec.id, "score": round(r.score, 6), "text": rec.text}
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            text = rec.text if len(rec.text) <= 100 else rec.text[:99] + "…"
            typer.echo(f"{place:>3}. [{r.score:.4f}] {rec.id}  {text}")


def augment(
    gold: Annotated[Path, typer.Argument(help="Gold scored pairs: CSV/TSV/JSONL.")],
    cross: Annotated[
        str, typer.Option("--cross", help="Cross-encoder that labels the silver pairs.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the trained bi-encoder.")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Bi-encoder to train [default: MiniLM].")
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="Unlabelled sentences (txt/JSONL/CSV) [default: the gold sentences]."),
    ] = None,
    columns: Annotated[
        str, typer.Option(help="Gold columns: sentence1,sentence2,score (indices w/o header).")
    ] = "sentence1,sentence2,score",
    header: HeaderOpt = True,
    score_scale: Annotated[float, typer.Option(help="Gold scores are divided by this.")] = 1.0,
    per_sentence: Annotated[
        int, typer.Option(min=1, help="Silver pairs per sentence and sampler (BM25, vectors).")
    ] = 3,
    epochs: Annotated[int, typer.Option(min=1)] = 1,
    batch_size: Annotated[int, typer.Option(min=1)] = 16,
    seed: Annotated[int, typer.Option()] = 42,
    as_json: JsonOpt = False,
) -> None:
    """Augmented SBERT: sample unlabelled pairs (BM25 and bi-encoder neighbours), label them
    with a cross-encoder, train the bi-encoder on gold + silver, save it to OUT.

    Example: sentvec augment stsb-1k.csv --cross ./stsb-cross --out ./stsb-augmented
    """
    from sentvec.cross.augment import augment_bi_encoder, read_gold

    parts = [c.strip() for c in columns.split(",")]
    if len(parts) != 3:
        raise SentvecError(
            f"--columns needs 3 columns (sentence1,sentence2,score), got {columns!r}"
        )
    cols = {
        role: (int(c) if not header and c.isdigit() else c)
        for role, c in zip(("sentence1", "sentence2", "score"), parts, strict=True)
    }
    data = read_gold(gold, cols, header, score_scale)
    texts = None
    if corpus is not None:
        from sentvec.io import read_records

        texts = [r.text for r in read_records(corpus)]
        require_rows(texts, corpus)
    result = augment_bi_encoder(
        data,
        cross,
        out,
        model=model,
        corpus=texts,
        per_sentence=per_sentence,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
    )
    if as_json:
        emit_json(result)
    else:
        typer.echo(
            f"{result['gold']} gold + {result['silver']} silver pairs; model saved to "
            f"{result['model']}",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(rerank)
    app.command()(augment)
