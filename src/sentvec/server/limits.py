"""Request body limit: a pure ASGI middleware that answers 413 before a too-large body is
read into memory (by its ``Content-Length``, or while a chunked body streams in). Routes that
stream their body to disk (uploads) are exempt: they keep a limit of their own."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException

from sentvec.server.errors import envelope

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class BodyLimitMiddleware:
    """413 with OpenAI's error envelope for a body over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: str | None = None) -> None:
        """:param max_bytes: the largest body. :param exempt: a regex of paths (matched in
        full) that stream their body and check its size themselves."""
        self.app, self.max_bytes = app, max_bytes
        self.exempt = re.compile(exempt) if exempt else None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (self.exempt and self.exempt.fullmatch(scope["path"])):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send, int(length))
            return
        seen = 0

        async def limited_receive() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # a streamed body: the app's handler answers 413
                    raise HTTPException(413, self.message(seen))
            return message

        await self.app(scope, limited_receive, send)

    def message(self, size: int) -> str:
        """What the 413 says."""
        return (
            f"the request body has {size:,} bytes or more; the limit is {self.max_bytes:,}. "
            "Fix: send fewer or shorter texts per request (or start sentvec serve with a "
            "larger --max-body-mb)."
        )

    async def _refuse(self, send: Any, size: int) -> None:
        body = orjson.dumps(
            envelope(self.message(size), "invalid_request_error", None, "body_too_large")
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


__all__ = ["BodyLimitMiddleware"]
