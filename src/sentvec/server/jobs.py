"""Knowledge-base uploads as background jobs that survive a restart.

An upload goes through these states, each saved in ``JOBS/ID/job.json`` (written to a
temporary file and renamed, so a kill leaves the old state or the new, never half of one):

``receiving``
    the body streams to ``JOBS/ID/upload.EXT`` (never held in memory). The request answers
    only once the file is on disk (fsync): from then on the upload is *acknowledged* and no
    document of it is lost, whatever happens to the server.
``parsing``
    every line (or article of a zip) is read; a bad one is recorded with its ``file:line``
    and the rest go on. The good documents are written to ``records.jsonl``, compared with
    the collection (new, changed, unchanged, no longer present) and their passages counted.
``review``
    the diff waits for ``POST /jobs/ID/apply`` (with ``remove_missing`` to delete the
    documents the upload no longer has); ``apply=true`` on the upload skips the wait.
``queued`` / ``running``
    new and changed documents are upserted a few at a time; after each batch the number done
    is saved, so a killed server resumes after the last committed batch on its next start
    (an upsert of a document twice stores it once).
``done`` / ``failed``
    counts (added, updated, unchanged, removed, passages) or the error.

One worker thread runs the jobs in order, so two uploads never compete for the cores.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentvec.errors import SentvecError

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.records import Record

UPLOAD_SUFFIXES = (".jsonl", ".ndjson", ".csv", ".tsv", ".txt", ".zip", ".md", ".html", ".htm")
ACTIVE = ("receiving", "parsing", "queued", "running")
MAX_ERRORS_KEPT = 200  # errors listed in the job (all are counted)
MAX_LISTED = 500  # ids listed per diff category (all are counted)
BATCH_DOCUMENTS = 16  # documents upserted (and the progress saved) together
MAX_UNZIPPED = 4  # a zip may unpack to this many times the upload limit


@dataclass
class Job:
    """One upload into one collection."""

    id: str
    collection: str
    filename: str
    model: str | None = None  # the served model name for a new collection
    status: str = "receiving"
    created: float = 0.0
    updated: float = 0.0
    bytes: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # chunking, remove_missing
    records: int = 0  # good documents read
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # {file, line, message}
    diff: dict[str, Any] = field(default_factory=dict)  # new/changed/removed ids, unchanged
    todo: int = 0  # documents to write (new + changed)
    done: int = 0  # of those, committed
    passages_total: int = 0
    passages_done: int = 0
    result: dict[str, int] = field(default_factory=dict)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class JobStore:
    """Jobs on disk: one folder each under ``folder``."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.lock = threading.Lock()

    def path(self, job_id: str) -> Path:
        if not job_id.isalnum():
            raise SentvecError(f"no upload job {job_id!r}. Fix: use an id from GET /jobs.")
        return self.folder / job_id

    def create(self, collection: str, filename: str, **kw: Any) -> Job:
        job = Job(uuid.uuid4().hex[:16], collection, filename, created=time.time(), **kw)
        self.path(job.id).mkdir(parents=True)
        self.save(job)
        return job

    def save(self, job: Job) -> None:
        """Replace the job's state on disk in one rename."""
        job.updated = time.time()
        folder = self.path(job.id)
        tmp = folder / "job.json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(job.to_dict(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / "job.json")

    def load(self, job_id: str) -> Job:
        file = self.path(job_id) / "job.json"
        try:
            return Job(**json.loads(file.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise SentvecError(
                f"no upload job {job_id!r}. Fix: use an id from GET /jobs."
            ) from None

    def all(self) -> list[Job]:
        """Every job, newest first."""
        if not self.folder.exists():
            return []
        jobs = []
        for d in self.folder.iterdir():
            try:
                jobs.append(self.load(d.name))
            except (SentvecError, ValueError, TypeError):
                continue  # a folder without a readable job.json: not a job
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def upload_file(self, job: Job) -> Path:
        return self.path(job.id) / ("upload" + Path(job.filename).suffix.lower())


def check_upload_name(filename: str) -> str:
    """The uploaded file's name, checked for a suffix sentvec reads.

    :raises SentvecError: naming the suffixes it takes.
    """
    name = Path(filename.replace("\\", "/")).name
    if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise SentvecError(
            f"cannot read {filename!r}. Fix: upload a {', '.join(UPLOAD_SUFFIXES)} file (a zip of "
            "Markdown/HTML articles, or JSONL/CSV with a text column)."
        )
    return name


def unpack(archive: Path, into: Path, limit: int) -> Path:
    """Extract a zip's readable files under ``into``, refusing paths that leave it and
    archives that unpack past ``limit`` bytes.

    :raises SentvecError: naming the member or the size.
    """
    into.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise SentvecError(
            "the upload is not a valid zip file. Fix: zip the folder again."
        ) from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        size = sum(m.file_size for m in members)
        if size > limit:
            raise SentvecError(
                f"the zip unpacks to {size} bytes; the limit is {limit}. Fix: upload it in parts."
            )
        for m in members:
            parts = Path(m.filename.replace("\\", "/")).parts
            if m.filename.startswith("/") or ".." in parts or any(":" in p for p in parts):
                raise SentvecError(f"zip member {m.filename!r} points outside the folder.")
            if Path(m.filename).suffix.lower() not in UPLOAD_SUFFIXES or "__MACOSX" in parts:
                continue
            target = into.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return into


def read_upload(path: Path, errors: Callable[[Any], None]) -> Iterator[Record]:
    """The documents of an uploaded file or unpacked folder; bad lines go to ``errors``."""
    from sentvec.articles import ARTICLE_SUFFIXES
    from sentvec.io import iter_records

    if path.is_dir():
        tables = sorted(p for p in path.rglob("*") if p.suffix.lower() not in ARTICLE_SUFFIXES)
        if any(p.suffix.lower() in ARTICLE_SUFFIXES for p in path.rglob("*")):
            yield from iter_records(path, on_error=errors)
        for table in tables:
            if table.is_file():
                yield from iter_records(table, on_error=errors)
        return
    yield from iter_records(path, on_error=errors)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


class JobRunner:
    """Runs upload jobs, one at a time, on a worker thread.

    :param store: where the jobs live.
    :param root: the collections' location (folder or ``postgresql://`` URI).
    :param encoders: the served encoders by name (called when a job needs them: the models
        load after the server starts).
    :param limit: the upload size limit in bytes (a zip may unpack to 4x).
    :param on_change: called after a job changes a collection (clears the map cache).
    """

    def __init__(
        self,
        store: JobStore,
        root: str | Path,
        encoders: Callable[[], dict[str, Encoder]],
        limit: int,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.store, self.root, self.encoders = store, root, encoders
        self.limit, self.on_change = limit, on_change
        self.queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self.thread = threading.Thread(target=self._work, name="sentvec-jobs", daemon=True)
        self.thread.start()

    # -- the queue ---------------------------------------------------------------------------

    def submit(self, job: Job, step: str) -> None:
        """Queue a job's ``parse`` or ``ingest`` step."""
        self.queue.put((job.id, step))

    def resume(self) -> list[str]:
        """After a restart: go on with every job that was under way.

        :return: the ids resumed.
        """
        resumed = []
        for job in reversed(self.store.all()):  # oldest first
            if job.status == "receiving":  # the body never arrived whole: never acknowledged
                job.status, job.message = "failed", "the upload was interrupted. Upload again."
                self.store.save(job)
            elif job.status == "parsing":
                self.submit(job, "parse")
                resumed.append(job.id)
            elif job.status in ("queued", "running"):
                job.message = f"resumed after a restart at {job.done} of {job.todo} documents"
                self.store.save(job)
                self.submit(job, "ingest")
                resumed.append(job.id)
        return resumed

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            job_id, step = item
            try:
                job = self.store.load(job_id)
            except SentvecError:
                continue
            try:
                if step == "parse":
                    self.parse(job)
                else:
                    self.ingest(job)
            except Exception as e:  # a job fails alone; the server and other jobs go on
                job.status = "failed"
                job.message = str(e) if isinstance(e, SentvecError) else f"{type(e).__name__}: {e}"
                self.store.save(job)

    # -- the steps ---------------------------------------------------------------------------

    def parse(self, job: Job) -> None:
        """Read the upload, record bad lines, diff against the collection, count passages."""
        from sentvec.store import collection_exists, open_collection

        job.status, job.errors, job.error_count = "parsing", [], 0
        self.store.save(job)
        folder = self.store.path(job.id)
        source = self.store.upload_file(job)
        if source.suffix == ".zip":
            source = unpack(source, folder / "files", MAX_UNZIPPED * self.limit)

        def error(e: Any) -> None:
            job.error_count += 1
            if len(job.errors) >= MAX_ERRORS_KEPT:
                return
            if isinstance(e, _Problem):
                job.errors.append({"file": None, "line": None, "message": str(e)})
                return
            where = Path(e.path)
            shown = where.relative_to(source).as_posix() if source.is_dir() else job.filename
            job.errors.append({"file": shown, "line": e.line, "message": e.problem})

        encoder = self.encoder_for(job.model)
        col = (
            open_collection(self.root, job.collection)
            if collection_exists(self.root, job.collection)
            else None
        )
        if col is not None:
            encoder = self._encoder_of(col)
        chunker = self._chunker(job, col, encoder)
        records: dict[str, Record] = {}
        for r in read_upload(source, error):
            problem = self._problem(r, chunker)
            if problem:
                error(_Problem(r.id, problem))
                continue
            records[r.id] = r  # a later row of one id replaces an earlier one
        stored = {h.id: h for h in col.get(list(records))} if col is not None and records else {}
        new, changed, unchanged = [], [], 0
        for r in records.values():
            h = stored.get(r.id)
            if h is None:
                new.append(r.id)
            elif h.text != r.text or _plain(h.metadata) != _plain(r.metadata):
                changed.append(r.id)
            else:
                unchanged += 1
        removed = sorted(set(col.document_ids()) - set(records)) if col is not None else []
        todo = set(new) | set(changed)
        with open(folder / "records.jsonl", "w", encoding="utf-8") as f:
            for r in records.values():
                if r.id in todo:
                    f.write(json.dumps({"id": r.id, "text": r.text, "metadata": r.metadata}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        job.records = len(records)
        job.todo, job.done = len(todo), 0
        job.passages_total = sum(len(chunker.passages(records[i])) for i in todo)
        job.diff = {
            "new": len(new),
            "changed": len(changed),
            "unchanged": unchanged,
            "removed": len(removed),
            "new_ids": new[:MAX_LISTED],
            "changed_ids": changed[:MAX_LISTED],
            "removed_ids": removed[:MAX_LISTED],
            "collection_exists": col is not None,
        }
        (folder / "removed.json").write_text(json.dumps(removed), encoding="utf-8")
        if job.options.get("apply"):
            job.status = "queued"
            self.store.save(job)
            self.ingest(job)
        else:
            job.status = "review"
            self.store.save(job)

    def ingest(self, job: Job) -> None:
        """Upsert the new and changed documents after the last committed batch, then remove
        the ones no longer present when asked."""
        from sentvec.records import Record
        from sentvec.store import for_encoder

        job.status = "running"
        self.store.save(job)
        folder = self.store.path(job.id)
        encoder = self.encoder_for(job.model)
        col = for_encoder(self.root, job.collection, encoder)
        encoder = self._encoder_of(col)
        chunking = self._chunking(job)
        result = job.result or {"added": 0, "updated": 0, "passages": 0, "removed": 0}
        batch: list[Record] = []

        def commit() -> None:
            report = col.upsert(batch, encoder, chunking=chunking, show_progress=False)
            result["added"] += report.added
            result["updated"] += report.updated
            result["passages"] += report.passages
            job.done += len(batch)
            job.passages_done = result["passages"]
            job.result = result
            self.store.save(job)  # acknowledged: a restart goes on after this batch
            batch.clear()

        with open(folder / "records.jsonl", encoding="utf-8") as f:
            for n, line in enumerate(f):
                if n < job.done:
                    continue
                row = json.loads(line)
                batch.append(Record(row["text"], row["id"], row["metadata"]))
                if len(batch) >= BATCH_DOCUMENTS:
                    commit()
        if batch:
            commit()
        if job.options.get("remove_missing") and not job.result.get("removed_done"):
            removed = json.loads((folder / "removed.json").read_text(encoding="utf-8"))
            result["removed"] = col.delete(removed) if removed else 0
            result["removed_done"] = 1
        col.refresh_indexes()
        job.result, job.status, job.message = result, "done", None
        self.store.save(job)
        if self.on_change:
            self.on_change(job.collection)

    # -- helpers -----------------------------------------------------------------------------

    def encoder_for(self, name: str | None) -> Encoder:
        """The served encoder called ``name`` (None: the first).

        :raises SentvecError: for a name not served.
        """
        served = self.encoders()
        if not served:
            raise SentvecError("the models are still loading. Fix: retry when /ready says so.")
        if name is None:
            return next(iter(served.values()))
        if name not in served:
            raise SentvecError(
                f"the model {name!r} is not served here. Fix: use one of {', '.join(served)}."
            )
        return served[name]

    def _encoder_of(self, col: Any) -> Encoder:
        """The served encoder that made the collection's vectors."""
        for enc in self.encoders().values():
            if enc.fingerprint == col.meta["fingerprint"]:
                return enc
        raise SentvecError(
            f"collection {col.name!r} was made with the model {col.meta['model']!r}, which this "
            f"server does not serve. Fix: start sentvec serve with --model {col.meta['model']}."
        )

    def _chunking(self, job: Job) -> Any:
        from sentvec.documents import TITLE_FIELD, Chunking

        o = job.options
        if not any(
            o.get(k) is not None for k in ("chunk", "chunk_tokens", "overlap", "title_field")
        ):
            return None  # the collection's recorded settings (or the model's defaults)
        return Chunking(
            o.get("chunk", True) is not False,
            o.get("chunk_tokens"),
            o.get("overlap"),
            o.get("title_field") or TITLE_FIELD,
        )

    def _chunker(self, job: Job, col: Any, encoder: Encoder) -> Any:
        from sentvec.documents import Chunker, Chunking

        spec = self._chunking(job)
        if spec is None:
            recorded = col.meta.get("chunking") if col is not None else None
            spec = Chunking.from_settings(recorded) if recorded else Chunking()
        return Chunker(encoder.tokenizer, encoder.max_seq_length, spec)

    @staticmethod
    def _problem(r: Record, chunker: Any) -> str | None:
        """Why a document cannot be stored (checked before anything is written), or None."""
        from sentvec.store.columns import check_metadata

        try:
            check_metadata(r.id, r.metadata)
            chunker.passages(r)
        except SentvecError as e:
            return str(e)
        return None


@dataclass
class _Problem:
    """A document refused after it was read (no line number: it is named by id)."""

    id: str
    problem: str

    def __str__(self) -> str:
        return f"document {self.id!r}: {self.problem}"


__all__ = ["Job", "JobRunner", "JobStore", "check_upload_name", "unpack"]
