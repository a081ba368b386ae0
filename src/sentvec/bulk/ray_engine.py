"""Encode a corpus on Ray Data: planned input blocks -> an actor pool -> one Parquet file a block.

The driver cuts the input into blocks of about ``block_rows`` records (a newline scan for text
and JSONL, row groups for Parquet) and hands them to Ray Data as a datasource, one read task a
block. A pool of actors, each holding one encoder, encodes every block (token-budget batches
inside the actor via ``max_tokens``) and writes ``parts/part-BLOCK-KEY.parquet`` with the columns
``id``, ``vector`` and ``fingerprint``. KEY hashes the block's ids and texts together with the
model fingerprint, backend and settings, so a restarted job finds the blocks that are already
done and skips them, while a change of model, input or setting encodes again. A file appears
only whole (temp file, fsync, rename). When all blocks are done, parts from earlier runs that
this run did not produce are removed and ``manifest.json`` lists the parts in input order.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.bulk.atomic import atomic_path, write_json_atomic
from sentvec.bulk.blocks import DEFAULT_BLOCK_ROWS, Block, plan_blocks
from sentvec.errors import SentvecError

if TYPE_CHECKING:
    import pyarrow as pa

    from sentvec.encoder import Encoder

FORMAT = "sentvec-ray-parquet/1"
MANIFEST = "manifest.json"
PARTS = "parts"


@dataclass
class DistributedResult:
    """What :func:`encode_dataset` did."""

    folder: Path
    rows: int  # rows in the output now
    encoded: int  # rows encoded by this run
    skipped: int  # rows found already done
    parts: int
    fingerprint: str | None


def encode_dataset(
    path: str | Path,
    out: str | Path,
    *,
    model: str | None = None,
    backend: str = "torch",
    text_field: str | None = None,
    id_field: str | None = None,
    fmt: str | None = None,
    normalize: bool = False,
    block_rows: int = DEFAULT_BLOCK_ROWS,
    batch_size: int = 32,
    max_tokens: int | None = None,
    num_actors: int | None = None,
    cpus_per_actor: int = 1,
    address: str | None = None,
    encoder_factory: Callable[[], Encoder] | None = None,
    show_progress: bool = True,
) -> DistributedResult:
    """Encode a file or folder of files on Ray into Parquet parts under ``out``; resumable.

    Uses the Ray cluster this process is connected to, else joins ``address`` (``"auto"``: the
    local node's cluster), else starts a local one. On several machines ``out`` must be a folder
    every node sees (a shared file system).

    :param path: a .txt (one text per line), .jsonl or .parquet file, or a folder of them.
    :param out: output folder (created).
    :param model: model folder or hub id, loaded in every actor (default: the packaged model).
    :param backend: torch, onnx or onnx-int8.
    :param text_field: JSONL key / Parquet column of the text (default: text, sentence, ...).
    :param id_field: JSONL key / Parquet column of the id (default: ``id``, else the line or
        row number, as ``sentvec encode`` does).
    :param fmt: force the input format: txt, jsonl or parquet.
    :param normalize: L2-normalise the vectors.
    :param block_rows: records per block (the unit of work and of resumption).
    :param batch_size: most texts per forward pass inside an actor.
    :param max_tokens: token budget per forward pass (see :meth:`Encoder.encode`).
    :param num_actors: actors in the pool (default: the cluster's CPUs / ``cpus_per_actor``).
    :param cpus_per_actor: CPUs (and threads) per actor.
    :param address: Ray address to join when not yet connected (``auto`` or ``HOST:PORT``).
    :param encoder_factory: builds the encoder in each actor instead of ``model``/``backend``
        (pickled to the actors).
    :param show_progress: show Ray Data's progress bars.
    :return: rows in the output, rows encoded now and skipped, parts, the model fingerprint.
    :raises SentvecError: bad input or settings; an actor's SentvecError is re-raised as is.
    """
    if block_rows < 1:
        raise SentvecError(f"block_rows must be >= 1, got {block_rows}. Fix: pass a positive size.")
    folder = Path(out)
    parts_dir = folder / PARTS
    parts_dir.mkdir(parents=True, exist_ok=True)
    for stale in parts_dir.glob(".*.tmp"):  # left by a job killed mid-write
        stale.unlink(missing_ok=True)
    blocks = plan_blocks(path, fmt, block_rows)
    summaries = _run(
        blocks,
        parts_dir,
        dict(
            model=model,
            backend=backend,
            text_field=text_field,
            id_field=id_field,
            normalize=normalize,
            batch_size=batch_size,
            max_tokens=max_tokens,
            threads=cpus_per_actor,
            encoder_factory=encoder_factory,
        ),
        num_actors,
        cpus_per_actor,
        address,
        show_progress,
    )
    return _finish(folder, blocks, summaries)


def read_output(folder: str | Path) -> tuple[np.ndarray, list[str]]:
    """All vectors and ids of a finished :func:`encode_dataset` folder, in input order.

    :param folder: the output folder.
    :return: vectors (rows, dim) float32 and the ids.
    :raises SentvecError: the folder has no finished manifest.
    """
    import pyarrow.parquet as pq

    root = Path(folder)
    manifest_file = root / MANIFEST
    if not manifest_file.exists():
        raise SentvecError(
            f"{str(root)!r} holds no finished encode (no {MANIFEST}). "
            "Fix: run `sentvec encode INPUT --out DIR --engine ray` to completion first."
        )
    manifest = json.loads(manifest_file.read_text(encoding="utf8"))
    vectors, ids = [], []
    for part in manifest["parts"]:
        table = pq.read_table(root / PARTS / part["file"], columns=["id", "vector"])
        ids.extend(table.column("id").to_pylist())
        vectors.append(_vectors_of(table))
    if not vectors:
        return np.zeros((0, manifest.get("dim") or 0), dtype=np.float32), []
    return np.concatenate(vectors), ids


# -- planning ------------------------------------------------------------------------------


# -- the actors ----------------------------------------------------------------------------


class BlockEncoder:
    """A Ray Data actor: holds one encoder and turns blocks of (block, id, text) rows into
    Parquet parts, skipping blocks whose part already exists."""

    def __init__(
        self,
        out: str,
        model: str | None,
        backend: str,
        text_field: str | None,
        id_field: str | None,
        normalize: bool,
        batch_size: int,
        max_tokens: int | None,
        threads: int,
        encoder_factory: Callable[[], Encoder] | None,
    ) -> None:
        self.out = Path(out)
        self.encoder = encoder_factory() if encoder_factory else _load(model, backend, threads)
        self.normalize, self.batch_size, self.max_tokens = normalize, batch_size, max_tokens
        self.fingerprint = self.encoder.fingerprint
        settings = [FORMAT, self.fingerprint, self.encoder.backend.name, normalize]
        self.settings = json.dumps([*settings, text_field, id_field]).encode()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Encode (or find done) every block in the batch; one summary row per block."""
        rows: list[dict[str, Any]] = []
        for index in sorted(set(batch["block"].tolist())):
            mask = batch["block"] == index
            ids = [str(i) for i in batch["id"][mask] if i is not None]
            texts = [str(t) for t in batch["text"][mask] if t is not None]
            rows.append(self._block(int(index), ids, texts))
        return {k: np.array([r[k] for r in rows]) for k in rows[0]} if rows else {}

    def _block(self, index: int, ids: list[str], texts: list[str]) -> dict[str, Any]:
        key = block_key(self.settings, ids, texts)
        file = self.out / f"part-{index:06d}-{key[:16]}.parquet"
        if file.exists():
            return _summary(index, file, len(ids), False, self.fingerprint)
        if not texts:
            vectors = np.zeros((0, self.encoder.dim), dtype=np.float32)
        else:
            vectors = self.encoder.encode(
                texts,
                batch_size=self.batch_size,
                max_tokens=self.max_tokens,
                normalize=self.normalize,
                show_progress=False,
            )  # (n, dim)
        _write_part(file, ids, vectors, self.fingerprint)
        return _summary(index, file, len(ids), True, self.fingerprint)


def block_key(settings: bytes, ids: Sequence[str], texts: Sequence[str]) -> str:
    """sha256 of the run settings and a block's ids and texts (each length-prefixed).

    :param settings: serialized model fingerprint, backend and settings.
    :param ids: the block's ids.
    :param texts: the block's texts.
    :return: a hex digest.
    """
    h = hashlib.sha256(settings)
    for value in (*ids, *texts):
        data = value.encode("utf8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _load(model: str | None, backend: str, threads: int) -> Encoder:
    import sentvec

    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
        return sentvec.load(model, backend=backend)
    return sentvec.load(model, backend=backend, threads=threads)


def _summary(index: int, file: Path, rows: int, encoded: bool, fp: str) -> dict[str, Any]:
    return {"block": index, "file": file.name, "rows": rows, "encoded": encoded, "fp": fp}


def _write_part(file: Path, ids: list[str], vectors: np.ndarray, fingerprint: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(vectors.reshape(-1)), vectors.shape[1]
            ),
            "fingerprint": pa.array([fingerprint] * len(ids), pa.string()),
        }
    )
    with atomic_path(file) as tmp:
        pq.write_table(table, tmp)


def _vectors_of(table: pa.Table) -> np.ndarray:
    column = table.column("vector").combine_chunks()
    dim = column.type.list_size
    flat = column.values.to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(-1, dim)


# -- the driver ----------------------------------------------------------------------------


def _run(
    blocks: list[Block],
    parts_dir: Path,
    actor_kwargs: dict[str, Any],
    num_actors: int | None,
    cpus_per_actor: int,
    address: str | None,
    show_progress: bool,
) -> list[dict[str, Any]]:
    if not blocks:
        return []
    import ray

    from sentvec.bulk.ray_source import BlockSource

    started = False
    if not ray.is_initialized():
        src = str(Path(__file__).resolve().parents[2])  # workers import this sentvec
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = show_progress
        if num_actors is None:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            num_actors = max(1, cpus // cpus_per_actor)
        kwargs = {"out": str(parts_dir.resolve()), **actor_kwargs}
        source = BlockSource(blocks, actor_kwargs["text_field"], actor_kwargs["id_field"])
        # the same CPUs for the read as for the actor, so Ray fuses the read into the actor
        # (a separate read task would wait forever for a CPU the actors hold)
        ds = ray.data.read_datasource(
            source,
            override_num_blocks=len(blocks),
            num_cpus=cpus_per_actor,
        ).map_batches(
            BlockEncoder,
            fn_constructor_kwargs=kwargs,
            batch_size=None,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(num_actors, len(blocks))),
            num_cpus=cpus_per_actor,
        )
        try:
            return list(ds.take_all())
        except ray.exceptions.RayTaskError as e:
            cause = _sentvec_cause(e)
            if cause is not None:
                raise cause from None
            raise
    finally:
        if started:
            ray.shutdown()


def _sentvec_cause(error: BaseException) -> SentvecError | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, SentvecError):
            return seen
        cause = getattr(seen, "cause", None)
        seen = cause if isinstance(cause, BaseException) else seen.__cause__
    return None


