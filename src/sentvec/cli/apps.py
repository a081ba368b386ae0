"""`sentvec dedup`, `cluster` and `classify`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.cli._options import (
    IdFieldOpt,
    ModelOpt,
    TextFieldOpt,
    load_encoder,
)

if TYPE_CHECKING:
    pass


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
        [r.text for r in records], threshold, encoder=load_encoder(model), k=k, exact=exact
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
    encoder = load_encoder(model)
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
        encoder=load_encoder(model),
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


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(dedup)
    app.command()(cluster)
    app.command()(classify)
