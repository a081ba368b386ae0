"""The ``sentvec`` command line.

One module per command group; shared options live once in :mod:`sentvec.cli._options`.
Heavy imports (torch, transformers, lancedb) happen inside commands, so ``sentvec --help``
answers fast. :func:`main` is the one error boundary: a :class:`SentvecError` (a user
error) prints one ``error:`` line and exits 2; anything else is a bug and says how to get
the traceback (``--debug`` or ``SENTVEC_DEBUG=1``).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated, Any, NoReturn

import typer
import typer.main

from sentvec.cli import apps, cross, distill, encode, evaluate, index, search, serve, train
from sentvec.errors import SentvecError

try:  # typer >= 0.25 ships its own copy of click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_errors  # type: ignore[no-redef]

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


for _group in (search, encode, index, apps, evaluate, train, distill, serve, cross):
    _group.register(app)


def _hide_flag_types() -> None:
    """typer 0.29 prints ``<bool>`` after every flag in --help; a flag takes no value, so
    show no type for it (a display-only patch, applied once)."""
    from typer.core import TyperOption

    original = TyperOption.display_type_rich
    if getattr(original, "_sentvec_patched", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else original(self, ctx)

    display_type_rich._sentvec_patched = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()


@functools.cache
def _command() -> Any:
    """The click command tree, built once per process (typer rebuilds it on every call)."""
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors (bad options, bad files, bad values) become one ``error:``
    line and exit code 2; a bug prints one line saying so and how to see the traceback, exit 1.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = _command().main(args=args, prog_name="sentvec", standalone_mode=False)
    except SentvecError as e:
        _fail(str(e), 2)
    except click_errors.NoArgsIsHelpError as e:  # `sentvec` or `sentvec eval` alone: help
        typer.echo(e.ctx.get_help() if e.ctx else "")
        sys.exit(0)
    except click_errors.UsageError as e:
        hint = f" Fix: see `{e.ctx.command_path} --help`." if e.ctx else ""
        _fail(f"{e.format_message().rstrip('.')}.{hint}", 2)
    except click_errors.ClickException as e:
        _fail(e.format_message(), 2)
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `sentvec encode ... | head`: the reader left; not an error
        sys.stderr.close()
        sys.exit(0)
    except Exception as e:
        if os.environ.get("SENTVEC_DEBUG") or "--debug" in args:
            raise
        _fail(
            f"unexpected {type(e).__name__}: {e}. This is a bug in sentvec; "
            "run again with --debug (or SENTVEC_DEBUG=1) for the traceback and report it.",
            1,
        )
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)


__all__ = ["app", "main"]
