"""Run the `sentvec` command in-process with the same error boundary as ``sentvec.cli.main``."""

from __future__ import annotations

from typer.testing import CliRunner

from sentvec.errors import SentvecError


def run_cli(args: list[str], input: str | None = None) -> tuple[int, str]:
    """:return: (exit code, stdout + stderr) as a user of the installed command would see them."""
    from sentvec.cli import app

    result = CliRunner().invoke(app, args, input=input)
    output = result.output
    exc = result.exception
    if exc is None or isinstance(exc, SystemExit):
        return result.exit_code, output
    if isinstance(exc, SentvecError):
        return 2, output + f"error: {exc}\n"
    import traceback

    trace = "".join(traceback.format_exception(exc))
    return 1, output + f"Traceback (unexpected {type(exc).__name__}):\n{trace}"
