"""The ``sentvec`` command line. Heavy imports (torch, transformers) happen inside commands,
so ``sentvec --help`` answers fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

app = typer.Typer(
    name="sentvec",
    help="Sentence embeddings: encode, compare, search, evaluate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
eval_app = typer.Typer(help="Evaluate a model on a benchmark file.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model folder or hub id [default: all-MiniLM-L6-v2]."),
]
BACKEND_HELP = "Inference backend: torch, onnx or onnx-int8 (onnx needs sentvec[onnx])."


def _check_backend(value: str) -> str:
    """Validate --backend against sentvec.backends.BACKENDS (imported only when a command runs)."""
    from sentvec.backends import BACKENDS
    from sentvec.errors import InvalidChoiceError

    if value not in BACKENDS:
        raise InvalidChoiceError("--backend", value, BACKENDS)
    return value


BackendOpt = Annotated[str, typer.Option("--backend", help=BACKEND_HELP, callback=_check_backend)]
MaxTokensOpt = Annotated[
    int | None,
    typer.Option(
        "--max-tokens",
        min=1,
        help="Token budget per batch (rows x longest row) "
        "[default: the backend's own, see BENCHMARKS.md].",
    ),
]
TextFieldOpt = Annotated[
    str | None, typer.Option("--text-field", help="JSONL key / CSV column holding the text.")
]


def load_encoder(model: str | None, backend: str = "torch") -> Encoder:
    """Load a model for a command (imports torch only now)."""
    from sentvec.encoder import load

    return load(model, backend=backend)


def knowledge_base_path() -> Path:
    """The support knowledge base that ships with sentvec (the main job's demo data)."""
    return Path(__file__).parent / "data" / "knowledge_base.jsonl"


@app.command()
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
    k: Annotated[int, typer.Option("-k", help="Hits per query.", min=1)] = 3,
    text_field: TextFieldOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per hit.")] = False,
) -> None:
    """Semantic search: find the entries closest in meaning to each query."""
    encoder = load_encoder(model, backend)
    if file is None:
        results = _search_knowledge_base(encoder, query, k)
    else:
        from sentvec.apps.search import search_records
        from sentvec.io import read_records

        records = read_records(file, text_field=text_field)
        results = [
            [(s, r.id, r.text, r.metadata) for s, r in hits]
            for hits in search_records(encoder, records, query, k)
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


@app.command()
def encode(
    file: Annotated[Path | None, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output .npy or .jsonl [default: stdout "
            "JSONL]; a folder (no .npy/.jsonl suffix) streams resumable shards.",
        ),
    ] = None,
    text: Annotated[
        list[str] | None, typer.Option("--text", "-t", help="Inline text (repeatable).")
    ] = None,
    text_field: TextFieldOpt = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    max_tokens: MaxTokensOpt = None,
    shard_size: Annotated[
        int, typer.Option("--shard-size", min=1, help="Records per shard (folder output).")
    ] = 10_000,
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
) -> None:
    """Embed texts from a file (or --text) into .npy or JSONL vectors, or shards in a folder."""
    from sentvec.io import Record, read_records

    if file is None and not text:
        raise SentvecError("nothing to encode: give a FILE or at least one --text")
    if file is not None and out is not None and out.suffix not in (".npy", ".jsonl"):
        from sentvec.bulk import encode_to_shards

        result = encode_to_shards(
            load_encoder(model, backend),
            file,
            out,
            text_field=text_field,
            shard_size=shard_size,
            batch_size=batch_size,
            max_tokens=max_tokens,
        )
        typer.echo(
            f"{result.rows} vectors in {result.shards} shards in {out} "
            f"({result.rows - result.resumed_from} encoded now, {result.resumed_from} "
            "resumed)",
            err=True,
        )
        return
    records = (
        read_records(file, text_field)
        if file
        else [Record(t, str(i)) for i, t in enumerate(text or [], 1)]
    )
    vectors = load_encoder(model, backend).encode(
        [r.text for r in records],
        batch_size=batch_size,
        max_tokens=max_tokens,
        show_progress=len(records) >= 1000,
    )
    if out is not None and out.suffix == ".npy":
        import numpy as np

        np.save(out, vectors)
    else:
        stream = open(out, "w", encoding="utf8") if out else sys.stdout  # noqa: SIM115
        try:
            for r, v in zip(records, vectors):
                stream.write(
                    json.dumps({"id": r.id, "vector": [round(float(x), 7) for x in v]}) + "\n"
                )
        finally:
            if out:
                stream.close()
    if out is not None:
        typer.echo(f"wrote {len(records)} vectors of dim {vectors.shape[1]} to {out}", err=True)


@app.command()
def similarity(
    a: Annotated[str, typer.Argument(help="First text.")],
    b: Annotated[str, typer.Argument(help="Second text.")],
    metric: Annotated[
        str | None, typer.Option(help="cosine, dot, euclidean or manhattan [default: the model's].")
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
) -> None:
    """Similarity of two texts (negative distance for euclidean/manhattan)."""
    from sentvec.similarity import pairwise_similarity

    encoder = load_encoder(model, backend)
    va, vb = encoder.encode([a, b])
    score = pairwise_similarity(va[None], vb[None], metric or encoder.spec.similarity)[0]
    typer.echo(f"{score:.4f}")


@app.command()
def export(
    model: Annotated[str | None, typer.Argument(help="Model folder or hub id.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")] = Path("onnx-model"),
    int8: Annotated[bool, typer.Option("--int8", help="Also write model_int8.onnx.")] = False,
) -> None:
    """Export a model to ONNX (one graph: transformer, pooling, dense, normalize) in a folder
    that loads with `--backend onnx` without torch."""
    from sentvec.backends.onnx_export import export_folder

    folder = export_folder(model, out, int8=int8)
    files = sorted(p.name for p in folder.glob("*.onnx"))
    typer.echo(
        f"wrote {', '.join(files)} to {folder}; load it with "
        f"sentvec.load({str(folder)!r}, backend={'onnx-int8' if int8 else 'onnx'!r})"
    )


@app.command()
def info(
    model: Annotated[str | None, typer.Argument(help="Model folder or hub id.")] = None,
) -> None:
    """Describe a model: where it is, pooling, dimension, limits, prompts (no weights loaded)."""
    from sentvec import hub
    from sentvec.config import read_spec, spec_to_dict

    folder = hub.resolve(model)
    details = spec_to_dict(read_spec(folder))
    cfg = json.loads((Path(details["transformer_path"]) / "config.json").read_text(encoding="utf8"))
    details = {
        "model": model or hub.DEFAULT_MODEL,
        "folder": str(folder),
        "architecture": (cfg.get("architectures") or [cfg.get("model_type")])[0],
        "hidden_size": cfg.get("hidden_size"),
        "layers": cfg.get("num_hidden_layers"),
        **details,
    }
    for key, value in details.items():
        typer.echo(f"{key:20s} {json.dumps(value) if not isinstance(value, str) else value}")


@eval_app.command("sts")
def eval_sts(
    file: Annotated[Path, typer.Argument(help="STS benchmark file (tab-separated).")],
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
    as_json: Annotated[bool, typer.Option("--json", help="Print all metrics as JSON.")] = False,
) -> None:
    """Spearman/Pearson x 100 between similarity and gold scores, for each metric."""
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


# Applications (sentvec.apps.commands: typer only at import; heavy imports inside commands).
from sentvec.apps import commands as _apps  # noqa: E402

app.add_typer(_apps.index_app, name="index")
app.command("dedup")(_apps.dedup)
app.command("cluster")(_apps.cluster)
app.command("classify")(_apps.classify)
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns", help="Comma-separated column names (or 0-based indices with --no-header)."
    ),
]
HeaderOpt = Annotated[bool, typer.Option("--header/--no-header", help="CSV/TSV has a header row.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print all metrics as JSON.")]


