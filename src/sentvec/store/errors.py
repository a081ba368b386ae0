"""Errors of the persistent collection, each naming the bad value and a fix."""

from __future__ import annotations

from sentvec.errors import SentvecError


class CollectionNotFoundError(SentvecError, FileNotFoundError):
    """No collection of that name under the root folder."""

    def __init__(self, name: str, root: str, existing: list[str]) -> None:
        self.name, self.root = name, root
        have = ", ".join(existing) if existing else "none"
        super().__init__(
            f"no collection {name!r} in {root!r} (collections there: {have}). "
            f"Fix: create it with `sentvec index add {name} FILE`."
        )


class ModelMismatchError(SentvecError, ValueError):
    """Vectors from another model (or other settings) than the collection's own were offered."""

    def __init__(
        self, collection: str, have_model: str, have_fp: str, got_model: str, got_fp: str
    ) -> None:
        self.collection = collection
        self.have_model, self.have_fp, self.got_model, self.got_fp = (
            have_model,
            have_fp,
            got_model,
            got_fp,
        )
        super().__init__(
            f"collection {collection!r} holds vectors of model {have_model!r} (fingerprint "
            f"{have_fp}), not of {got_model!r} (fingerprint {got_fp}); mixing them would give "
            f"meaningless scores. Fix: pass --model {have_model}, or use a new collection."
        )


class FilterError(SentvecError, ValueError):
    """A ``where`` filter the database cannot run."""

    def __init__(
        self, where: str, columns: list[str], reason: str, structured: bool = False
    ) -> None:
        self.where = where
        self.columns = columns
        self.reason = reason.splitlines()[0][:200].rstrip(".")
        fix = (
            f"filter on the columns {', '.join(columns)}, e.g. "
            '{"category": "billing", "year": {"$gte": 2020}}'
            if structured
            else f"write an SQL condition on the columns {', '.join(columns)}, "
            "e.g. \"category = 'billing'\" (strings in single quotes)"
        )
        super().__init__(f"cannot filter with {where!r}: {self.reason}. Fix: {fix}.")


class MetadataTypeError(SentvecError, ValueError):
    """A metadata value does not fit the type its column got from the first rows."""

    def __init__(self, row_id: str, column: str, value: object, expected: str) -> None:
        self.row_id, self.column, self.value, self.expected = row_id, column, value, expected
        super().__init__(
            f"row {row_id!r}: metadata {column!r} = {value!r:.60} is not {expected} "
            "like the earlier rows. Fix: make the column one type in every row, "
            "or put the file in a new collection."
        )
