"""`sentvec dedup`, `cluster` and `classify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sentvec.cli._options import (
    COSINE_RANGE,
    DEFAULT_BACKEND,
    BackendOpt,
    CascadeOpt,
    HeaderOpt,
    IdFieldOpt,
    JsonOpt,
    ModelOpt,
    TextFieldOpt,
    check_output,
    check_range,
    emit_json,
    load_encoder,
    require_rows,
)

_ROWS_OUT = (".jsonl", ".csv", ".tsv")


def dedup(
    file: Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")],
    threshold: Annotated[
        float, typer.Option(help="Cosine similarity (-1..1) from which texts are duplicates.")
    ] = 0.9,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Groups as .jsonl or .csv (default: JSONL on stdout)."),
    ] = None,
    keep: Annotated[
        Path | None,
        typer.Option("--keep", help="Write the rows to keep (one per group, and all others) here."),
    ] = None,
    k: Annotated[
        int,
        typer.Option(
            "-k", "--top-k", min=1, max=10_000, help="Neighbours (results) examined per text."
        ),
    ] = 10,
    exact: Annotated[
        bool | None,
        typer.Option(
            "--exact/--approximate", help="Neighbour search (default: exact below 20,000 texts)."
        ),
    ] = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
    cascade: CascadeOpt = None,
    cascade_margin: Annotated[
        float,
        typer.Option(help="With --cascade: re-score first-stage pairs from THRESHOLD - this."),
    ] = 0.15,
) -> None:
    """Find duplicate and paraphrase groups (nearest-neighbour candidates, connected groups).

    Example: sentvec dedup questions.txt --threshold 0.9 --keep unique.txt
    """
    from sentvec.apps.dedup import find_duplicates
    from sentvec.apps.output import write_groups, write_records
    from sentvec.io import read_records

    check_range("--threshold", threshold, *COSINE_RANGE)
    check_output(out, suffixes=_ROWS_OUT)
    check_output(keep, "--keep", suffixes=(".txt", *_ROWS_OUT))
    records = read_records(file, text_field=text_field, id_field=id_field, header=header)
    require_rows(records, file)
    result = find_duplicates(
        [r.text for r in records],
        threshold,
        encoder=load_encoder(model, backend),
        k=k,
        exact=exact,
        cascade=load_encoder(cascade) if cascade is not None else None,
        cascade_margin=cascade_margin,
    )
    write_groups(result, records, out)
    if keep is not None:
        write_records([records[i] for i in result.keep_indices()], keep)
    kept = len(result.keep_indices())
    if as_json and out is not None:
        emit_json({"groups": len(result.groups), "pairs": len(result.pairs), "kept": kept,
                   "rows": len(records), "out": str(out)})  # fmt: skip
    typer.echo(
        f"{len(result.groups)} groups, {len(result.pairs)} pairs >= {threshold}; "
        f"keeping {kept} of {len(records)} rows",
        err=True,
    )


def cluster(
    file: Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")],
    method: Annotated[str, typer.Option(help="kmeans, agglomerative or community.")] = "kmeans",
    clusters: Annotated[
        int | None,
        typer.Option(
            "--clusters",
            "-n",
            min=1,
            help="k-means clusters (default: best silhouette in 2..--k-max).",
        ),
    ] = None,
    k_max: Annotated[int, typer.Option(min=2, help="Largest k tried when choosing k.")] = 10,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="agglomerative: cosine distance 0..2 "
            "(default 0.5); community: cosine similarity -1..1 (default 0.75)."
        ),
    ] = None,
    min_size: Annotated[int, typer.Option(min=1, help="community: smallest community.")] = 3,
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
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: Annotated[bool, typer.Option("--json", help="Clusters as JSON lines.")] = False,
) -> None:
    """Cluster texts; describe each cluster by keywords (c-TF-IDF) and central examples.

    Example: sentvec cluster news.csv --clusters 4 --map news.png
    """
    from sentvec.apps.cluster import cluster as run_cluster
    from sentvec.apps.output import write_rows
    from sentvec.errors import InvalidChoiceError
    from sentvec.io import read_records

    methods = ("kmeans", "agglomerative", "community")
    if method not in methods:
        raise InvalidChoiceError("--method", method, methods)
    if map_method not in ("auto", "umap", "pca"):
        raise InvalidChoiceError("--map-method", map_method, ("auto", "umap", "pca"))
    check_range(
        "--threshold", threshold, *((0.0, 2.0) if method == "agglomerative" else COSINE_RANGE)
    )
    check_output(out, suffixes=_ROWS_OUT)
    check_output(map_png, "--map", suffixes=(".png",))
    records = read_records(file, text_field=text_field, id_field=id_field, header=header)
    require_rows(records, file)
    texts = [r.text for r in records]
    if clusters is not None and clusters > len(texts):
        check_range("--clusters", clusters, 1, len(texts), "ask for at most one cluster per text")
    encoder = load_encoder(model, backend)
    vectors = encoder.encode(texts, show_progress=len(texts) >= 1000)
    result = run_cluster(
        texts,
        method,
        k=clusters,
        k_max=k_max,
        threshold=threshold,
        min_size=min_size,
        vectors=vectors,
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
        legend = {c.id: ", ".join(c.keywords[:3]) for c in result.clusters}
        write_png(points, result.labels, map_png.with_suffix(".png"), title, legend)
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
    temperature: Annotated[float, typer.Option(help="Softmax temperature (> 0).")] = 0.05,
    multi_label: Annotated[
        bool,
        typer.Option("--multi-label", help="Every label whose similarity reaches --threshold."),
    ] = False,
    threshold: Annotated[float, typer.Option(help="Multi-label cut-off (cosine, -1..1).")] = 0.3,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help=".jsonl or .csv (default: JSONL on stdout).")
    ] = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Zero-shot labels: the label whose template sentence is closest in meaning.

    Example: sentvec classify news.csv --labels World,Sports,Business,Sci/Tech
    """
    from sentvec.apps.classify import DEFAULT_TEMPLATE
    from sentvec.apps.classify import classify as run_classify
    from sentvec.apps.output import write_rows
    from sentvec.errors import SentvecError
    from sentvec.io import read_records

    names = [x.strip() for x in labels.split(",") if x.strip()]
    if not names:
        raise SentvecError(f"--labels {labels!r} names no label. Fix: e.g. --labels sports,news")
    check_range("--threshold", threshold, *COSINE_RANGE)
    if not temperature > 0:
        check_range(
            "--temperature", temperature, 1e-9, fix="pass a small positive value, e.g. 0.05"
        )
    from sentvec.apps.classify import check_template

    for t in template or []:
        check_template(t)  # exactly one {}, substituted as plain text (no str.format)
    check_output(out, suffixes=_ROWS_OUT)
    records = read_records(file, text_field=text_field, id_field=id_field, header=header)
    require_rows(records, file)
    results = run_classify(
        [r.text for r in records],
        names,
        templates=template or [DEFAULT_TEMPLATE],
        temperature=temperature,
        multi_label=multi_label,
        threshold=threshold,
        encoder=load_encoder(model, backend),
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
    if as_json and out is not None:
        emit_json({"rows": len(rows), "out": str(out)})


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(dedup)
    app.command()(cluster)
    app.command()(classify)