def _columns(value: str | None, default: tuple[str, ...], header: bool) -> list[str | int]:
    """Parse --columns: names, or indices when the file has no header."""
    if value is None:
        if not header:
            return list(range(len(default)))
        return list(default)
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != len(default):
        raise SentvecError(
            f"--columns needs {len(default)} columns ({', '.join(default)}), got {value!r}"
        )
    return [int(p) if not header and p.isdigit() else p for p in parts]


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
    backend: BackendOpt = "torch",
    as_json: JsonOpt = False,
) -> None:
    """Retrieval: MRR@10, nDCG@10, Recall@1/10/100, MAP@100 (exact search)."""
    from sentvec.evaluate.retrieval import RetrievalEvaluator

    evaluator = RetrievalEvaluator.from_folder(folder, split)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@eval_app.command("pairs")
def eval_pairs(
    file: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL of sentence pairs with a 0/1 label.")],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    threshold: Annotated[
        float | None, typer.Option(help="Also score this fixed cosine threshold.")
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
    as_json: JsonOpt = False,
) -> None:
    """Paraphrase / duplicate classification: accuracy, F1, average precision, thresholds.

    Columns default to sentence1,sentence2,label (MSRP: "#1 String,#2 String,Quality")."""
    from sentvec.evaluate.pairs import PairClassificationEvaluator, read_pairs

    cols = _columns(columns, ("sentence1", "sentence2", "label"), header)
    evaluator = PairClassificationEvaluator(read_pairs(file, cols, header), threshold=threshold)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@eval_app.command("triplets")
