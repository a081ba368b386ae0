"""ONNX for cross-encoders: the sequence-classification network exported as one graph
(token ids in, ``logits`` out), its batch-invariant int8 form, and the backend that runs it
with onnxruntime alone (no torch).

The int8 form is the bi-encoder's (:mod:`sentvec.backends.onnx.quantize`: one activation
scale per token, per-channel int8 weights, GPTQ rounding, smoothing), calibrated on (question,
answer) pairs of the shipped knowledge base, so a pair's score does not depend on the batch.
A graph is exported once with torch and cached beside the model when that folder is ours to
write, else under ``$SENTVEC_HOME/onnx``; a folder written by :func:`export_cross` loads
torch-free.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.backends.onnx import names
from sentvec.backends.onnx.runtime import (
    OnnxBackend,
    OnnxExportError,
    _torch_available,
    _version,
    _writable_model_folder,
    default_cache_root,
)
from sentvec.errors import InvalidChoiceError

if TYPE_CHECKING:
    from sentvec.cross.config import CrossSpec

LOGITS = "logits"
META_CROSS = "sentvec_cross"  # {"num_labels": L} marks a cross-encoder graph
CROSS_VARIANTS = {"onnx": "fp32", "onnx-int8": "int8"}


class CrossOnnxBackend(OnnxBackend):
    """An :class:`OnnxBackend` whose graph gives (B, labels) logits."""

    output_name = LOGITS

    @classmethod
    def for_folder(
        cls,
        spec: CrossSpec,
        name: str = "onnx",
        threads: int | None = None,
        lanes: int | None = None,
        cache_dir: str | Path | None = None,
        optimization: str = "all",
    ) -> CrossOnnxBackend:
        """Open the folder's exported graph, or export (with torch) and cache one.

        :param spec: the model. :param name: ``onnx`` or ``onnx-int8``.
        :param threads: threads in all. :param lanes: sessions side by side.
        :param cache_dir: cache root override. :param optimization: onnxruntime level.
        :return: the backend.
        """
        if name not in CROSS_VARIANTS:
            raise InvalidChoiceError("onnx backend", name, CROSS_VARIANTS)
        variant = CROSS_VARIANTS[name]
        shipped = spec.path / names.FILE_NAMES[variant]
        path = shipped if shipped.exists() else cached_or_export_cross(spec, variant, cache_dir)
        return cls(path, name, threads, optimization, False, lanes)

    def logits(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray
    ) -> np.ndarray:
        """:return: (B, L) float32 logits."""
        return self.embed(input_ids, attention_mask, token_type_ids)


def cache_key(spec: CrossSpec) -> str:
    """16 hex digits of the weights, the library versions and the int8 scheme."""
    h = hashlib.sha256()
    versions = {p: _version(p) for p in ("sentvec", "torch", "transformers", "onnx", "onnxruntime")}
    h.update(json.dumps(["cross", versions, names.QUANTIZATION, names.OPSET]).encode())
    config = spec.path / "config.json"
    if config.exists():
        h.update(config.read_bytes())
    for file in sorted([*spec.path.glob("*.safetensors"), *spec.path.glob("pytorch_model*.bin")]):
        h.update(f"{file.name}:{file.stat().st_size}".encode())
        with open(file, "rb") as f:
            h.update(f.read(1 << 20))
    return h.hexdigest()[:16]


def cached_or_export_cross(
    spec: CrossSpec, variant: str, cache_dir: str | Path | None = None
) -> Path:
    """The cached graph of a cross-encoder folder, exported on first use.

    :raises OnnxExportError: nothing exported and no torch to export with.
    """
    key = "cross-" + cache_key(spec)
    if cache_dir is not None:
        folder = Path(cache_dir) / key
    elif _writable_model_folder(spec.path):
        folder = spec.path / names.BESIDE_DIR / key
    else:
        folder = default_cache_root() / key
    target = folder / names.FILE_NAMES[variant]
    if target.exists():
        return target
    if not _torch_available():
        raise OnnxExportError(spec.path, variant)
    fp32 = folder / names.FILE_NAMES["fp32"]
    if not fp32.exists():
        export_cross_onnx(spec, fp32)
    if variant == "int8":
        quantize_cross_int8(spec, fp32, target)
    return target


def export_cross_onnx(spec: CrossSpec, path: str | Path) -> Path:
    """Export the network to one fp32 graph with dynamic batch and sequence axes.

    Inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the model reads
    them), int64 (B, T); output ``logits`` float32 (B, labels).

    :param spec: the model (loaded with torch). :param path: the target file.
    :return: the file.
    """
    import torch

    from sentvec.backends.onnx.export import _prefer_eager_attention, _set_metadata, _temp_name
    from sentvec.cross.pairs import PairTokenizer
    from sentvec.cross.torch_backend import build_cross_model
    from sentvec.tokenization import TextTokenizer

    model = build_cross_model(spec.path)
    _prefer_eager_attention(model)
    tok = PairTokenizer(TextTokenizer.from_folder(spec.path, spec.do_lower_case))
    ids, types = tok.encode(
        [
            ("export probe", "a somewhat longer passage to trace the graph with padding"),
            ("short", "pair"),
        ],
        64,
    )
    feats = {k: torch.from_numpy(v) for k, v in tok.features(ids, types).items()}
    inputs = list(names.INPUT_NAMES[:2])
    args: tuple[Any, ...] = (feats["input_ids"], feats["attention_mask"])
    if model.uses_token_types:
        inputs.append(names.INPUT_NAMES[2])
        args = (*args, feats["token_type_ids"])
    axes = {n: {0: "batch", 1: "sequence"} for n in inputs}
    axes[LOGITS] = {0: "batch"}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(target)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                args,
                str(tmp),
                input_names=inputs,
                output_names=[LOGITS],
                dynamic_axes=axes,
                opset_version=names.OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        cfg = model.transformer.config
        shape = {
            "model_type": getattr(cfg, "model_type", ""),
            "hidden_size": getattr(cfg, "hidden_size", 0),
            "num_attention_heads": getattr(cfg, "num_attention_heads", 0),
        }
        _set_metadata(
            tmp,
            {
                META_CROSS: json.dumps({"num_labels": int(cfg.num_labels)}),
                names.META_TRANSFORMER: json.dumps(shape),
                names.META_DIM: str(int(cfg.num_labels)),
            },
        )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def calibration_pairs() -> list[tuple[str, str]]:
    """(question, answer) pairs of the shipped knowledge base, matching and mismatched, so the
    activation ranges cover relevant and irrelevant pairs alike."""
    from importlib import resources

    kb = resources.files("sentvec.data").joinpath("knowledge_base.jsonl")
    lines = kb.read_text(encoding="utf8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    rows = [r for r in rows if r.get("question") and r.get("answer")]
    matched = [(r["question"], r["answer"]) for r in rows]
    shifted = [(a["question"], b["answer"]) for a, b in zip(rows, rows[7:] + rows[:7], strict=True)]
    return matched + shifted


def quantize_cross_int8(spec: CrossSpec, src: str | Path, dst: str | Path) -> Path:
    """The batch-invariant int8 graph of a cross-encoder, calibrated on knowledge-base pairs.

    :param spec: the model (its tokenizer). :param src: the fp32 graph. :param dst: target.
    :return: ``dst``.
    """
    from sentvec.backends.onnx.quantize import activation_ranges, quantize_int8
    from sentvec.cross.pairs import PairTokenizer
    from sentvec.tokenization import TextTokenizer

    tok = PairTokenizer(TextTokenizer.from_folder(spec.path, spec.do_lower_case))
    limit = min(spec.max_seq_length, names.CALIBRATION_MAX_TOKENS)
    ids, types = tok.encode(calibration_pairs(), limit)
    feeds = [tok.features([i], [t]) for i, t in zip(ids, types, strict=True)]  # unpadded
    grams: dict[str, np.ndarray] = {}
    ranges = activation_ranges(src, feeds, grams)
    return quantize_int8(src, dst, ranges=ranges, grams=grams)


def export_cross(model: str | os.PathLike[str], out: str | Path, *, int8: bool = False) -> Path:
    """Write a self-contained folder that ``load_cross(out, backend="onnx")`` (or
    ``"onnx-int8"``) runs without torch: tokenizer files, config files, ``model.onnx`` (and
    ``model_int8.onnx``); no torch weights.

    :param model: a cross-encoder folder or hub id. :param out: the target folder.
    :param int8: also write the int8 graph. :return: the folder.
    """
    from sentvec import hub
    from sentvec.cross.config import read_cross_spec, write_cross_config
    from sentvec.tokenization import copy_tokenizer_files

    spec = read_cross_spec(hub.resolve(model))
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    copy_tokenizer_files(spec.path, root)
    for name in ("config.json", "sentence_bert_config.json"):
        source, target = spec.path / name, root / name
        if source.exists() and not (target.exists() and os.path.samefile(source, target)):
            shutil.copyfile(source, target)
    write_cross_config(root, spec.activation, spec.max_seq_length)
    fp32 = export_cross_onnx(spec, root / names.FILE_NAMES["fp32"])
    if int8:
        quantize_cross_int8(spec, fp32, root / names.FILE_NAMES["int8"])
    return root


__all__ = ["CrossOnnxBackend", "calibration_pairs", "export_cross", "quantize_cross_int8"]
