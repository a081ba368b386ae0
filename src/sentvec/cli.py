"""The ``sentvec`` command line. Heavy imports (torch, transformers) happen inside commands,
so ``sentvec --help`` answers fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

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
    Optional[str],
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
    Optional[int],
    typer.Option("--max-tokens", min=1, help="Token budget per batch (rows x longest row) "
                 "[default: the backend's own, see BENCHMARKS.md]."),
]
TextFieldOpt = Annotated[
    Optional[str], typer.Option("--text-field", help="JSONL key / CSV column holding the text.")
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
        Optional[Path], typer.Option("--file", "-f", help="Search this file (txt/JSONL/CSV) "
                                      "instead of the shipped knowledge base.")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="Hits per query.", min=1)] = 3,
    text_field: TextFieldOpt = None,
    model: ModelOpt = None,
    backend: BackendOpt = "torch",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per hit.")] = False,
) -> None:
    """Semantic search: find the entries closest in meaning to each query."""
    from sentvec.apps.search import search_records
    from sentvec.io import read_records

    if file is None:
        records = read_records(knowledge_base_path())
        for r in records:  # search question and answer together
            r.metadata["question"] = r.text
            r.text = f"{r.text} {r.metadata['answer']}"
    else:
        records = read_records(file, text_field=text_field)
    encoder = load_encoder(model, backend)
    for q, hits in zip(query, search_records(encoder, records, query, k)):
        if as_json:
            for rank, (score, rec) in enumerate(hits, 1):
                row = {"query": q, "rank": rank, "score": round(score, 4), "id": rec.id,
                       "text": rec.text, **rec.metadata}
                typer.echo(json.dumps(row, ensure_ascii=False))
            continue
        typer.echo(f"Query: {q}")
        for rank, (score, rec) in enumerate(hits, 1):
            title = rec.metadata.get("question", rec.text)
            typer.echo(f"  {rank}. [{score:.3f}] {rec.id}  {title}")
            if "answer" in rec.metadata:
                typer.echo(f"       {rec.metadata['answer']}")
        typer.echo("")


@app.command()
def encode(
    file: Annotated[Optional[Path], typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")] = None,
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Output .npy or .jsonl [default: stdout "
                                     "JSONL]; a folder (no .npy/.jsonl suffix) streams resumable shards.")
    ] = None,
    text: Annotated[
        Optional[list[str]], typer.Option("--text", "-t", help="Inline text (repeatable).")
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

        result = encode_to_shards(load_encoder(model, backend), file, out, text_field=text_field,
                                  shard_size=shard_size, batch_size=batch_size,
                                  max_tokens=max_tokens)
        typer.echo(f"{result.rows} vectors in {result.shards} shards in {out} "
                   f"({result.rows - result.resumed_from} encoded now, {result.resumed_from} "
                   "resumed)", err=True)
        return
    records = read_records(file, text_field) if file else [
        Record(t, str(i)) for i, t in enumerate(text or [], 1)
    ]
    vectors = load_encoder(model, backend).encode([r.text for r in records], batch_size=batch_size,
                                                  max_tokens=max_tokens,
                                                  show_progress=len(records) >= 1000)
    if out is not None and out.suffix == ".npy":
        import numpy as np

        np.save(out, vectors)
    else:
        stream = open(out, "w", encoding="utf8") if out else sys.stdout  # noqa: SIM115
        try:
            for r, v in zip(records, vectors):
                stream.write(json.dumps({"id": r.id, "vector": [round(float(x), 7) for x in v]}) + "\n")
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
        Optional[str], typer.Option(help="cosine, dot, euclidean or manhattan [default: the model's].")
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
    model: Annotated[Optional[str], typer.Argument(help="Model folder or hub id.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")] = Path("onnx-model"),
    int8: Annotated[bool, typer.Option("--int8", help="Also write model_int8.onnx.")] = False,
) -> None:
    """Export a model to ONNX (one graph: transformer, pooling, dense, normalize) in a folder
    that loads with `--backend onnx` without torch."""
    from sentvec.backends.onnx_export import export_folder

    folder = export_folder(model, out, int8=int8)
    files = sorted(p.name for p in folder.glob("*.onnx"))
    typer.echo(f"wrote {', '.join(files)} to {folder}; load it with "
               f"sentvec.load({str(folder)!r}, backend={'onnx-int8' if int8 else 'onnx'!r})")


@app.command()
def info(
    model: Annotated[Optional[str], typer.Argument(help="Model folder or hub id.")] = None,
) -> None:
    """Describe a model: where it is, pooling, dimension, limits, prompts (no weights loaded)."""
    from sentvec import hub
    from sentvec.config import read_spec, spec_to_dict

    folder = hub.resolve(model)
    details = spec_to_dict(read_spec(folder))
    cfg = json.loads((Path(details["transformer_path"]) / "config.json").read_text(encoding="utf8"))
    details = {"model": model or hub.DEFAULT_MODEL, "folder": str(folder),
               "architecture": (cfg.get("architectures") or [cfg.get("model_type")])[0],
               "hidden_size": cfg.get("hidden_size"), "layers": cfg.get("num_hidden_layers"),
               **details}
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
    typer.echo(f"{'metric':10s} {'spearman':>9s} {'pearson':>9s}   ({len(evaluator.data.scores)} pairs)")
    for m in ("cosine", "dot", "euclidean", "manhattan"):
        typer.echo(f"{m:10s} {100 * metrics[f'sts_{m}_spearman']:9.2f} "
                   f"{100 * metrics[f'sts_{m}_pearson']:9.2f}")


def main() -> None:
    """Entry point: run the app; SentvecErrors become one clear line and exit code 2."""
    try:
        app()
    except SentvecError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
