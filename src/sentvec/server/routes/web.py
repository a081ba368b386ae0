"""The web page at ``/``: search and the cluster map. Every asset ships in the package."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"
router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    """The single page."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


def mount_static(app: FastAPI) -> None:
    """Serve the page's script and style under ``/static``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
