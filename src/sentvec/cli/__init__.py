"""The ``sentvec`` command line.

One module per command group; shared options live once in :mod:`sentvec.cli._options`.
Heavy imports (torch, transformers, lancedb) happen inside commands, so ``sentvec --help``
answers fast. :func:`main` is the one error boundary: a :class:`SentvecError` (a user
error) prints one ``error:`` line and exits 2; anything else is a bug and says how to get
the traceback (``--debug`` or ``SENTVEC_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from sentvec.cli import apps, encode, evaluate, index, search, serve, train
from sentvec.errors import SentvecError

app = typer.Typer(
    name="sentvec",
    help="Sentence embeddings: encode, compare, search, evaluate, train.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"sentvec {version('sentvec')}")
        except PackageNotFoundError:  # running from a source tree without an install
            typer.echo("sentvec (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")
    ] = False,
) -> None:
    """Sentence embeddings: encode, compare, search, evaluate, train."""
    if debug:
        os.environ["SENTVEC_DEBUG"] = "1"


for _group in (search, encode, index, apps, evaluate, train, serve):
    _group.register(app)


def main() -> None:
    """Entry point: user errors become one ``error:`` line (exit 2); bugs one line (exit 1)."""
    try:
        app()
    except SentvecError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:
        if os.environ.get("SENTVEC_DEBUG") or "--debug" in sys.argv:
            raise
        typer.echo(
            f"error: unexpected {type(e).__name__}: {e}. This is a bug in sentvec; "
            "run again with --debug (or SENTVEC_DEBUG=1) for the traceback and report it.",
            err=True,
        )
        sys.exit(1)


__all__ = ["app", "main"]
