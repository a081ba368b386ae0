"""`sentvec serve`: the HTTP API (OpenAI-compatible embeddings, collections) and web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sentvec.cli._options import DEFAULT_BACKEND, BackendOpt, default_backend
from sentvec.errors import SentvecError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def parse_models(values: list[str] | None) -> dict[str, str | None]:
    """``--model`` values (``NAME=PATH``, or a path / hub id named by its last part) by name.

    :raises SentvecError: for a name given twice.
    """
    if not values:
        return {DEFAULT_MODEL_NAME: None}
    out: dict[str, str | None] = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep:
            name, path = Path(v.rstrip("/")).name or v, v
        if name in out:
            raise SentvecError(
                f"two models are served as {name!r}. Fix: name them, e.g. --model a={v}."
            )
        out[name] = path
    return out


def register(app: typer.Typer) -> None:
    """Add `sentvec serve`."""

    @app.command("serve")
    def serve(
        model: Annotated[
            Optional[list[str]],
            typer.Option(
                "--model",
                "-m",
                help="Model to serve: NAME=PATH, or a folder / hub id (repeat for several) "
                f"[default: {DEFAULT_MODEL_NAME}].",
            ),
        ] = None,
        backend: BackendOpt = DEFAULT_BACKEND,
        host: Annotated[
            str, typer.Option(help="Bind address; a non-loopback one needs --api-key.")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
        api_key: Annotated[
            Optional[str],
            typer.Option(
                "--api-key",
                envvar="SENTVEC_API_KEY",
                help="Require 'Authorization: Bearer KEY' on every API route.",
            ),
        ] = None,
        cors_origin: Annotated[
            Optional[list[str]],
            typer.Option(
                "--cors-origin", help="Allow this browser origin (repeat); none: no CORS."
            ),
        ] = None,
        store: Annotated[
            Optional[str],
            typer.Option(
                "--store",
                "--root",
                envvar="SENTVEC_STORE",
                help="Where the served collections live: a folder (LanceDB) or a postgresql:// "
                "URI [env SENTVEC_STORE; default: $SENTVEC_HOME/collections].",
            ),
        ] = None,
        workers: Annotated[
            Optional[int],
            typer.Option(
                min=1,
                max=64,
                help="onnx sessions per model (lanes); the passes of a merged batch run on all "
                "at once [default: one single-threaded session per physical core; ignored by "
                "torch].",
            ),
        ] = None,
        encode_batch_size: Annotated[
            int,
            typer.Option(min=1, help="Texts per forward pass inside a merged batch."),
        ] = 8,
        max_batch_tokens: Annotated[
            int, typer.Option(min=1, help="Token budget of one merged model call.")
        ] = 8192,
        max_wait_ms: Annotated[
            float, typer.Option(min=0, help="Longest wait for more requests before a batch runs.")
        ] = 2.0,
        max_queued: Annotated[
            int, typer.Option(min=1, help="Texts waiting per model before 429 Too Many Requests.")
        ] = 4096,
        max_body_mb: Annotated[
            float, typer.Option(min=0.001, help="Largest request body in MB (413 past it).")
        ] = 64.0,
        answer_cache: Annotated[
            int,
            typer.Option(
                min=0,
                help="Sentence vectors kept per model to find search answers without encoding "
                "a passage twice (about 1.5 KB each at 384 dimensions; 0: none).",
            ),
        ] = 20_000,
        log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
        rerank_model: Annotated[
            Optional[list[str]],
            typer.Option(
                "--rerank-model",
                help="Cross-encoder for POST /rerank and /v1/rerank: NAME=PATH, or a folder / "
                "hub id (repeat for several) [default: none].",
            ),
        ] = None,
    ) -> None:
        """Serve models over HTTP: /v1/embeddings (OpenAI), /similarity, /classify,
        /collections, /metrics, /docs, and the search + map page at /.

        Example: sentvec serve --port 8000
        """
        from sentvec.server import Settings, create_app
        from sentvec.server.settings import is_loopback

        settings = Settings(
            models=parse_models(model),
            backend=backend or default_backend(),  # None: --backend was not typed
            host=host,
            port=port,
            api_key=api_key,
            cors_origins=list(cors_origin or []),
            collections=store,
            workers=workers,
            encode_batch_size=encode_batch_size,
            max_batch_tokens=max_batch_tokens,
            max_wait_ms=max_wait_ms,
            max_queued=max_queued,
            answer_cache=answer_cache,
            max_body_bytes=int(max_body_mb * 1_000_000),
            rerank_models={
                n: p for n, p in parse_models(rerank_model).items() if p and rerank_model
            },
        )
        settings.check_host()
        from sentvec.extras import import_extra
        from sentvec.server import SERVER_MODULES

        for module in SERVER_MODULES:  # before anything is loaded: the install line, exit 2
            import_extra(module, "server", module.replace("_", "-"))
        uvicorn = import_extra("uvicorn", "server")

        shown = f"[{host}]" if ":" in host else host
        typer.echo(
            f"sentvec serve: http://{shown}:{port}/ ({', '.join(settings.models)}; "
            f"backend {settings.backend}; "
            f"{'API key required' if settings.api_key else 'no API key'}"
            f"{'' if is_loopback(host) else '; listening on the network'})",
            err=True,
        )
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level=log_level, access_log=False
        )
