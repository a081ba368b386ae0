"""Errors as OpenAI's envelope: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sentvec.errors import SentvecError


class APIError(SentvecError):
    """An error with its HTTP status, in OpenAI's error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return envelope(self.message, self.type, self.param, self.code)


def envelope(
    message: str, type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def validation_message(errors: list[dict[str, Any]]) -> tuple[str, str | None]:
    """One readable line (and the offending field) from pydantic's error list."""
    parts, param = [], None
    for e in errors[:3]:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        where = ".".join(loc) or "body"
        param = param or (loc[0] if loc else None)
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    fix = " Fix: send the fields as the schema at /docs describes."
    return "invalid request: " + "; ".join(parts) + more + "." + fix, param


class ErrorDetail(BaseModel):
    """What went wrong and how to fix it."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error envelope: every 4xx and 5xx of the API."""

    error: ErrorDetail


_MEANING = {
    400: "A user error the library refused (the message says the fix).",
    401: "Missing or wrong API key.",
    404: "Unknown model, collection or document.",
    409: "The collection was made by a model this server does not serve.",
    413: "Past a limit: texts, characters, tokens, queued texts or body bytes.",
    422: "Invalid request: a field's type or value (the message names it).",
    429: "The model's queue is full: retry after Retry-After seconds.",
    503: "The models are still loading.",
    507: "The store cannot be written: its disk is full, it is read-only or not permitted.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, each with the envelope's schema."""
    return {s: {"model": ErrorBody, "description": _MEANING[s]} for s in statuses}


API_ERRORS = error_responses(400, 401, 404, 409, 413, 422, 429, 503, 507)

__all__ = [
    "API_ERRORS",
    "APIError",
    "ErrorBody",
    "envelope",
    "error_responses",
    "validation_message",
]
