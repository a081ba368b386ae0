"""``sentvec serve``: the HTTP API and web page. Needs ``pip install 'sentvec[server]'``.

>>> from sentvec.server import Settings, create_app
>>> app = create_app(Settings(models={"all-MiniLM-L6-v2": None}))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentvec.extras import import_extra
from sentvec.server.settings import Settings

if TYPE_CHECKING:
    from sentvec.encoder import Encoder

SERVER_MODULES = ("fastapi", "uvicorn", "orjson", "prometheus_client")  # sentvec[server]


def create_app(
    settings: Settings | None = None,
    encoders: dict[str, Encoder] | None = None,
    rerankers: dict[str, Any] | None = None,
) -> Any:
    """Build the FastAPI app (see :func:`sentvec.server.app.create_app`)."""
    for module in SERVER_MODULES:
        import_extra(module, "server", module.replace("_", "-"))
    from sentvec.server.app import create_app as build

    return build(settings, encoders, rerankers)


__all__ = ["Settings", "create_app"]
