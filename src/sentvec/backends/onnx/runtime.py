"""The ONNX Runtime backend: one graph (transformer, pooling, dense, normalize) on the CPU.

Running needs only onnxruntime and numpy (``pip install sentvec[onnx]``), never torch: a folder
written by ``sentvec export`` (or any folder holding our ``model.onnx``) loads torch-free.
For other models the graph is exported once with torch and cached, keyed by the weights, the
graph settings and the library versions: beside the model when its folder is ours to write,
else under ``$SENTVEC_HOME/onnx`` (default ``~/.cache/sentvec/onnx``).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import warnings
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.backends.onnx.names import (
    BESIDE_DIR,
    FILE_NAMES,
    INPUT_NAMES,
    META_DIM,
    META_GRAPH,
    META_QUANTIZATION,
    OPSET,
    OUTPUT_NAME,
    QUANTIZATION,
    VARIANTS,
    graph_settings,
)
from sentvec.errors import BrokenModelError, InvalidChoiceError, SentvecError
from sentvec.extras import import_extra

if TYPE_CHECKING:
    from sentvec.model_format import ModelSpec

DEFAULT_MAX_TOKENS = 1024
OPT_LEVELS = ("disable", "basic", "extended", "all")
_VERSIONED = ("sentvec", "torch", "transformers", "onnx", "onnxruntime")


class OnnxExportError(SentvecError, RuntimeError):
    """An ONNX graph is needed but none was exported and torch is not there to export one."""

    def __init__(self, folder: Path, variant: str) -> None:
        self.folder = folder
        super().__init__(
            f"no exported {FILE_NAMES[variant]} for the model at {str(folder)!r} and torch is not "
            "installed to export one. Fix: run `sentvec export MODEL --out DIR"
            f"{' --int8' if variant == 'int8' else ''}` where torch is installed and load DIR, "
            "or pip install 'sentvec[torch]'."
        )


class OnnxBackend:
    """Runs an exported sentvec graph with onnxruntime on the CPU.

    It has ``lanes`` sessions of the same graph (opened as they are first needed), each with
    ``threads // lanes`` threads, and :meth:`embed` may be called from that many threads at
    once: the encoder runs its batches concurrently, one per lane. By default one lane per
    core with one thread each, which on this 2-core CPU encodes faster than one session on
    both cores (no hand-off between threads inside every operator; BENCHMARKS.md, "Lanes").
    """

    # Padded tokens per batch the encoder uses unless told otherwise: on 2 cores small batches
    # keep activations in cache (measured in BENCHMARKS.md, "Token budget").
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    #: the graph output :meth:`embed` returns (the cross-encoder's graph gives ``logits``)
    output_name: str = OUTPUT_NAME

    def __init__(
        self,
        path: str | Path,
        name: str = "onnx",
        threads: int | None = None,
        optimization: str = "all",
        spinning: bool = False,
        lanes: int | None = None,
    ) -> None:
        """:param path: the ``.onnx`` file (a full sentvec graph).
        :param name: the backend name to report.
        :param threads: threads in all (default: the physical cores this process may use).
        :param optimization: onnxruntime graph optimisation level (disable/basic/extended/all).
        :param spinning: let idle worker threads spin-wait. Off by default: on 2 cores shared
            with other busy processes spinning cost 40% of the speed (BENCHMARKS.md).
        :param lanes: sessions that run batches side by side, sharing the threads (default:
            one per thread; 1 gives one session using every thread)."""
        ort = import_extra("onnxruntime", "onnx")
        if optimization not in OPT_LEVELS:
            raise InvalidChoiceError("onnx optimization level", optimization, OPT_LEVELS)
        cores = threads or physical_cores()
        if cores < 1:
            raise SentvecError(f"threads must be at least 1, got {threads}. Fix: pass threads>=1.")
        if lanes is not None and not 1 <= lanes <= cores:
            raise SentvecError(
                f"lanes must be between 1 and the threads ({cores}), got {lanes}. "
                "Fix: pass fewer lanes or more threads."
            )
        #: how many batches may run at once (each on its own session)
        self.lanes = lanes or cores
        self.name = name
        self.path = Path(path)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = {
            "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[optimization]
        opts.intra_op_num_threads = cores // self.lanes
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self._options = opts
        self.session = self._open()
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._free.put(self.session)
        self._opened = 1
        self._opening = threading.Lock()
        outputs = {o.name: o for o in self.session.get_outputs()}
        if self.output_name not in outputs:
            raise BrokenModelError(
                self.path,
                f"not a sentvec graph (no {self.output_name!r} output); "
                "re-export it with `sentvec export`",
            )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        width = outputs[self.output_name].shape[-1]
        self.dim = int(width) if isinstance(width, int) else int(self.metadata.get(META_DIM, 0))
        quantized = self.metadata.get(META_QUANTIZATION)
        #: the int8 scheme (None for fp32 graphs); part of :attr:`Encoder.fingerprint`
        self.quantization: dict[str, Any] | None = (
            {"backend": name, **json.loads(quantized)} if quantized else None
        )
        stored = self.metadata.get(META_GRAPH)
        self.graph_settings: dict[str, Any] | None = json.loads(stored) if stored else None

    @classmethod
    def from_spec(
        cls,
        spec: ModelSpec,
        name: str = "onnx",
        threads: int | None = None,
        optimization: str = "all",
        cache_dir: str | Path | None = None,
        spinning: bool = False,
        lanes: int | None = None,
    ) -> OnnxBackend:
        """Find (or export once, then cache) the graph for ``spec`` and open it.

        :param spec: the model.
        :param name: ``onnx`` (fp32) or ``onnx-int8``.
        :param threads: threads in all (default: physical cores).
        :param optimization: onnxruntime graph optimisation level.
        :param cache_dir: where exports are cached (default: beside the model, else
            ``$SENTVEC_HOME/onnx``).
        :param spinning: see :class:`OnnxBackend`.
        :param lanes: see :class:`OnnxBackend`.
        :return: the backend.
        """
        if name not in VARIANTS:
            raise InvalidChoiceError("onnx backend", name, VARIANTS)
        shipped = spec.transformer_path / FILE_NAMES[VARIANTS[name]]
        if shipped.exists():  # a folder written by `sentvec export`: no torch needed
            backend = cls(shipped, name, threads, optimization, spinning, lanes)
            current = backend.quantization is None or _scheme(backend) == QUANTIZATION
            if backend.graph_settings == graph_settings(spec):
                if current:
                    return backend
                if not _torch_available():  # an older int8 export, and nothing to redo it with
                    warnings.warn(
                        f"{shipped} uses an older int8 scheme whose vectors depend on the "
                        "batch; re-run `sentvec export --int8` to get batch-invariant int8",
                        stacklevel=3,
                    )
                    return backend
        path = cached_or_export(spec, VARIANTS[name], cache_dir)
        return cls(path, name, threads, optimization, spinning, lanes)

    def embed(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        given = dict(zip(INPUT_NAMES, (input_ids, attention_mask, token_type_ids), strict=True))
        feeds = {n: np.ascontiguousarray(given[n], dtype=np.int64) for n in self.input_names}
        session = self._take()
        try:
            (out,) = session.run([self.output_name], feeds)  # (B, D)
        finally:
            self._free.put(session)
        return np.asarray(out, dtype=np.float32)

    def _take(self) -> Any:
        """A session no other thread is running: a free one, a new one while fewer than
        ``lanes`` are open, else the next to come free."""
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._opening:
            if self._opened < self.lanes:
                self._opened += 1
                return self._open()
        return self._free.get()

    def _open(self) -> Any:
        import onnxruntime as ort

        try:
            return ort.InferenceSession(
                str(self.path), self._options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own untyped errors for bad files
            raise BrokenModelError(self.path, f"onnxruntime cannot load it ({e})") from None


def _scheme(backend: OnnxBackend) -> dict[str, Any]:
    q = dict(backend.quantization or {})
    q.pop("backend", None)
    return q


def cached_or_export(spec: ModelSpec, variant: str, cache_dir: str | Path | None = None) -> Path:
    """The cached graph file for ``spec``, exported (with torch) on first use.

    :param spec: the model.
    :param variant: ``fp32`` or ``int8``.
    :param cache_dir: cache root override.
    :return: the ``.onnx`` file.
    :raises OnnxExportError: nothing exported and no torch to export with.
    """
    folder = cache_folder(spec, cache_dir)
    target = folder / FILE_NAMES[variant]
    if target.exists():
        return target
    if not _torch_available():
        raise OnnxExportError(spec.transformer_path, variant)
    from sentvec.backends.onnx import export as onnx_export

    fp32 = folder / FILE_NAMES["fp32"]
    if not fp32.exists():
        onnx_export.export_onnx(spec, fp32)
    if variant == "int8":
        onnx_export.quantize_int8(spec, fp32, target)
    return target


def cache_folder(spec: ModelSpec, cache_dir: str | Path | None = None) -> Path:
    """Folder for this model's exports: ``<key>`` under the cache root.

    :param spec: the model.
    :param cache_dir: explicit cache root (wins over everything).
    :return: the folder (not created).
    """
    key = cache_key(spec)
    if cache_dir is not None:
        return Path(cache_dir) / key
    if _writable_model_folder(spec.transformer_path):
        return spec.transformer_path / BESIDE_DIR / key
    return default_cache_root() / key


def default_cache_root() -> Path:
    """``$SENTVEC_HOME/onnx``, default ``~/.cache/sentvec/onnx``."""
    home = os.environ.get("SENTVEC_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".cache" / "sentvec") / "onnx"


def cache_key(spec: ModelSpec) -> str:
    """A short id of the weights, the graph settings, the quantization and library versions.

    :param spec: the model.
    :return: 16 hex digits.
    """
    h = hashlib.sha256()
    versions = {pkg: _version(pkg) for pkg in _VERSIONED}
    h.update(
        json.dumps([graph_settings(spec), versions, QUANTIZATION, OPSET], sort_keys=True).encode()
    )
    folders = [spec.transformer_path, *(d.path for d in spec.dense if d.path is not None)]
    for folder in folders:
        config = folder / "config.json"
        if config.exists():
            h.update(config.read_bytes())
        for file in sorted([*folder.glob("*.safetensors"), *folder.glob("pytorch_model*.bin")]):
            h.update(f"{file.name}:{file.stat().st_size}".encode())
            with open(file, "rb") as f:
                h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-threads share a core's arithmetic units).

    :return: at least 1.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not cpus:
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(siblings.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def _writable_model_folder(folder: Path) -> bool:
    parts = set(folder.resolve().parts)
    if parts & {"site-packages", "dist-packages"} or any(p.startswith("models--") for p in parts):
        return False  # installed packages and the Hugging Face cache are not ours to write
    return os.access(folder, os.W_OK)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def _torch_available() -> bool:
    import importlib.util

    try:
        return all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers"))
    except (ImportError, ValueError):
        return False
