"""Server settings: one dataclass, filled by ``sentvec serve`` or by a test."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from sentvec.errors import SentvecError

LOOPBACK_NAMES = ("localhost",)


@dataclass
class Settings:
    """Everything :func:`sentvec.server.create_app` needs.

    :param models: served name -> model folder or hub id (None: the packaged default).
    :param backend: inference backend for every model (torch, onnx, onnx-int8).
    :param host: bind address; anything but loopback needs ``api_key``.
    :param api_key: Bearer token every API request must carry (default ``$SENTVEC_API_KEY``).
    :param cors_origins: origins allowed by CORS; empty: no CORS headers at all.
    :param collections: where the collections served under ``/collections`` live: a folder
        (LanceDB) or a ``postgresql://`` URI (None: ``$SENTVEC_HOME/collections``).
    :param workers: onnx sessions per model (lanes), sharing the cores; the passes of a merged
        batch run on all of them at once. None: one single-threaded session per physical core
        (beats one session on all cores for the small batches a server sees). Ignored by
        torch (its thread pool is per process).
    :param encode_batch_size: texts per forward pass inside a merged batch (sorted by length,
        so each pass pads little).
    :param max_batch_tokens: token budget of one merged model call.
    :param max_wait_ms: longest wait for more requests before a batch runs.
    :param max_queued: most texts waiting per model before 429.
    :param max_items: most texts in one request (OpenAI: 2048).
    :param max_chars: most characters in one text.
    :param max_request_tokens: most tokens in one request.
    :param map_points: most points drawn on the map of a collection.
    :param max_body_bytes: largest request body (413 past it, before it is parsed).
    :param max_upload_bytes: largest knowledge-base upload (a zip may unpack to 4x).
    :param answer_cache: sentence vectors kept per model for finding answers (0: none).
    :param jobs_dir: where uploads and their jobs are kept (None: ``.jobs`` in the collections
        folder; ``$SENTVEC_HOME/jobs`` when collections are in PostgreSQL).
    :param rerank_models: served name -> cross-encoder folder or hub id, for ``/rerank`` and
        ``/v1/rerank`` (none by default).
    """

    models: dict[str, str | None] = field(default_factory=lambda: {"all-MiniLM-L6-v2": None})
    backend: str = "torch"
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    collections: str | Path | None = None
    workers: int | None = None
    encode_batch_size: int = 8
    max_batch_tokens: int = 8192
    max_wait_ms: float = 2.0
    max_queued: int = 4096
    answer_cache: int = 20_000
    max_items: int = 2048
    max_chars: int = 20_000
    max_request_tokens: int = 300_000
    map_points: int = 5000
    max_body_bytes: int = 64_000_000
    max_upload_bytes: int = 512 * 1024 * 1024
    jobs_dir: str | Path | None = None
    rerank_models: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.api_key is None:
            self.api_key = os.environ.get("SENTVEC_API_KEY") or None
        if self.api_key is not None and not _printable_ascii(self.api_key):
            raise SentvecError(
                "the API key holds characters other than printable ASCII (HTTP headers "
                "cannot carry them, so every request would get 401). Fix: use letters, "
                "digits and punctuation only, e.g. the output of `openssl rand -hex 32`."
            )
        if self.max_body_bytes < 1:
            raise SentvecError(
                f"max_body_bytes must be >= 1, got {self.max_body_bytes}. Fix: pass 64000000."
            )
        if not self.models:
            raise SentvecError("no model to serve. Fix: pass --model NAME=PATH (or nothing).")
        if self.workers is not None and not 1 <= self.workers <= 64:
            raise SentvecError(f"workers must be 1-64, got {self.workers}. Fix: pass --workers 1.")
        if self.encode_batch_size < 1:
            raise SentvecError(
                f"encode_batch_size must be >= 1, got {self.encode_batch_size}. Fix: pass 8."
            )

    def backend_options(self) -> dict[str, int]:
        """What the backend is loaded with: for onnx, ``workers`` lanes (single-threaded
        sessions running passes side by side) sharing the cores; nothing for torch (its thread
        pool is per process)."""
        if not self.backend.startswith("onnx"):
            return {}
        from sentvec.backends.onnx.runtime import physical_cores

        cores = physical_cores()
        lanes = self.workers or cores
        return {"threads": max(cores, lanes), "lanes": lanes}

    def check_host(self) -> None:
        """Refuse a non-loopback bind address unless an API key is set."""
        if not is_loopback(self.host) and not self.api_key:
            raise SentvecError(
                f"refusing to listen on {self.host!r} without an API key: anyone on the "
                "network could use it. Fix: pass --api-key KEY (or set SENTVEC_API_KEY), "
                "or keep --host 127.0.0.1."
            )


def _printable_ascii(key: str) -> bool:
    return bool(key) and all(33 <= ord(c) <= 126 for c in key)


def is_loopback(host: str) -> bool:
    """True for 127.x.x.x, ::1 and localhost."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = ["Settings", "is_loopback"]
