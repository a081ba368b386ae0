"""`sentvec encode`, `similarity`, `export` and `info`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from sentvec.cli._options import (
    DEFAULT_BACKEND,
    BackendOpt,
    HeaderOpt,
    IdFieldOpt,
    JsonOpt,
    MaxTokensOpt,
    ModelOpt,
    TextFieldOpt,
    check_output,
    check_output_folder,
    default_backend,
    emit_json,
    load_encoder,
)
from sentvec.errors import SentvecError


def encode(
    file: Annotated[Path | None, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Output .npy or .jsonl (default: stdout "
            "JSONL); a folder (no .npy/.jsonl suffix) streams resumable shards.",
        ),
    ] = None,
    text: Annotated[
        list[str] | None, typer.Option("--text", "-t", help="Inline text (repeatable).")
    ] = None,
    text_field: TextFieldOpt = None,
    id_field: IdFieldOpt = None,
    header: HeaderOpt = True,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    max_tokens: MaxTokensOpt = None,
    shard_size: Annotated[
        int, typer.Option("--shard-size", min=1, help="Records per shard (folder output).")
    ] = 10_000,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    engine: Annotated[
        str,
        typer.Option(
            help="local (this process) or ray (a Ray cluster; FILE may be .parquet or a "
            "folder; --out is a folder of Parquet parts)."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join with --engine ray (auto, HOST:PORT) [default: "
            "start a local one]."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Embed texts from a file (or --text) into .npy or JSONL vectors, or shards in a folder.

    Example: sentvec encode faq.csv --out vectors.npy
    """
    from sentvec.io import Record, check_input_file

    if file is None and not text:
        raise SentvecError("nothing to encode: give a FILE or at least one --text")
    if engine != "local":
        _encode_on_ray(
            engine, file, out, text_field, batch_size, max_tokens, model, backend, address
        )
        return
    if file is not None:
        check_input_file(file)
    if file is not None and out is not None and out.suffix not in (".npy", ".jsonl"):
        from sentvec.bulk import encode_to_shards

        check_output_folder(out)
        result = encode_to_shards(
            load_encoder(model, backend),
            file,
            out,
            text_field=text_field,
            id_field=id_field,
            header=header,
            shard_size=shard_size,
            batch_size=batch_size,
            max_tokens=max_tokens,
        )
        summary = {
            "out": str(out),
            "rows": result.rows,
            "shards": result.shards,
            "resumed": result.resumed_from,
        }
        if as_json:
            emit_json(summary)
        typer.echo(
            f"{result.rows} vectors in {result.shards} shards in {out} "
            f"({result.rows - result.resumed_from} encoded now, {result.resumed_from} "
            "resumed)",
            err=True,
        )
        return
    check_output(out, suffixes=(".npy", ".jsonl"))
    from sentvec.bulk.stream import encode_records
    from sentvec.encoder import PROGRESS_MIN_TEXTS
    from sentvec.io import EmptyInputError, count_records, iter_records

    if file is not None:  # streamed: memory holds one chunk of records, whatever the size
        rows = iter_records(file, text_field, id_field, header=header)
        first = next(rows, None)  # an empty file is refused before the model loads
        if first is None:
            raise EmptyInputError(file, "texts")
        records: Iterable[Record] = itertools.chain([first], rows)
        total = count_records(file)
    else:
        records = [Record(t, str(i)) for i, t in enumerate(text or [], 1)]
        total = len(records)
    written = encode_records(
        load_encoder(model, backend),
        records,
        out,
        source=file or "--text",
        total=total,
        batch_size=batch_size,
        max_tokens=max_tokens,
        show_progress=(total or 0) >= PROGRESS_MIN_TEXTS,
    )
    if out is not None:
        if as_json:
            emit_json({"out": str(out), "rows": written.rows, "dim": written.dim})
        typer.echo(f"wrote {written.rows} vectors of dim {written.dim} to {out}", err=True)


def _encode_on_ray(
    engine: str,
    file: Path | None,
    out: Path | None,
    text_field: str | None,
    batch_size: int,
    max_tokens: int | None,
    model: str | None,
    backend: str | None,
    address: str | None,
) -> None:
    from sentvec.errors import InvalidChoiceError

    if engine != "ray":
        raise InvalidChoiceError("--engine", engine, ["local", "ray"])
    if file is None or out is None:
        raise SentvecError("--engine ray needs an input FILE (or folder) and --out DIR")
    from sentvec.bulk import encode_dataset

    result = encode_dataset(
        file,
        out,
        model=model,
        backend=backend or default_backend(),  # None: the option was not typed
        text_field=text_field,
        batch_size=batch_size,
        max_tokens=max_tokens,
        address=address,
    )
    typer.echo(
        f"{result.rows} vectors in {result.parts} Parquet parts in {out} "
        f"({result.encoded} encoded now, {result.skipped} already done)",
        err=True,
    )


