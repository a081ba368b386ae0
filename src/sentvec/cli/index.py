"""`sentvec index ...`: persistent collections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sentvec.cli._options import (
    IdFieldOpt,
    ModelOpt,
    TextFieldOpt,
    load_encoder,
)
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

if TYPE_CHECKING:
    from sentvec.store.collection import Collection

index_app = typer.Typer(
    help="Persistent collections: add, search, delete, upsert, info, list.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Collection name.")]
RootOpt = Annotated[
    Path | None,
    typer.Option("--root", help="Folder of collections [default: $SENTVEC_HOME/collections]."),
]


def _root(root: Path | None) -> Path:
    from sentvec.store.collection import default_root

    return root if root is not None else default_root()


def _open_for_write(root: Path, name: str, model: str | None) -> tuple[Collection, Encoder]:
    """Open (or create) a collection and load its model; refuse a different model."""
    from sentvec.store.collection import Collection, list_collections

    if name in list_collections(root):
        col = Collection.open(root, name)
        encoder = load_encoder(model or col.meta["model"])
        col.check_model(encoder)
        return col, encoder
    encoder = load_encoder(model)
    return Collection.for_encoder(root, name, encoder), encoder


def _count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def _ingest(
    name: str,
    file: Path,
    root: Path | None,
    model: str | None,
    text_field: str | None,
    id_field: str | None,
    batch_size: int,
    upsert: bool,
) -> None:
    from sentvec.io import check_input_file, iter_records

    check_input_file(file)  # before the collection is opened or created
    col, encoder = _open_for_write(_root(root), name, model)
    records = iter_records(file, text_field=text_field, id_field=id_field)
    report = col.add(
        records, encoder, upsert=upsert, batch_size=batch_size, total=_count_lines(file)
    )
    typer.echo(
        f"{name}: {report.added} added, {report.updated} updated, {report.skipped} "
        f"skipped (already stored); {len(col)} rows in all",
        err=True,
    )


@index_app.command("add")
def index_add(
    name: NameArg,
    file: Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")],
    root: RootOpt = None,
    model: ModelOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows committed together.")] = 256,
) -> None:
    """Add a file's rows to a collection (made on first use). Ids already stored are
    skipped, so adding a file twice, or re-running a killed ingest, stores each row once."""
    _ingest(name, file, root, model, text_field, id_field, batch_size, upsert=False)


@index_app.command("upsert")
def index_upsert(
    name: NameArg,
    file: Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")],
    root: RootOpt = None,
    model: ModelOpt = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows committed together.")] = 256,
) -> None:
    """Add a file's rows, replacing stored rows that have the same id."""
    _ingest(name, file, root, model, text_field, id_field, batch_size, upsert=True)


@index_app.command("search")
def index_search(
    name: NameArg,
    query: Annotated[list[str], typer.Argument(help="One or more queries.")],
    k: Annotated[int, typer.Option("-k", min=1, help="Hits per query.")] = 5,
    where: Annotated[
        str | None, typer.Option("--where", help="SQL filter, e.g. \"category = 'billing'\".")
    ] = None,
    mode: Annotated[str, typer.Option(help="vector, text (BM25) or hybrid.")] = "vector",
    exact: Annotated[
        bool, typer.Option("--exact", help="Exact search even with an index.")
    ] = False,
    root: RootOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per hit.")] = False,
) -> None:
    """Search a collection with its own model."""
    from sentvec.store.collection import Collection

    col = Collection.open(_root(root), name)
    encoder = None if mode == "text" else load_encoder(col.meta["model"])
    for q in query:
        hits = col.search(q, k, where=where, mode=mode, encoder=encoder, exact=exact or None)
        if as_json:
            for rank, h in enumerate(hits, 1):
                row = {
                    "query": q,
                    "rank": rank,
                    "score": round(h.score, 4),
                    "id": h.id,
                    "text": h.text,
                    **h.metadata,
                }
                typer.echo(json.dumps(row, ensure_ascii=False))
            continue
        typer.echo(f"Query: {q}")
        for rank, h in enumerate(hits, 1):
            typer.echo(f"  {rank}. [{h.score:.3f}] {h.id}  {h.text}")
        typer.echo("")


@index_app.command("delete")
def index_delete(
    name: NameArg,
    ids: Annotated[list[str] | None, typer.Argument(help="Ids to delete.")] = None,
    where: Annotated[
        str | None, typer.Option("--where", help="Delete rows matching this SQL filter.")
    ] = None,
    root: RootOpt = None,
) -> None:
    """Delete rows by id or by filter."""
    from sentvec.store.collection import Collection

    if not ids and not where:
        raise SentvecError("nothing to delete: give ids or --where CONDITION")
    col = Collection.open(_root(root), name)
    n = col.delete(ids, where)
    typer.echo(f"{name}: {n} deleted; {len(col)} rows left", err=True)


@index_app.command("info")
def index_info(
    name: NameArg,
    root: RootOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Size, model, filter columns, and the approximate index with its measured recall."""
    from sentvec.store.collection import Collection

    details = Collection.open(_root(root), name).info()
    if as_json:
        typer.echo(json.dumps(details, indent=2))
        return
    for key, value in details.items():
        typer.echo(f"{key:16s} {value if isinstance(value, str) else json.dumps(value)}")


@index_app.command("list")
def index_list(root: RootOpt = None) -> None:
    """The collections under the root folder, with rows and model."""
    from sentvec.store.collection import Collection, list_collections

    folder = _root(root)
    for name in list_collections(folder):
        col = Collection.open(folder, name)
        typer.echo(f"{name}\t{len(col)} rows\t{col.meta['model']}")


@index_app.command("build")
def index_build(
    name: NameArg,
    partitions: Annotated[int | None, typer.Option(help="IVF partitions [default: auto].")] = None,
    root: RootOpt = None,
) -> None:
    """Build the approximate vector index now, and measure its recall@10."""
    from sentvec.store.collection import Collection

    built: dict[str, Any] = Collection.open(_root(root), name).build_index(partitions)
    typer.echo(json.dumps(built))


def register(app: typer.Typer) -> None:
    """Add the `index` group to the main app."""
    app.add_typer(index_app, name="index")
