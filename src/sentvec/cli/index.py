"""`sentvec index ...`: persistent collections, in a LanceDB folder or PostgreSQL.

Every command takes ``--store`` (a folder, or a ``postgresql://`` URI; also read from
``$SENTVEC_STORE``; ``--root`` is the old name) and ``--json``. Destructive commands
(``delete --where``, ``drop``) say what they will remove and ask, unless ``--yes``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    IdFieldOpt,
    JsonOpt,
    KOpt,
    ModelOpt,
    TextFieldOpt,
    load_encoder,
)
from sentvec.cli.cross import (
    DEFAULT_RERANK_TOP,
    RerankOpt,
    RerankTopOpt,
    load_cross_encoder,
    rerank_results,
    shortlist_size,
)
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.documents import Chunking
    from sentvec.encoder import Encoder
    from sentvec.store.base import Collection

DEFAULT_K = 3  # the same default as `sentvec search`

index_app = typer.Typer(
    help="Persistent collections (LanceDB folder or PostgreSQL): add, upsert, search, "
    "delete, drop, info, list, versions, restore, build.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Collection name.")]
StoreOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        "--root",
        envvar="SENTVEC_STORE",
        help="Where collections live: a folder (LanceDB) or a postgresql:// URI "
        "[env SENTVEC_STORE; default: $SENTVEC_HOME/collections].",
    ),
]
WhereOpt = Annotated[
    str | None,
    typer.Option(
        "--where",
        help="One condition on id, text and metadata columns, e.g. "
        "\"category = 'billing' AND year >= 2020\".",
    ),
]
FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        help="COLUMN=VALUE equality filter (repeatable; VALUE as JSON if it parses, "
        'e.g. n=3, flag=true, cat=\'["a","b"]\' for any of a list).',
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
FileArg = Annotated[
    Path,
    typer.Argument(
        help="Input: .txt, .jsonl, .csv or .tsv, or a folder of Markdown/HTML articles."
    ),
]
BatchOpt = Annotated[
    int, typer.Option(min=1, help="Passages encoded and committed together (whole documents).")
]


def _location(store: str | None) -> str:
    from sentvec.store import default_root

    return store if store else str(default_root())


def _filters(items: list[str] | None) -> dict[str, Any] | None:
    """``--filter col=value`` options as a dict (values parsed as JSON when they parse)."""
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SentvecError(
                f"--filter {item!r} is not COLUMN=VALUE. Fix: e.g. --filter category=billing"
            )
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        out[key.strip()] = value
    return out


def _open(store: str | None, name: str) -> Collection:
    from sentvec.store import open_collection

    return open_collection(_location(store), name)


def _confirm(question: str, yes: bool) -> None:
    """Ask on the terminal; refuse (exit 2) when there is nobody to ask and no --yes."""
    import click

    if yes:
        return
    try:
        ok = click.confirm(question, default=False, err=True)
    except click.Abort:
        ok = None
    if not ok:
        raise SentvecError(
            f"{question.rstrip('?')}: not confirmed, nothing changed. Fix: answer y, or pass "
            "--yes to confirm without a prompt."
        )


def _emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        typer.echo(text, err=True)


def _open_for_write(
    location: str, name: str, model: str | None, backend: str | None, min_score: float | None
) -> tuple[Collection, Encoder, bool]:
    """Open (or create) a collection and load its model; refuse a different model.

    :return: the collection, the encoder, and whether the collection is new.
    """
    from sentvec.store import check_name, collection_exists, for_encoder, open_collection

    check_name(name)  # before anything loads or touches the disk
    if collection_exists(location, name):
        col = open_collection(location, name)
        encoder = load_encoder(model or col.meta["model"], backend)
        col.check_model(encoder)
        if min_score is not None:
            col.update_meta(min_score=float(min_score))
        return col, encoder, False
    encoder = load_encoder(model, backend)
    return for_encoder(location, name, encoder, min_score=min_score), encoder, True


def _count_documents(path: Path) -> int | None:
    """Documents in a file (its lines) or folder (its articles), for the progress bar."""
    from sentvec.io import count_records

    return count_records(path)


def _ingest(
    name: str,
    file: Path,
    store: str | None,
    model: str | None,
    backend: str | None,
    text_field: str | None,
    id_field: str | None,
    batch_size: int,
    upsert: bool,
    as_json: bool,
    spec: Chunking | None,
    min_score: float | None,
) -> None:
    from sentvec.io import check_input_path, iter_records

    check_input_path(file)  # before the collection is opened or created
    location = _location(store)
    col, encoder, new = _open_for_write(location, name, model, backend, min_score)
    try:
        records = iter_records(file, text_field=text_field, id_field=id_field)
        report = col.add(
            records,
            encoder,
            upsert=upsert,
            batch_size=batch_size,
            total=_count_documents(file),
            chunking=spec,
        )
    except Exception:
        if new and len(col) == 0:  # a refused first ingest leaves no empty collection behind
            col.drop()
        raise
    docs, passages = len(col), col.count_passages()
    _emit(
        as_json,
        {"name": name, **vars(report), "documents": docs, "passages_in_all": passages},
        f"{name}: {report.added} added, {report.updated} updated, {report.skipped} "
        f"skipped (already stored); {report.passages} passages written; {docs} documents "
        f"({passages} passages) in all",
    )


@index_app.command("add")
def index_add(
    name: NameArg,
    file: FileArg,
    store: StoreOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    batch_size: BatchOpt = 256,
    chunk_tokens: ChunkTokensOpt = None,
    overlap: OverlapOpt = None,
    no_chunk: NoChunkOpt = False,
    title_field: TitleFieldOpt = None,
    min_score: MinScoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a file's documents to a collection (made on first use). Long documents are
    stored as passages; document ids already stored are skipped, so adding a file twice, or
    re-running a killed ingest, stores each document once; a failed add leaves the
    collection as it was.

    Example: sentvec index add faq examples/faq.jsonl --store ./collections
    """
    spec = chunking(chunk_tokens, overlap, no_chunk, title_field)
    _ingest(
        name,
        file,
        store,
        model,
        backend,
        text_field,
        id_field,
        batch_size,
        False,
        as_json,
        spec,
        min_score,
    )


