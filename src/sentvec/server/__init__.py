"""``sentvec serve``: the HTTP API and web page. Needs ``pip install 'sentvec[server]'``.

>>> from sentvec.server import Settings, create_app
>>> app = create_app(Settings(models={"all-MiniLM-L6-v2": None}))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentvec.errors import MissingExtraError
from sentvec.server.settings import Settings

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


def create_app(
    settings: Settings | None = None,
    encoders: dict[str, Encoder] | None = None,
    rerankers: dict[str, Any] | None = None,
) -> Any:
    """Build the FastAPI app (see :func:`sentvec.server.app.create_app`)."""
    try:
        import fastapi  # noqa: F401
        import orjson  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as e:
        raise MissingExtraError(e.name or "fastapi", "server") from None
    from sentvec.server.app import create_app as build

    return build(settings, encoders, rerankers)


__all__ = ["Settings", "create_app"]
