"""``sentvec index ...``, ``dedup``, ``cluster`` and ``classify`` commands.

Registered on the main app by :mod:`sentvec.cli`. Only typer is imported here; lancedb,
torch and scikit-learn are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.store.collection import Collection

index_app = typer.Typer(
    help="Persistent collections: add, search, delete, upsert, info, list.", no_args_is_help=True
)

NameArg = Annotated[str, typer.Argument(help="Collection name.")]
RootOpt = Annotated[
    Path | None,
    typer.Option("--root", help="Folder of collections [default: $SENTVEC_HOME/collections]."),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model folder or hub id [default: the collection's own, else all-MiniLM-L6-v2].",
    ),
]
TextFieldOpt = Annotated[
    str | None, typer.Option("--text-field", help="JSONL key / CSV column holding the text.")
]
IdFieldOpt = Annotated[
    str | None,
    typer.Option(
        "--id-field",
        help="JSONL key / CSV column holding the id [default: id, else the line number].",
    ),
]


def _root(root: Path | None) -> Path:
    from sentvec.store.collection import default_root

    return root if root is not None else default_root()


def _encoder(model: str | None) -> Encoder:
    from sentvec.encoder import load

    return load(model)


def _open_for_write(root: Path, name: str, model: str | None) -> tuple[Collection, Encoder]:
    """Open (or create) a collection and load its model; refuse a different model."""
    from sentvec.store.collection import Collection, list_collections

    if name in list_collections(root):
        col = Collection.open(root, name)
        encoder = _encoder(model or col.meta["model"])
        col.check_model(encoder)
        return col, encoder
    encoder = _encoder(model)
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
    from sentvec.io import iter_records

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
    encoder = None if mode == "text" else _encoder(col.meta["model"])
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


def dedup(
    file: Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")],
    threshold: Annotated[
        float, typer.Option(help="Cosine similarity from which texts are duplicates.")
    ] = 0.9,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Groups as .jsonl or .csv [default: JSONL on stdout]."),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Write the rows to keep (one per group, and all others) here."),
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Neighbours examined per text.")] = 10,
    exact: Annotated[
        bool | None,
        typer.Option(
            "--exact/--approximate", help="Neighbour search [default: exact below 20,000 texts]."
        ),
    ] = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = None,
) -> None:
    """Find duplicate and paraphrase groups (nearest-neighbour candidates, connected groups)."""
    from sentvec.apps.dedup import find_duplicates
    from sentvec.apps.output import write_groups, write_records
    from sentvec.io import read_records

    records = read_records(file, text_field=text_field, id_field=id_field)
    result = find_duplicates(
        [r.text for r in records], threshold, encoder=_encoder(model), k=k, exact=exact
    )
    write_groups(result, records, out)
    if keep is not None:
        write_records([records[i] for i in result.keep_indices()], keep)
    dropped = len(records) - len(result.keep_indices())
    typer.echo(
        f"{len(result.groups)} groups, {len(result.pairs)} pairs >= {threshold}; "
        f"keeping {len(records) - dropped} of {len(records)} rows",
        err=True,
    )


def cluster(
    file: Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")],
    method: Annotated[str, typer.Option(help="kmeans, agglomerative or community.")] = "kmeans",
    k: Annotated[
        int | None,
        typer.Option("-k", help="k-means clusters [default: best silhouette in 2..--k-max]."),
    ] = None,
    k_max: Annotated[int, typer.Option(help="Largest k tried when choosing k.")] = 10,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="agglomerative: cosine distance "
            "(default 0.5); community: cosine similarity (default 0.75)."
        ),
    ] = None,
    min_size: Annotated[int, typer.Option(help="community: smallest community.")] = 3,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Per-row labels as .jsonl or .csv.")
    ] = None,
    map_png: Annotated[
        Path | None,
        typer.Option("--map", help="Write a 2-D map here (.png) and next to it as .html."),
    ] = None,
    map_method: Annotated[
        str, typer.Option(help="auto (UMAP if installed), umap or pca.")
    ] = "auto",
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Clusters as JSON lines.")] = False,
) -> None:
    """Cluster texts; describe each cluster by keywords (c-TF-IDF) and central examples."""
    from sentvec.apps.cluster import cluster as run_cluster
    from sentvec.apps.output import write_rows
    from sentvec.io import read_records

    records = read_records(file, text_field=text_field, id_field=id_field)
    texts = [r.text for r in records]
    encoder = _encoder(model)
    vectors = encoder.encode(texts, show_progress=len(texts) >= 1000)
    result = run_cluster(
        texts, method, k=k, k_max=k_max, threshold=threshold, min_size=min_size, vectors=vectors
    )
    for c in result.clusters:
        row = {
            "cluster": c.id,
            "size": c.size,
            "keywords": c.keywords,
            "examples": [texts[i] for i in c.examples],
        }
        if as_json:
            typer.echo(json.dumps(row, ensure_ascii=False))
        else:
            typer.echo(f"cluster {c.id} ({c.size} texts): {', '.join(c.keywords)}")
            for i in c.examples:
                typer.echo(f"    - {texts[i][:120]}")
    unclustered = int((result.labels < 0).sum())
    typer.echo(f"{len(result.clusters)} clusters ({method}); {unclustered} texts in none", err=True)
    if out is not None:
        write_rows(
            (
                {"id": r.id, "cluster": int(c), "text": r.text}
                for r, c in zip(records, result.labels, strict=True)
            ),
            out,
        )
    if map_png is not None:
        from sentvec.apps.plot import reduce_2d, write_html, write_png

        points, used = reduce_2d(vectors, map_method)
        title = f"{file.name}: {len(result.clusters)} clusters ({method}, {used})"
        write_png(points, result.labels, map_png.with_suffix(".png"), title)
        legend = {c.id: ", ".join(c.keywords[:3]) for c in result.clusters}
        write_html(points, result.labels, texts, map_png.with_suffix(".html"), title, legend)
        typer.echo(
            f"map: {map_png.with_suffix('.png')} and {map_png.with_suffix('.html')}", err=True
        )


def classify(
    file: Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")],
    labels: Annotated[str, typer.Option("--labels", "-l", help="Comma-separated label names.")],
    template: Annotated[
        list[str] | None,
        typer.Option(
            "--template", help="Template with {} for the label; repeat to average several."
        ),
    ] = None,
    temperature: Annotated[float, typer.Option(help="Softmax temperature.")] = 0.05,
    multi_label: Annotated[
        bool,
        typer.Option("--multi-label", help="Every label whose similarity reaches --threshold."),
    ] = False,
    threshold: Annotated[float, typer.Option(help="Multi-label cut-off (cosine).")] = 0.3,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=".jsonl or .csv [default: JSONL on stdout].")
    ] = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    model: ModelOpt = None,
) -> None:
    """Zero-shot labels: the label whose template sentence is closest in meaning."""
    from sentvec.apps.classify import DEFAULT_TEMPLATE
    from sentvec.apps.classify import classify as run_classify
    from sentvec.apps.output import write_rows
    from sentvec.io import read_records

    names = [x.strip() for x in labels.split(",") if x.strip()]
    records = read_records(file, text_field=text_field, id_field=id_field)
    results = run_classify(
        [r.text for r in records],
        names,
        templates=template or [DEFAULT_TEMPLATE],
        temperature=temperature,
        multi_label=multi_label,
        threshold=threshold,
        encoder=_encoder(model),
    )
    csv_out = out is not None and out.suffix.lower() in (".csv", ".tsv")
    rows = []
    for r, c in zip(records, results, strict=True):
        scores = (
            {f"score_{k}": round(v, 4) for k, v in c.scores.items()}
            if csv_out
            else {"scores": {k: round(v, 4) for k, v in c.scores.items()}}
        )
        rows.append({"id": r.id, "label": c.label, "labels": c.labels, "text": r.text, **scores})
    write_rows(rows, out)
