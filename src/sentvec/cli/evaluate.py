"""`sentvec eval ...`: score a model on a benchmark file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.cli._options import (
    COSINE_RANGE,
    DEFAULT_BACKEND,
    BackendOpt,
    ColumnsOpt,
    HeaderOpt,
    JsonOpt,
    ModelOpt,
    check_range,
    load_encoder,
    parse_columns,
)
from sentvec.cli.index import StoreOpt

if TYPE_CHECKING:
    pass


eval_app = typer.Typer(help="Evaluate a model on a benchmark file.", no_args_is_help=True)


@eval_app.command("sts")
def eval_sts(
    file: Annotated[Path, typer.Argument(help="STS benchmark file (tab-separated).")],
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: Annotated[bool, typer.Option("--json", help="Print all metrics as JSON.")] = False,
) -> None:
    """Spearman/Pearson x 100 between similarity and gold scores, for each metric.

    Example: sentvec eval sts sts-test.tsv --json
    """
    from sentvec.evaluate.sts import STSEvaluator

    evaluator = STSEvaluator.from_file(file, name="sts")
    metrics = evaluator(load_encoder(model, backend))
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    typer.echo(
        f"{'metric':10s} {'spearman':>9s} {'pearson':>9s}   ({len(evaluator.data.scores)} pairs)"
    )
    for m in ("cosine", "dot", "euclidean", "manhattan"):
        typer.echo(
            f"{m:10s} {100 * metrics[f'sts_{m}_spearman']:9.2f} "
            f"{100 * metrics[f'sts_{m}_pearson']:9.2f}"
        )


def _print_metrics(metrics: dict[str, float], primary: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    for key, value in metrics.items():
        mark = "  <- primary" if key == primary else ""
        typer.echo(f"{key:40s} {value:10.4f}{mark}")


@eval_app.command("retrieval")
def eval_retrieval(
    folder: Annotated[
        Path, typer.Argument(help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv.")
    ],
    split: Annotated[str, typer.Option(help="qrels file name.")] = "test",
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Retrieval: MRR@10, nDCG@10, Recall@1/10/100, MAP@100 (exact search).

    Example: sentvec eval retrieval scifact/ --split test
    """
    from sentvec.evaluate.retrieval import RetrievalEvaluator

    evaluator = RetrievalEvaluator.from_folder(folder, split)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@eval_app.command("pairs")
def eval_pairs(
    file: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL of sentence pairs with a 0/1 label.")],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    threshold: Annotated[
        float | None, typer.Option(help="Also score this fixed cosine threshold (-1..1).")
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Paraphrase / duplicate classification: accuracy, F1, average precision, thresholds.

    Columns default to sentence1,sentence2,label (MSRP: "#1 String,#2 String,Quality").

    Example: sentvec eval pairs msrp.tsv --columns "#1 String,#2 String,Quality"
    """
    from sentvec.evaluate.pairs import PairClassificationEvaluator, read_pairs

    check_range("--threshold", threshold, *COSINE_RANGE)
    cols = parse_columns(columns, ("sentence1", "sentence2", "label"), header)
    evaluator = PairClassificationEvaluator(read_pairs(file, cols, header), threshold=threshold)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@eval_app.command("triplets")
def eval_triplets(
    file: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL of anchor, positive, negative.")],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Triplet accuracy: share of anchors closer to their positive than to their negative.

    Example: sentvec eval triplets triplets.csv --no-header --columns 0,1,2
    """
    from sentvec.evaluate.triplets import TripletEvaluator

    cols = parse_columns(columns, ("anchor", "positive", "negative"), header)
    evaluator = TripletEvaluator.from_file(file, cols, header=header)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@eval_app.command("clusters")
def eval_clusters(
    file: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL of texts with a gold label.")],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Clustering: k-means (k = number of labels) and V-measure against the labels.

    Example: sentvec eval clusters news.csv --columns text,label
    """
    from sentvec.evaluate.clustering import ClusteringEvaluator

    cols = parse_columns(columns, ("text", "label"), header)
    evaluator = ClusteringEvaluator.from_file(file, cols, header=header)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@eval_app.command("judgments")
def eval_judgments(
    name: Annotated[str, typer.Argument(help="Collection name.")],
    store: StoreOpt = None,
    mode: Annotated[str, typer.Option(help="Search mode scored: vector, text or hybrid.")] = (
        "hybrid"
    ),
    against_mode: Annotated[
        str | None, typer.Option(help="Also score this mode on the same judgments.")
    ] = None,
    against_model: Annotated[
        str | None,
        typer.Option(
            help="Also score this model: the collection's documents are encoded with it in "
            "memory (the collection is not changed)."
        ),
    ] = None,
    export: Annotated[
        Path | None,
        typer.Option(help="Write the judgments as a BEIR folder (corpus, queries, qrels)."),
    ] = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Score a collection on its thumbs up / down: nDCG@10, MRR@10, hit@1 over the judged
    queries, with the collection's model (and optionally another mode or model).

    Example: sentvec eval judgments helpcentre --against-model ./my-finetuned-model
    """
    from sentvec.cli.index import _open
    from sentvec.errors import SentvecError
    from sentvec.evaluate.judgments import HOW_TO_JUDGE, export_beir, qrels, score_judgments

    col = _open(store, name)
    labels, n = qrels(col)
    if export is not None:
        counts = export_beir(col, export)
        typer.echo(
            f"wrote {export}: {counts['queries']} queries, {counts['qrels']} judgments, "
            f"{counts['documents']} documents (read it with `sentvec eval retrieval {export}`)",
            err=True,
        )
    if not any(any(rel.values()) for rel in labels.values()):
        what = f"{n} judgments, none a thumbs up" if n else "no judgments"
        raise SentvecError(f"collection {name!r} has {what}: nothing to score. {HOW_TO_JUDGE}")
    encoder = load_encoder(col.meta["model"], backend)
    col.check_model(encoder)
    results = [score_judgments(col, encoder, mode=mode)]
    if against_mode:
        results.append(score_judgments(col, encoder, mode=against_mode))
    if against_model:
        other = load_encoder(against_model, backend)
        results.append(score_judgments(col, encoder, mode=mode, other_model=other))
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    first = results[0]
    typer.echo(
        f"{first.queries} judged queries with a right answer ({first.judged} judged, "
        f"{first.judgments} judgments)"
    )
    width = max(len(r.setting) for r in results)
    typer.echo(f"{'setting':{width}s} {'nDCG@10':>8s} {'MRR@10':>8s} {'hit@1':>8s}")
    for r in results:
        typer.echo(f"{r.setting:{width}s} {r.ndcg:8.4f} {r.mrr:8.4f} {r.hit1:8.4f}")
    if first.queries < 30:
        typer.echo(
            f"note: {first.queries} queries is few; differences under ~0.1 are noise at this size",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add the `eval` group to the main app."""
    app.add_typer(eval_app, name="eval")
