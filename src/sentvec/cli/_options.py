"""Options shared by every command, defined once so the same flag means the same thing
everywhere. Only typer is imported here: models, torch and stores load inside commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


def _check_backend(value: str | None) -> str | None:
    """Validate --backend against sentvec.backends.BACKENDS (imported only when a command runs)."""
    from sentvec.backends import BACKENDS
    from sentvec.errors import InvalidChoiceError

    if value is not None and value not in BACKENDS:
        raise InvalidChoiceError("--backend", value, BACKENDS)
    return value


ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model folder or hub id [default: all-MiniLM-L6-v2]."),
]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Inference backend: torch, onnx or onnx-int8 (onnx needs sentvec[onnx]).",
        callback=_check_backend,
    ),
]
CascadeOpt = Annotated[
    str | None,
    typer.Option(
        "--cascade",
        help="A fast first-stage model (a static folder from `sentvec distill`): it shortlists, "
        "--model re-scores the shortlist.",
    ),
]
KOpt = Annotated[int, typer.Option("-k", "--top-k", min=1, help="Results per query.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
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
    str | None,
    typer.Option(
        "--text-field", help="JSONL key / CSV column (name, or index with --no-header) of the text."
    ),
]
IdFieldOpt = Annotated[
    str | None,
    typer.Option(
        "--id-field",
        help="JSONL key / CSV column holding the id [default: id, else the line number].",
    ),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns", help="Comma-separated column names (or 0-based indices with --no-header)."
    ),
]
HeaderOpt = Annotated[bool, typer.Option("--header/--no-header", help="CSV/TSV has a header row.")]
InputArg = Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")]

DEFAULT_BACKEND = "torch"


def load_encoder(model: str | None, backend: str | None = None) -> Encoder:
    """Load a model for a command (heavy imports happen only now)."""
    from sentvec.encoder import load

    return load(model, backend=backend or DEFAULT_BACKEND)


def parse_columns(value: str | None, default: tuple[str, ...], header: bool) -> list[str | int]:
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
