"""What the routes share: settings, served models, metrics, open collections."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentvec.server.errors import APIError

if TYPE_CHECKING:
    from sentvec.server.jobs import JobRunner
    from sentvec.server.metrics import Metrics
    from sentvec.server.models import ServedModel
    from sentvec.server.settings import Settings
    from sentvec.store import Collection


@dataclass
class ServerState:
    """Held on ``app.state.sentvec``."""

    settings: Settings
    metrics: Metrics
    models: dict[str, ServedModel] = field(default_factory=dict)
    rerankers: dict[str, Any] = field(default_factory=dict)  # name -> ServedReranker
    ready: bool = False
    maps: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    jobs: JobRunner | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def model(self, name: str | None) -> ServedModel:
        """The served model called ``name`` (None: the first one).

        :raises APIError: 503 while loading, 404 for an unknown name (listing the served ones).
        """
        if not self.ready:
            raise APIError(503, "the models are still loading. Fix: retry when /ready says so.")
        if name is None:
            return next(iter(self.models.values()))
        if name not in self.models:
            raise APIError(
                404,
                f"the model {name!r} is not served here. Fix: use one of "
                f"{', '.join(self.models)} (GET /v1/models lists them).",
                param="model",
                code="model_not_found",
            )
        return self.models[name]

    @property
    def root(self) -> str | Path:
        """Where the served collections live: a folder or a ``postgresql://`` URI."""
        from sentvec.store import default_root

        return self.settings.collections or default_root()

    @property
    def jobs_dir(self) -> Path:
        """Where upload jobs are kept."""
        from sentvec.store.location import is_postgres, sentvec_home

        if self.settings.jobs_dir is not None:
            return Path(self.settings.jobs_dir)
        root = self.root
        return sentvec_home() / "jobs" if is_postgres(root) else Path(root) / ".jobs"

    def start_jobs(self) -> JobRunner:
        """The upload job runner (started once; resumes the jobs a restart interrupted)."""
        from sentvec.server.jobs import JobRunner, JobStore

        if self.jobs is None:
            self.jobs = JobRunner(
                JobStore(self.jobs_dir),
                self.root,
                lambda: {n: m.encoder for n, m in self.models.items()} if self.ready else {},
                self.settings.max_upload_bytes,
                on_change=lambda name: self.maps.clear(),
            )
            self.jobs.resume()
        return self.jobs

    def collection(self, name: str) -> Collection:
        """Open a collection by name.

        :raises APIError: 404 naming the collections that exist.
        """
        from sentvec.store import CollectionNotFoundError, open_collection

        try:
            return open_collection(self.root, name)
        except CollectionNotFoundError as e:
            raise APIError(404, str(e), param="name", code="collection_not_found") from None

    def model_for(self, col: Collection) -> ServedModel:
        """The served model that made a collection's vectors.

        :raises APIError: 409 when none of the served models did.
        """
        for m in self.models.values():
            if m.fingerprint == col.meta["fingerprint"]:
                return m
        raise APIError(
            409,
            f"collection {col.name!r} was made with the model {col.meta['model']!r}, "
            "which this server does not serve. Fix: start sentvec serve with "
            f"--model {col.meta['model']}.",
            code="model_mismatch",
        )


__all__ = ["ServerState"]