def similarity(
    a: Annotated[str, typer.Argument(help="First text.")],
    b: Annotated[str, typer.Argument(help="Second text.")],
    metric: Annotated[
        str | None, typer.Option(help="cosine, dot, euclidean or manhattan (default: the model's).")
    ] = None,
    model: ModelOpt = None,
    backend: BackendOpt = DEFAULT_BACKEND,
    as_json: JsonOpt = False,
) -> None:
    """Similarity of two texts (negative distance for euclidean/manhattan).

    Example: sentvec similarity "I forgot my password" "How do I reset my password?"
    """
    from sentvec.similarity import METRICS, pairwise_similarity

    if metric is not None and metric not in METRICS:
        from sentvec.errors import InvalidChoiceError

        raise InvalidChoiceError("--metric", metric, METRICS)
    encoder = load_encoder(model, backend)
    va, vb = encoder.encode([a, b])
    used = metric or encoder.spec.similarity
    score = float(pairwise_similarity(va[None], vb[None], used)[0])
    if as_json:
        emit_json({"a": a, "b": b, "metric": used, "score": round(score, 6)})
        return
    typer.echo(f"{score:.4f}")


def export(
    model: Annotated[str | None, typer.Argument(help="Model folder or hub id.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")] = Path("onnx-model"),
    int8: Annotated[bool, typer.Option("--int8", help="Also write model_int8.onnx.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Export a model to ONNX (one graph: transformer, pooling, dense, normalize) in a folder
    that loads with `--backend onnx` without torch.

    Example: sentvec export --out onnx-model --int8
    """
    from sentvec.backends.onnx.export import export_folder

    check_output_folder(out)
    folder = export_folder(model, out, int8=int8)
    files = sorted(p.name for p in folder.glob("*.onnx"))
    if as_json:
        emit_json({"folder": str(folder), "files": files})
        return
    typer.echo(
        f"wrote {', '.join(files)} to {folder}; load it with "
        f"sentvec.load({str(folder)!r}, backend={'onnx-int8' if int8 else 'onnx'!r})"
    )


def info(
    model: Annotated[str | None, typer.Argument(help="Model folder or hub id.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Describe a model: where it is, pooling, dimension, limits, prompts (no weights loaded).

    Example: sentvec info sentence-transformers/all-MiniLM-L6-v2
    """
    from sentvec import hub
    from sentvec.model_format import _read_json, check_weights, read_spec, spec_to_dict

    folder = hub.resolve(model)
    if _describe_static(model, folder):
        return
    spec = read_spec(folder)
    check_weights(spec)
    details = spec_to_dict(spec)
    cfg = _read_json(spec.transformer_path / "config.json")
    arch = cfg.get("architectures")
    details = {
        "model": model or hub.DEFAULT_MODEL,
        "folder": str(folder),
        "architecture": arch[0] if isinstance(arch, list) and arch else cfg.get("model_type"),
        "hidden_size": cfg.get("hidden_size"),
        "layers": cfg.get("num_hidden_layers"),
        **details,
    }
    if as_json:
        emit_json(details)
        return
    for key, value in details.items():
        typer.echo(f"{key:20s} {json.dumps(value) if not isinstance(value, str) else value}")


def _describe_static(model: str | None, folder: Path) -> bool:
    """Print a static model's description (``sentvec distill`` folders); False if not one."""
    from sentvec.backends.static.model import StaticModel, static_module_dir

    if static_module_dir(folder) is None:
        return False
    static = StaticModel.load(folder)
    details = {
        "model": model,
        "folder": str(folder),
        "architecture": "StaticEmbedding (backend static)",
        "vocab_size": len(static.embeddings),
        "dim": static.dim,
        "normalize": static.normalize,
        **static.info,
    }
    for key, value in details.items():
        typer.echo(f"{key:20s} {json.dumps(value) if not isinstance(value, str) else value}")
    return True


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(encode)
    app.command()(similarity)
    app.command()(export)
    app.command()(info)