def _finish(
    folder: Path, blocks: list[Block], summaries: list[dict[str, Any]]
) -> DistributedResult:
    by_block = {int(s["block"]): s for s in summaries}  # a retried block reports twice
    missing = [b.index for b in blocks if b.index not in by_block]
    if missing:
        raise SentvecError(
            f"{len(missing)} blocks came back without output (first: {missing[0]}). "
            "Fix: run the same command again; finished blocks are kept."
        )
    keep = {str(by_block[b.index]["file"]) for b in blocks}
    for part in (folder / PARTS).glob("part-*.parquet"):
        if part.name not in keep:  # from a run with another input, model or setting
            part.unlink()
    fingerprints = {str(s["fp"]) for s in summaries}
    if len(fingerprints) > 1:
        raise SentvecError(
            f"the actors loaded different models ({sorted(fingerprints)}). "
            "Fix: install the same model on every node."
        )
    parts = [
        {
            "block": asdict(b),
            "file": str(by_block[b.index]["file"]),
            "rows": int(by_block[b.index]["rows"]),
        }
        for b in blocks
    ]
    encoded = sum(int(s["rows"]) for s in by_block.values() if s["encoded"])
    rows = sum(p["rows"] for p in parts)  # type: ignore[misc]
    fingerprint = next(iter(fingerprints), None)
    write_json_atomic(
        folder / MANIFEST,
        {"format": FORMAT, "fingerprint": fingerprint, "rows": rows, "parts": parts},
    )
    return DistributedResult(folder, rows, encoded, rows - encoded, len(parts), fingerprint)
