"""Errors that carry the offending value and say how to fix it."""

from __future__ import annotations

import errno
from collections.abc import Iterable
from pathlib import Path


class SentvecError(Exception):
    """Base class of every error sentvec raises on purpose."""


class ModelNotFoundError(SentvecError, FileNotFoundError):
    """A model folder is missing, or lacks a file it needs."""

    def __init__(self, path: str | Path, missing: str, fix: str = "") -> None:
        self.path = str(path)
        self.missing = missing
        hint = (
            fix
            or "check the path, or pass a Hugging Face model id such as 'BAAI/bge-small-en-v1.5'"
        )
        super().__init__(f"cannot load a model from {self.path!r}: {missing}. Fix: {hint}.")


class BrokenModelError(SentvecError, ValueError):
    """A model folder exists but one of its files cannot be read."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"the model at {self.path!r} is broken: {problem}. "
            "Fix: re-download or re-save the model folder."
        )


class OfflineModelError(SentvecError, OSError):
    """A hub id was asked for but cannot be fetched (offline, or not on the hub)."""

    def __init__(self, model_id: str, reason: str) -> None:
        self.model_id = model_id
        super().__init__(
            f"cannot fetch model {model_id!r} from the Hugging Face hub: {reason}. "
            "Fix: go online once and unset HF_HUB_OFFLINE so it is cached, "
            "or pass the path of a local model folder instead."
        )


class InvalidChoiceError(SentvecError, ValueError):
    """A value is not one of a fixed set of choices."""

    def __init__(self, what: str, value: object, valid: Iterable[str]) -> None:
        self.what = what
        self.value = value
        self.valid = list(valid)
        super().__init__(f"invalid {what} {value!r}; valid values are: {', '.join(self.valid)}.")


class TextTooLongError(SentvecError, ValueError):
    """A text is longer than the model's maximum sequence length and truncation was refused."""

    def __init__(self, indices: list[int], lengths: list[int], max_tokens: int) -> None:
        self.indices = indices
        self.lengths = lengths
        self.max_tokens = max_tokens
        shown = ", ".join(f"#{i} ({n} tokens)" for i, n in zip(indices[:5], lengths[:5]))
        more = f" and {len(indices) - 5} more" if len(indices) > 5 else ""
        super().__init__(
            f"{len(indices)} text(s) exceed the model's limit of {max_tokens} tokens: "
            f"{shown}{more}. Fix: pass long_text='truncate' to cut them, "
            "or long_text='chunk' to embed them in windows."
        )


class TextTypeError(SentvecError, TypeError):
    """An item in the input is not a string."""

    def __init__(self, index: int, value: object) -> None:
        self.index = index
        self.value = value
        if index < 0:  # the argument itself, not an item
            super().__init__(
                f"texts must be a string or a list of strings, got {type(value).__name__} "
                f"({value!r:.60}). Fix: pass e.g. ['first text', 'second text']."
            )
            return
        super().__init__(
            f"item #{index} is {type(value).__name__} ({value!r:.60}), not str. "
            "Fix: pass a list of strings; convert or drop the non-string items first."
        )


class MissingExtraError(SentvecError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, cause: str | None = None) -> None:
        self.package = package
        self.extra = extra
        broken = f" (it is installed, but importing it failed: {cause})" if cause else ""
        super().__init__(
            f"this feature needs the {package!r} package{broken}. "
            f"Fix: pip install 'sentvec[{extra}]'."
        )


class DimensionMismatchError(SentvecError, ValueError):
    """Two sets of vectors that must share a dimension do not."""

    def __init__(self, what: str, a: tuple[int, ...], b: tuple[int, ...]) -> None:
        self.a, self.b = a, b
        super().__init__(
            f"{what} needs vectors of one dimension, got shapes {a} and {b}. "
            "Fix: encode both sides with the same model."
        )


class OutOfRangeError(SentvecError, ValueError):
    """A number is outside the range it must lie in."""

    def __init__(self, what: str, value: object, valid: str, fix: str = "") -> None:
        self.what, self.value = what, value
        super().__init__(
            f"{what} {value!r} is out of range: it must be {valid}."
            + (f" Fix: {fix}." if fix else "")
        )


class InvalidTextError(SentvecError, ValueError):
    """A text holds a lone surrogate (half of a UTF-16 pair), which is not valid Unicode."""

    def __init__(self, index: int, position: int, char: str) -> None:
        self.index, self.position = index, position
        super().__init__(
            f"text #{index} holds a lone surrogate {char!r} at character {position}, which is "
            "not valid Unicode (often undecodable bytes or half of an emoji). Fix: decode the "
            "input as UTF-8, or drop that character."
        )


# errno -> (what is wrong with the store, the fix)
_STORAGE_PROBLEMS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("its disk is full", "free space on that disk, or use a store on another disk"),
    errno.EDQUOT: ("the disk quota is used up", "free space or raise the quota"),
    errno.EROFS: (
        "it is on a read-only file system",
        "remount it read-write, or pass a writable folder with --store",
    ),
    errno.EACCES: (
        "permission is denied",
        "give this user write access to it, or pass a writable folder with --store",
    ),
    errno.EPERM: (
        "the operation is not permitted",
        "give this user write access to it, or pass a writable folder with --store",
    ),
}
# how LanceDB (Rust) words them inside its own RuntimeError/OSError/ValueError
_STORAGE_WORDS = {
    "no space left on device": errno.ENOSPC,
    "os error 28": errno.ENOSPC,
    "disk quota exceeded": errno.EDQUOT,
    "read-only file system": errno.EROFS,
    "os error 30": errno.EROFS,
    "permission denied": errno.EACCES,
    "os error 13": errno.EACCES,
}


class StorageError(SentvecError, OSError):
    """The store cannot be written: disk full, read-only, or no permission. Nothing was changed."""

    def __init__(self, path: str | Path, what: str, code: int) -> None:
        self.path = str(path)
        self.what = what
        self.errno_code = code
        problem, fix = _STORAGE_PROBLEMS[code]
        super().__init__(
            code, f"cannot write the store {self.path!r} ({what}): {problem}. Fix: {fix}."
        )

    def __str__(self) -> str:
        return str(self.strerror)

    @property
    def kind(self) -> str:
        """``disk_full``, ``read_only`` or ``permission_denied``."""
        if self.errno_code in (errno.ENOSPC, errno.EDQUOT):
            return "disk_full"
        return "read_only" if self.errno_code == errno.EROFS else "permission_denied"


def storage_errno(exc: BaseException) -> int | None:
    """The errno of a full / read-only / forbidden store behind ``exc`` (or its causes), if
    that is what it is, else None."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, StorageError):
            return e.errno_code
        if isinstance(e, OSError) and e.errno in _STORAGE_PROBLEMS:
            return e.errno
        text = str(e).lower()
        for words, code in _STORAGE_WORDS.items():
            if words in text:
                return code
        e = e.__cause__ or e.__context__
    return None


def storage_error(exc: BaseException, path: str | Path, what: str) -> StorageError | None:
    """A :class:`StorageError` for ``exc`` if it is a full / read-only / forbidden store."""
    if isinstance(exc, StorageError):
        return exc
    code = storage_errno(exc)
    return None if code is None else StorageError(path, what, code)
