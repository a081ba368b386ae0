"""What every reader yields and raises: :class:`Record` (a text, its id, its metadata) and the
errors that name the file and line (re-exported by :mod:`sentvec.io`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentvec.errors import SentvecError


@dataclass
class Record:
    """One input row: its text, an id, and any other fields as metadata."""

    text: str
    id: str
    metadata: dict[str, Any] = field(default_factory=dict)


class InputFileError(SentvecError, ValueError):
    """A row of an input file cannot be read."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        where = f"{path}:{line}" if line > 0 else str(path)
        super().__init__(f"{where}: {problem}")


class EmptyInputError(SentvecError, ValueError):
    """An input file holds no rows."""

    def __init__(self, path: str | Path, what: str = "rows") -> None:
        self.path = Path(path)
        super().__init__(
            f"{str(path)!r} holds no {what}. Fix: give a file with at least one row "
            "(check the file, its format and --text-field/--columns)."
        )


__all__ = ["EmptyInputError", "InputFileError", "Record"]
