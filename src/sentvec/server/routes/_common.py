"""Helpers every route module uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from sentvec.server.errors import APIError
from sentvec.server.state import ServerState


class StrictBody(BaseModel):
    """A request body read as its schema says: JSON true is not 1, 1 is not true, "5" is
    not 5 (pydantic's lax mode would take each, so the schema would not tell the truth)."""

    model_config = ConfigDict(strict=True)


def state(request: Request) -> ServerState:
    """The app's shared state."""
    return request.app.state.sentvec


def dumps(body: Any) -> bytes:
    """JSON bytes; numpy arrays are written as lists. A float32 vector is written in its
    shortest exact form: 20x faster than ``json`` and half the bytes of a float64 repr (the
    same float32 values after parsing). Integers beyond 64 bits (stored metadata may hold
    them) fall back to the standard library, which writes them exactly."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError:  # orjson.JSONEncodeError: "Integer exceeds 64-bit range"
        import json

        def default(o: Any) -> Any:
            if hasattr(o, "tolist"):
                return o.tolist()
            raise TypeError(f"{type(o).__name__} is not JSON serializable")

        return json.dumps(body, default=default, ensure_ascii=False).encode()


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response without FastAPI's slow generic encoder (bodies are plain already)."""
    return Response(dumps(body), status_code=status, media_type="application/json")


def check_texts(texts: Sequence[str], st: ServerState, param: str = "input") -> None:
    """Apply the per-request limits on items and characters.

    :raises APIError: 413 past a limit, 422 for an empty text or one holding a lone
        surrogate (not valid Unicode: the tokenizer cannot take it).
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
        check_unicode(t, f"{param}[{i}]", param)


def check_unicode(text: str, where: str, param: str | None = None) -> None:
    """Refuse a text holding a lone surrogate (``"\\ud800"`` in JSON: half of a UTF-16 pair).

    :raises APIError: 422 naming the position and the fix.
    """
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise APIError(
            422,
            f"{where} holds a lone surrogate {text[e.start]!r} at character {e.start}, which is "
            "not valid Unicode (half of a UTF-16 pair). Fix: send valid UTF-8 text, or drop "
            "that character.",
            param=param or where,
            code="invalid_text",
        ) from None


def check_documents(documents: Sequence[Any], param: str = "documents") -> None:
    """Each document's id, title and metadata as valid text a store can keep (no lone
    surrogates, no NaN or Infinity, text keys), before any work.

    :raises APIError: 422 naming the document, the field and the fix.
    """
    from sentvec.errors import SentvecError
    from sentvec.store.columns import check_metadata

    for i, d in enumerate(documents):
        check_unicode(d.id, f"{param}[{i}].id", param)
        if d.title is not None:
            check_unicode(d.title, f"{param}[{i}].title", param)
        try:
            check_metadata(d.id, d.metadata)
        except SentvecError as e:
            raise APIError(422, str(e), param=param, code="invalid_metadata") from None


def check_vector(vector: Sequence[float], dim: int, param: str = "vector") -> None:
    """Refuse a query vector of the wrong size, with NaN or infinite values, or all zeros
    (the store's own rule, answered as 422 before any work).

    :raises APIError: 422 naming the fix.
    """
    from sentvec.errors import SentvecError
    from sentvec.store.search import check_vector as store_check

    try:
        store_check(vector, dim)
    except SentvecError as e:
        raise APIError(422, str(e), param=param, code="invalid_vector") from None


def check_query(text: str, st: ServerState) -> None:
    """A search query within the request limits and the store's query length.

    :raises APIError: 413 past a limit, 422 for invalid text.
    """
    from sentvec.store.search import MAX_QUERY_CHARS

    check_texts([text], st, "query")
    if len(text) > MAX_QUERY_CHARS:
        raise APIError(
            413,
            f"the query has {len(text)} characters; the limit is {MAX_QUERY_CHARS}. Fix: "
            "search with the question, not a whole document.",
            param="query",
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


__all__ = [
    "StrictBody",
    "check_documents",
    "check_query",
    "check_texts",
    "check_tokens",
    "check_unicode",
    "check_vector",
    "json_response",
    "state",
]
