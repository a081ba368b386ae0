"""Helpers every route module uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from sentvec.server.errors import APIError
from sentvec.server.state import ServerState


def state(request: Request) -> ServerState:
    """The app's shared state."""
    return request.app.state.sentvec


def dumps(body: Any) -> bytes:
    """JSON bytes; numpy arrays are written as lists. A float32 vector is written in its
    shortest exact form: 20x faster than ``json`` and half the bytes of a float64 repr (the
    same float32 values after parsing)."""
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response without FastAPI's slow generic encoder (bodies are plain already)."""
    return Response(dumps(body), status_code=status, media_type="application/json")


def check_texts(texts: Sequence[str], st: ServerState, param: str = "input") -> None:
    """Apply the per-request limits on items and characters.

    :raises APIError: 413 past a limit, 422 for an empty text.
    """
    s = st.settings
    if not texts:
        raise APIError(422, f"{param} is empty. Fix: send at least one text.", param=param)
    if len(texts) > s.max_items:
        raise APIError(
            413,
            f"{param} has {len(texts)} items; the limit is {s.max_items}. Fix: split the request.",
            param=param,
            code="too_many_items",
        )
    for i, t in enumerate(texts):
        if not t:
            raise APIError(422, f"{param}[{i}] is an empty string. Fix: drop it.", param=param)
        if len(t) > s.max_chars:
            raise APIError(
                413,
                f"{param}[{i}] has {len(t)} characters; the limit is {s.max_chars}. "
                "Fix: split the text.",
                param=param,
                code="text_too_long",
            )


def check_tokens(tokens: int, st: ServerState, param: str = "input") -> None:
    """Refuse a request over the token limit (413)."""
    if tokens > st.settings.max_request_tokens:
        raise APIError(
            413,
            f"{param} has {tokens} tokens; the limit is {st.settings.max_request_tokens}. "
            "Fix: split the request.",
            param=param,
            code="too_many_tokens",
        )


__all__ = ["check_texts", "check_tokens", "json_response", "state"]