def eval_triplets(
    file: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL of anchor, positive, negative.")],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
    as_json: JsonOpt = False,
) -> None:
    """Triplet accuracy: share of anchors closer to their positive than to their negative."""
    from sentvec.evaluate.triplets import TripletEvaluator

    cols = _columns(columns, ("anchor", "positive", "negative"), header)
    evaluator = TripletEvaluator.from_file(file, cols, header=header)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@eval_app.command("clusters")
def eval_clusters(
    file: Annotated[Path, typer.Argument(help="CSV/TSV/JSONL of texts with a gold label.")],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
    as_json: JsonOpt = False,
) -> None:
    """Clustering: k-means (k = number of labels) and V-measure against the labels."""
    from sentvec.evaluate.clustering import ClusteringEvaluator

    cols = _columns(columns, ("text", "label"), header)
    evaluator = ClusteringEvaluator.from_file(file, cols, header=header)
    _print_metrics(evaluator(load_encoder(model, backend)), evaluator.primary_metric, as_json)


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="Training config (.toml, .yaml or .yml).")],
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue from the last checkpoint.")
    ] = True,
) -> None:
    """Fine-tune a model from a config file; save it (with a model card) to OUTPUT_DIR/model.

    Multi-process: torchrun --nproc-per-node 2 -m sentvec train CONFIG"""
    from sentvec.train.config import build_data, build_evaluator, build_losses, load_config
    from sentvec.train.trainer import Trainer

    cfg = load_config(config)
    cfg.training.resume = resume
    from sentvec.encoder import load

    encoder = load(cfg.model, max_seq_length=cfg.max_seq_length)
    data = build_data(cfg)
    for d in data:
        if d.skipped:
            typer.echo(f"{d.name}: skipped {d.skipped} malformed row(s)", err=True)
    trainer = Trainer(
        encoder, build_losses(cfg, encoder), data, cfg.training, build_evaluator(cfg.evaluator)
    )
    state = trainer.train()
    folder = trainer.save(
        Path(cfg.training.output_dir) / "model",
        base_model=cfg.model or "sentence-transformers/all-MiniLM-L6-v2",
    )
    if trainer.rank == 0:
        best = f", best {state.best:.4f}" if state.best is not None else ""
        typer.echo(f"trained {state.step} steps{best}; model saved to {folder}")


@app.command("mine-negatives")
def mine_negatives(
    file: Annotated[Path, typer.Argument(help="(anchor, positive) pairs: CSV/TSV/JSONL.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output JSONL: anchor, positive, negative_1, ...")
    ],
    columns: ColumnsOpt = None,
    header: HeaderOpt = True,
    corpus: Annotated[
        Path | None, typer.Option(help="Candidate texts (txt/JSONL/CSV) [default: the positives].")
    ] = None,
    num_negatives: Annotated[int, typer.Option(min=1, help="Negatives per pair.")] = 1,
    skip_top: Annotated[int, typer.Option(min=0, help="Skip the N best-ranked candidates.")] = 0,
    margin: Annotated[
        float | None,
        typer.Option(help="Skip candidates scored above sim(anchor, positive) - MARGIN."),
    ] = 0.05,
    max_score: Annotated[
        float | None, typer.Option(help="Skip candidates scored above this.")
    ] = None,
    model: ModelOpt = None,
) -> None:
    """Mine hard negatives with the current model, guarding against false negatives."""
    from sentvec.evaluate.files import read_columns
    from sentvec.io import read_records
    from sentvec.train.mining import mine_hard_negatives, rows_to_jsonl

    pairs = [
        (r[0], r[1])
        for r in read_columns(file, _columns(columns, ("anchor", "positive"), header), header)
    ]
    texts = [r.text for r in read_records(corpus)] if corpus else None
    rows, dropped = mine_hard_negatives(
        load_encoder(model),
        pairs,
        texts,
        num_negatives=num_negatives,
        skip_top=skip_top,
        margin=margin,
        max_score=max_score,
    )
    with open(out, "w", encoding="utf8") as f:
        for obj in rows_to_jsonl(rows):
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    typer.echo(
        f"wrote {len(rows)} rows to {out}; {dropped} pair(s) had too few negatives", err=True
    )


def main() -> None:
    """Entry point: run the app; SentvecErrors become one clear line and exit code 2."""
    try:
        app()
    except SentvecError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