@index_app.command("upsert")
def index_upsert(
    name: NameArg,
    file: FileArg,
    store: StoreOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    batch_size: BatchOpt = 256,
    chunk_tokens: ChunkTokensOpt = None,
    overlap: OverlapOpt = None,
    no_chunk: NoChunkOpt = False,
    title_field: TitleFieldOpt = None,
    min_score: MinScoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a file's documents, replacing every passage of stored documents that have the
    same id (one transaction per batch of documents).

    Example: sentvec index upsert faq changed.csv
    """
    spec = chunking(chunk_tokens, overlap, no_chunk, title_field)
    _ingest(
        name,
        file,
        store,
        model,
        backend,
        text_field,
        id_field,
        batch_size,
        True,
        as_json,
        spec,
        min_score,
    )


@index_app.command("search")
def index_search(
    name: NameArg,
    query: Annotated[list[str], typer.Argument(help="One or more queries.")],
    k: KOpt = DEFAULT_K,
    where: WhereOpt = None,
    filters: FilterOpt = None,
    mode: Annotated[str, typer.Option(help="vector, text (full-text) or hybrid.")] = "vector",
    exact: Annotated[
        bool, typer.Option("--exact", help="Exact search even with an index.")
    ] = False,
    passages: PassagesOpt = False,
    min_score: MinScoreOpt = None,
    store: StoreOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per hit.")] = False,
    rerank: RerankOpt = None,
    rerank_top: RerankTopOpt = DEFAULT_RERANK_TOP,
) -> None:
    """Search a collection with its own model: documents, each shown by its best passage
    with the answering sentence. The score is cosine similarity (for hybrid too, beside the
    fused rank score), so one threshold works for every mode.

    Example: sentvec index search faq "reset my password" -k 5 --filter category=account
    """
    col = _open(store, name)
    spec = _filters(filters)
    col.filter_node(where, spec)  # a bad filter fails before the model loads
    encoder = load_encoder(model or col.meta["model"], backend)
    cross = load_cross_encoder(rerank, backend) if rerank else None
    for q in query:
        hits = col.search(
            q,
            shortlist_size(k, rerank, rerank_top),
            where=where,
            filters=spec,
            mode=mode,
            encoder=encoder,
            exact=exact or None,
            passages=passages,
            min_score=min_score,
        )
        (hits,) = rerank_results(cross, [q], [hits], k)
        print_hits(q, hits, as_json)


@index_app.command("delete")
def index_delete(
    name: NameArg,
    ids: Annotated[list[str] | None, typer.Argument(help="Ids to delete.")] = None,
    where: WhereOpt = None,
    filters: FilterOpt = None,
    yes: YesOpt = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete documents (all their passages) by id, or by --where / --filter (says how
    many documents match and asks first, unless --yes). On LanceDB, `index restore` undoes it.

    Example: sentvec index delete faq --where "category = 'old'" --yes
    """
    spec = _filters(filters)
    if not ids and not where and not spec:
        raise SentvecError("nothing to delete. Fix: give ids, or --where CONDITION / --filter")
    col = _open(store, name)
    version = col.info().get("version")
    if where or spec:
        matching = col.count(where, spec) if not ids else len(col.get(ids))
        if matching == 0:
            _emit(
                as_json,
                {"name": name, "deleted": 0, "documents": len(col)},
                f"{name}: no documents match",
            )
            return
        _confirm(f"delete {matching} of {len(col)} documents from {name!r}?", yes)
    n = col.delete(ids, where, spec)
    undo = f"; undo: sentvec index restore {name} --version {version}" if version else ""
    _emit(
        as_json,
        {"name": name, "deleted": n, "documents": len(col), "restore_version": version},
        f"{name}: {n} deleted; {len(col)} documents left{undo if n else ''}",
    )


@index_app.command("drop")
def index_drop(
    name: NameArg,
    yes: YesOpt = False,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a whole collection (asks first, unless --yes). This cannot be undone.

    Example: sentvec index drop faq --yes
    """
    col = _open(store, name)
    docs = len(col)
    _confirm(f"drop collection {name!r} and its {docs} documents for good?", yes)
    col.drop()
    _emit(
        as_json,
        {"name": name, "dropped": True, "documents": docs},
        f"{name}: dropped ({docs} documents)",
    )


@index_app.command("versions")
def index_versions(
    name: NameArg,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The kept versions of a collection (LanceDB), newest last, with their sizes.

    Example: sentvec index versions faq
    """
    versions = _open(store, name).versions()
    if as_json:
        typer.echo(json.dumps(versions))
        return
    if not versions:
        typer.echo(f"{name}: no versions kept (PostgreSQL: use the server's backups)")
    for v in versions:
        typer.echo(
            f"{v['version']:>6}  {v['timestamp']}  {v['documents']} documents, "
            f"{v['passages']} passages"
        )


@index_app.command("restore")
def index_restore(
    name: NameArg,
    version: Annotated[int, typer.Option("--version", help="The version to bring back.")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make an earlier version current again, e.g. to undo a delete (LanceDB). The restore
    is itself a new version, so it can be undone the same way.

    Example: sentvec index restore faq --version 3
    """
    col = _open(store, name)
    col.restore(version)
    docs = len(col)
    _emit(
        as_json,
        {"name": name, "restored": version, "documents": docs, "version": col.info()["version"]},
        f"{name}: restored version {version}; {docs} documents",
    )


@index_app.command("info")
def index_info(
    name: NameArg,
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Size, model, filter columns, and the approximate index with its measured recall.

    Example: sentvec index info faq --json
    """
    details = _open(store, name).info()
    if as_json:
        typer.echo(json.dumps(details, indent=2))
        return
    for key, value in details.items():
        typer.echo(f"{key:16s} {value if isinstance(value, str) else json.dumps(value)}")


@index_app.command("list")
def index_list(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """The collections in the store, with their documents, passages and model.

    Example: sentvec index list --json
    """
    from sentvec.store import list_collections

    location = _location(store)
    out = []
    for name in list_collections(location):
        with _open(location, name) as col:
            out.append(
                {
                    "name": name,
                    "documents": len(col),
                    "passages": col.count_passages(),
                    "model": col.meta["model"],
                }
            )
    if as_json:
        typer.echo(json.dumps(out))
        return
    for row in out:
        typer.echo(
            f"{row['name']}\t{row['documents']} documents\t{row['passages']} passages"
            f"\t{row['model']}"
        )


@index_app.command("build")
def index_build(
    name: NameArg,
    partitions: Annotated[
        int | None, typer.Option(min=2, help="LanceDB: IVF partitions [default: auto].")
    ] = None,
    nprobes: Annotated[
        int | None, typer.Option(min=1, help="LanceDB: cells probed per query.")
    ] = None,
    ef_search: Annotated[
        int | None,
        typer.Option(
            min=1, max=1000, help="PostgreSQL: HNSW candidates per query (pgvector: 1-1000)."
        ),
    ] = None,
    index_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="LanceDB: IVF_FLAT, IVF_SQ, IVF_PQ, IVF_HNSW_SQ or IVF_HNSW_FLAT [default: "
            "IVF_FLAT].",
        ),
    ] = None,
    refine_factor: Annotated[
        int | None,
        typer.Option(min=1, help="LanceDB: re-rank this many x k candidates on full vectors."),
    ] = None,
    ef: Annotated[
        int | None, typer.Option(min=1, help="LanceDB HNSW types: candidates per query.")
    ] = None,
    m: Annotated[
        int | None,
        typer.Option("--m", min=2, help="HNSW neighbours per node (PostgreSQL, LanceDB HNSW)."),
    ] = None,
    ef_construction: Annotated[
        int | None,
        typer.Option(min=4, help="HNSW candidates while building (PostgreSQL, LanceDB HNSW)."),
    ] = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the approximate vector index now (IVF on LanceDB, HNSW on PostgreSQL), and
    measure its recall@10 against exact search. The defaults meet recall@10 >= 0.99 on the
    1M-vector benchmark (BENCHMARKS.md); options a backend does not use are ignored.

    Example: sentvec index build faq --ef-search 200
    """
    settings: dict[str, Any] = {}
    for key, value in {
        "num_partitions": partitions,
        "nprobes": nprobes,
        "ef_search": ef_search,
        "index_type": index_type.upper() if index_type else None,
        "refine_factor": refine_factor,
        "ef": ef,
        "m": m,
        "ef_construction": ef_construction,
    }.items():
        if value is not None:
            settings[key] = value
    built: dict[str, Any] = _open(store, name).build_index(**settings)
    if as_json:
        typer.echo(json.dumps(built))
        return
    for key, value in built.items():
        typer.echo(f"{key:16s} {value}")


def register(app: typer.Typer) -> None:
    """Add the `index` group to the main app."""
    app.add_typer(index_app, name="index")


__all__ = ["DEFAULT_K", "register"]
