"""`sentvec encode`, `similarity`, `export` and `info`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.cli._options import (
    BackendOpt,
    MaxTokensOpt,
    ModelOpt,
    TextFieldOpt,
    load_encoder,
)
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    pass


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


def info(
    model: Annotated[str | None, typer.Argument(help="Model folder or hub id.")] = None,
) -> None:
    """Describe a model: where it is, pooling, dimension, limits, prompts (no weights loaded)."""
    from sentvec import hub
    from sentvec.config import read_spec, spec_to_dict

    folder = hub.resolve(model)
    if _describe_static(model, folder):
        return
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


def _describe_static(model: str | None, folder: Path) -> bool:
    """Print a static model's description (``sentvec distill`` folders); False if not one."""
    from sentvec.static.model import StaticModel, static_module_dir

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
