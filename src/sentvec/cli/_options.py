"""Options shared by every command, defined once so the same flag means the same thing
everywhere. Only typer is imported here: models, torch and stores load inside commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


def _check_backend(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """Validate --backend against sentvec.backends.BACKENDS (imported only when a command runs).

    A value the user did not type (the command's declared default) becomes None, so that
    :func:`load_encoder` picks :func:`default_backend`."""
    from sentvec.backends import BACKENDS
    from sentvec.errors import InvalidChoiceError

    source = ctx.get_parameter_source(param.name) if param.name else None
    if getattr(source, "name", "") in ("DEFAULT", "DEFAULT_MAP"):  # typer vendors click's enum
        return None
    if value is not None and value not in BACKENDS:
        raise InvalidChoiceError("--backend", value, BACKENDS)
    return value


# typer finds the context and parameter arguments by their annotation objects, which
# ``from __future__ import annotations`` turns into strings: give it the real classes.
_check_backend.__annotations__.update(ctx=typer.Context, param=typer.CallbackParam)

ModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Model folder or hub id (default: all-MiniLM-L6-v2)."),
]
BackendOpt = Annotated[
    str,
    typer.Option(
        "--backend",
        help="Inference backend: torch, onnx or onnx-int8. Default: onnx when onnxruntime is "
        "installed (exported once with torch, then loaded without it: about 1 s to start), "
        "else torch.",
        callback=_check_backend,
        show_default=False,
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
KOpt = Annotated[
    int, typer.Option("-k", "--top-k", min=1, max=100_000, help="Results per query (1 to 100,000).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
MaxTokensOpt = Annotated[
    int | None,
    typer.Option(
        "--max-tokens",
        min=1,
        help="Token budget per batch (rows x longest row) "
        "(default: the backend's own, see BENCHMARKS.md).",
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
        help="JSONL key / CSV column (name, or index with --no-header) of the id "
        "(default: id, else the line number).",
    ),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns", help="Comma-separated column names (or 0-based indices with --no-header)."
    ),
]
HeaderOpt = Annotated[
    bool,
    typer.Option(
        "--header/--no-header",
        help="CSV/TSV has a header row; with --no-header name columns by 0-based index.",
    ),
]
InputArg = Annotated[Path, typer.Argument(help="Input: .txt, .jsonl, .csv or .tsv.")]

#: The CLI's backend when --backend is not given: ``onnx`` (fp32, the same vectors as torch to
#: ~1e-6) if onnxruntime is installed, else ``torch``. The graph is exported with torch once and
#: cached; later runs load it with onnxruntime + tokenizers and never import torch, so commands
#: start in about 1 s instead of 6-9 s (BENCHMARKS.md, "Start-up time").
DEFAULT_BACKEND = "onnx"
FALLBACK_BACKEND = "torch"


def default_backend() -> str:
    """:data:`DEFAULT_BACKEND` when its packages are installed, else :data:`FALLBACK_BACKEND`."""
    import importlib.util

    try:
        ok = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))
    except (ImportError, ValueError):
        ok = False
    return DEFAULT_BACKEND if ok else FALLBACK_BACKEND


def load_encoder(model: str | None, backend: str | None = None) -> Encoder:
    """Load a model for a command (heavy imports happen only now).

    :param model: model reference (None: the packaged default).
    :param backend: the backend the user asked for; None: :func:`default_backend`, falling back
        to torch (with a note on stderr) if this model cannot be exported to ONNX.
    :return: the encoder.
    """
    from sentvec.encoder import load

    if backend is not None:
        return load(model, backend=backend)
    chosen = default_backend()
    if chosen == FALLBACK_BACKEND:
        return load(model, backend=chosen)
    try:
        return load(model, backend=chosen)
    except SentvecError:
        raise
    except Exception as e:  # an architecture torch.onnx cannot export: keep working on torch
        typer.echo(
            f"note: could not export this model to ONNX ({type(e).__name__}); using torch "
            "(pass --backend torch to skip the attempt)",
            err=True,
        )
        return load(model, backend=FALLBACK_BACKEND)


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


def check_output(path: Path | None, what: str = "--out", suffixes: tuple[str, ...] = ()) -> None:
    """Refuse an output file path before any work is done: a folder, a missing parent
    folder, or a suffix the command cannot write.

    :param path: the path (None: nothing to check). :param what: the option, for the message.
    :param suffixes: allowed suffixes (empty: any).
    :raises SentvecError: naming the path and the fix.
    """
    if path is None:
        return
    if path.is_dir():
        raise SentvecError(
            f"{what} {str(path)!r} is a folder. Fix: give a file name, e.g. {str(path / 'out')!r}"
            + (suffixes[0] if suffixes else "")
        )
    if not path.parent.is_dir():
        raise SentvecError(
            f"{what} {str(path)!r}: the folder {str(path.parent)!r} does not exist. "
            f"Fix: create it first (mkdir -p {path.parent}) or choose another path"
        )
    if suffixes and path.suffix.lower() not in suffixes:
        raise SentvecError(
            f"{what} {str(path)!r} has an unknown suffix. Fix: use one of {', '.join(suffixes)}"
        )


def check_output_folder(path: Path, what: str = "--out") -> None:
    """Refuse an output folder path that is an existing file.

    :param path: the folder. :param what: the option, for the message.
    :raises SentvecError: naming the path and the fix.
    """
    if path.exists() and not path.is_dir():
        raise SentvecError(f"{what} {str(path)!r} is a file. Fix: give a folder path")


def check_range(
    what: str, value: float | None, low: float, high: float | None = None, fix: str = ""
) -> None:
    """Refuse a number outside ``[low, high]`` (or below ``low`` when high is None).

    :param what: the option name. :param value: the value (None: not given, nothing to check).
    :param low: the smallest allowed. :param high: the largest allowed.
    :param fix: how to fix it (default: the range).
    :raises OutOfRangeError: naming the option, value and range.
    """
    import math

    from sentvec.errors import OutOfRangeError

    if value is None:
        return
    if math.isnan(value) or value < low or (high is not None and value > high):
        valid = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise OutOfRangeError(what, value, valid, fix or f"pass {what} {valid}")


COSINE_RANGE = (-1.0, 1.0)  # a cosine similarity threshold


def require_rows(rows: list, path: Path, what: str = "texts") -> None:
    """Refuse an input that gave no rows (an empty file, or only blank lines).

    :param rows: the rows read. :param path: the file. :param what: what was expected.
    :raises EmptyInputError: naming the file.
    """
    from sentvec.io import EmptyInputError

    if not rows:
        raise EmptyInputError(path, what)


def emit_json(data: object) -> None:
    """Print one JSON document on stdout (for --json)."""
    import json

    typer.echo(json.dumps(data, ensure_ascii=False))
