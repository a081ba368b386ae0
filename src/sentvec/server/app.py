"""The app factory: :func:`create_app` wires settings, models, routes, errors and metrics."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sentvec.errors import SentvecError, StorageError
from sentvec.server.errors import API_ERRORS, APIError, envelope, validation_message
from sentvec.server.limits import BodyLimitMiddleware
from sentvec.server.metrics import Metrics
from sentvec.server.models import serve_model
from sentvec.server.openapi import describe
from sentvec.server.queue import QueueFullError
from sentvec.server.settings import Settings
from sentvec.server.state import ServerState

if TYPE_CHECKING:
    from sentvec.cross import CrossEncoder
    from sentvec.encoder import Encoder

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def create_app(
    settings: Settings | None = None,
    encoders: dict[str, Encoder] | None = None,
    rerankers: dict[str, CrossEncoder] | None = None,
) -> Any:
    """Build the FastAPI app.

    :param settings: the server settings (default: :class:`Settings`()).
    :param encoders: already loaded encoders by served name (tests); else the models of
        ``settings.models`` are loaded at start-up, off the event loop (``/ready`` says when).
    :param rerankers: already loaded cross-encoders by served name (tests); else those of
        ``settings.rerank_models``.
    :return: the ASGI app.
    """
    from sentvec.server.routes import collections, core, kb, openai, rerank, web

    settings = settings or Settings()
    st = ServerState(settings, Metrics.create())

    def hook_for(name: str) -> Callable[[int, int, float], None]:
        def hook(texts: int, tokens: int, seconds: float) -> None:
            st.metrics.batch_size.labels(name).observe(texts)
            st.metrics.batch_tokens.labels(name).observe(tokens)
            st.metrics.batch_seconds.labels(name).observe(seconds)

        return hook

    def load_all() -> None:
        from sentvec.encoder import load

        if encoders is not None:
            loaded = dict(encoders)
        else:
            options = settings.backend_options()
            loaded = {
                name: load(path, backend=settings.backend, **options)
                for name, path in settings.models.items()
            }
        for name, enc in loaded.items():
            st.models[name] = serve_model(name, enc, settings, hook_for(name))
        rerank.load_rerankers(st, rerankers)
        st.ready = True
        st.start_jobs()  # after the models: a resumed upload needs its encoder

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().run_in_executor(None, load_all)
        if encoders is not None:
            await task  # already loaded: only the queues are built
        try:
            yield
        finally:
            if not task.done():
                await task
            if st.jobs is not None:
                await asyncio.get_running_loop().run_in_executor(None, st.jobs.close)
            for m in st.models.values():
                await m.queue.close()
            await rerank.close_rerankers(st)

    app = FastAPI(
        title="sentvec",
        summary="Sentence embeddings over HTTP: OpenAI-compatible embeddings, similarity, "
        "zero-shot classification and collection search.",
        version=_version(),
        lifespan=lifespan,
    )
    app.state.sentvec = st
    auth = [Depends(require_key)] if settings.api_key else []
    app.include_router(openai.router, dependencies=auth, responses=API_ERRORS)
    app.include_router(core.router, dependencies=auth, responses=API_ERRORS)
    app.include_router(collections.router, dependencies=auth, responses=API_ERRORS)
    app.include_router(kb.router, dependencies=auth, responses=API_ERRORS)
    app.include_router(rerank.router, dependencies=auth, responses=API_ERRORS)
    keyed = (openai.router, core.router, collections.router, kb.router, rerank.router)
    app.state.keyed_endpoints = {getattr(r, "endpoint", None) for rt in keyed for r in rt.routes}
    app.include_router(core.probes, dependencies=[])
    app.include_router(web.router)
    web.mount_static(app)
    _errors(app)
    describe(app, settings)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # uploads stream to disk under their own limit (max_upload_bytes, checked by the route)
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, exempt=r"/collections/[^/]+/uploads"
    )
    app.add_middleware(MetricsMiddleware, metrics=st.metrics)
    return app


async def require_key(request: Request) -> None:
    """Check ``Authorization: Bearer KEY`` in constant time.

    :raises APIError: 401 without the right key.
    """
    expected = request.app.state.sentvec.settings.api_key
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), str(expected).encode()
    ):
        raise APIError(
            401,
            "missing or wrong API key. Fix: send the header 'Authorization: Bearer KEY'.",
            type="authentication_error",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _errors(app: FastAPI) -> None:
    """Every error as OpenAI's envelope."""

    @app.exception_handler(APIError)
    async def api_error(request: Request, e: APIError) -> JSONResponse:
        return JSONResponse(e.body(), e.status, headers=e.headers)

    @app.exception_handler(QueueFullError)
    async def queue_full(request: Request, e: QueueFullError) -> JSONResponse:
        body = envelope(str(e), "rate_limit_error", None, "queue_full")
        return JSONResponse(body, 429, headers={"Retry-After": str(e.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        if _needs_key(request):  # the body is parsed before dependencies: the key comes first
            try:
                await require_key(request)
            except APIError as denied:
                return JSONResponse(denied.body(), denied.status, headers=denied.headers)
        message, param = validation_message(list(e.errors()))
        return JSONResponse(envelope(message, "invalid_request_error", param), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if e.status_code == 404 else "invalid_request_error"
        message = str(e.detail)
        if "Fix:" not in message:
            message += f". Fix: {_HTTP_FIXES.get(e.status_code, 'see the API at /docs.')}"
        return JSONResponse(envelope(message, kind), e.status_code, headers=e.headers)

    @app.exception_handler(StorageError)
    async def storage_error(request: Request, e: StorageError) -> JSONResponse:
        # a full, read-only or forbidden store: nothing was changed; 507 Insufficient Storage
        return JSONResponse(envelope(str(e), "storage_error", None, e.kind), 507)

    @app.exception_handler(SentvecError)
    async def user_error(request: Request, e: SentvecError) -> JSONResponse:
        return JSONResponse(envelope(str(e), "invalid_request_error"), 400)


_HTTP_FIXES = {
    400: "send a JSON body encoded as UTF-8, as the schema at /docs describes.",
    404: "no such route; the routes are listed at /docs.",
    405: "use the method /docs lists for this route.",
}


def _needs_key(request: Request) -> bool:
    """Whether the matched route is one behind the API key."""
    if not request.app.state.sentvec.settings.api_key:
        return False
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    return endpoint is not None and endpoint in request.app.state.keyed_endpoints


class MetricsMiddleware:
    """Counts requests and times them per route (pure ASGI: no per-request task overhead)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(name, str(status[0])).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - start)


def _version() -> str:
    from sentvec._version import __version__

    return __version__


__all__ = ["create_app", "require_key"]
