"""Export a model to ONNX as one graph (transformer, pooling, dense, normalize) and quantize it.

This module needs torch and transformers (the ``torch`` extra) to export; running an exported
graph does not (see :mod:`sentvec.backends.onnx.runtime`). Files are written to a temporary
name and renamed, so a crash never leaves a half-written model behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

from sentvec.backends.onnx import names
from sentvec.backends.onnx.names import OPSET, OUTPUT_NAME, graph_settings
from sentvec.extras import import_extra
from sentvec.model_format import ModelSpec

__all__ = ["OPSET", "export_folder", "export_onnx", "graph_settings", "quantize_int8"]
PROBE_TEXTS = ["export probe", "a somewhat longer sentence to trace the graph with padding"]


def export_onnx(spec: ModelSpec, path: str | Path, *, opset: int = OPSET) -> Path:
    """Export the whole pipeline of ``spec`` to one fp32 ONNX file with dynamic batch/seq axes.

    Inputs ``input_ids``, ``attention_mask`` (and ``token_type_ids`` when the transformer uses
    them), all int64 (B, T); output ``sentence_embedding`` float32 (B, D).

    :param spec: the model (its weights are loaded with torch).
    :param path: the target ``.onnx`` file.
    :param opset: ONNX opset.
    :return: the written file.
    """
    torch = import_extra("torch", "torch")
    from sentvec.modules import build_model
    from sentvec.tokenization import TextTokenizer

    model = build_model(spec).eval()
    _prefer_eager_attention(model)
    tok = TextTokenizer.from_folder(spec.transformer_path, spec.do_lower_case)
    ids = [tok.finish(x, 64) for x in tok.content_ids(PROBE_TEXTS)]
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), tok.pad_id, dtype=torch.long)  # (B, T)
    mask = torch.zeros((len(ids), width), dtype=torch.long)  # (B, T)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    inputs = list(names.INPUT_NAMES[:2])
    args: tuple[Any, ...] = (input_ids, mask)
    if model.uses_token_types:
        inputs.append(names.INPUT_NAMES[2])
        args = (*args, torch.zeros_like(input_ids))
    axes = {n: {0: "batch", 1: "sequence"} for n in inputs}
    axes[OUTPUT_NAME] = {0: "batch"}
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(target)
    try:
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer warnings about Python branches on shapes
            torch.onnx.export(
                model,
                args,
                str(tmp),
                input_names=inputs,
                output_names=[OUTPUT_NAME],
                dynamic_axes=axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
            dim = int(model(*args).shape[-1])
        cfg = model.transformer.config
        shape = {
            "model_type": getattr(cfg, "model_type", ""),
            "hidden_size": getattr(cfg, "hidden_size", 0),
            "num_attention_heads": getattr(cfg, "num_attention_heads", 0),
        }
        _set_metadata(
            tmp,
            {
                names.META_GRAPH: json.dumps(graph_settings(spec), sort_keys=True),
                names.META_TRANSFORMER: json.dumps(shape),
                names.META_DIM: str(dim),
            },
        )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def quantize_int8(spec: ModelSpec, src: str | Path, dst: str | Path) -> Path:
    """The batch-invariant int8 graph (per-token activation scales, per-channel int8 weights,
    calibrated smoothing); see :mod:`sentvec.backends.onnx.quantize`.

    :param spec: the model (its tokenizer reads the calibration text).
    :param src: an fp32 graph from :func:`export_onnx`.
    :param dst: the target ``.onnx`` file.
    :return: the written file.
    """
    from sentvec.backends.onnx.quantize import quantize_for_spec

    return quantize_for_spec(spec, src, dst)


def fuse_transformer(src: Path, dst: Path) -> Path:
    """Fuse attention, LayerNorm, GELU and the embedding layer of a BERT-like graph.

    :param src: fp32 graph.
    :param dst: where to write the fused graph.
    :return: ``dst``, or ``src`` when the architecture is not one the optimizer knows.
    """
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model

    config = _transformer_config(src)
    model_type = {
        "bert": "bert",
        "roberta": "bert",
        "xlm-roberta": "bert",
        "distilbert": "bert",
        "mpnet": "bert",
        "electra": "bert",
    }.get(str(config.get("model_type", "")))
    if model_type is None:
        return src
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimized = optimize_model(
            str(src),
            model_type=model_type,
            num_heads=int(config.get("num_attention_heads", 0)),
            hidden_size=int(config.get("hidden_size", 0)),
            opt_level=1,
            use_gpu=False,
        )
    optimized.save_model_to_file(str(dst))
    onnx.checker.check_model(str(dst))
    return dst


def _transformer_config(onnx_file: Path) -> dict[str, Any]:
    import onnx

    props = {
        p.key: p.value for p in onnx.load(str(onnx_file), load_external_data=False).metadata_props
    }
    return json.loads(props.get(names.META_TRANSFORMER, "{}"))


def _prefer_eager_attention(model: Any) -> None:
    """Trace the plain attention math (fusable by onnxruntime) rather than SDPA."""
    config = getattr(model.transformer, "config", None)
    if config is not None and hasattr(config, "_attn_implementation"):
        with contextlib.suppress(AttributeError, ValueError, TypeError):
            model.transformer.set_attn_implementation("eager")


def _set_metadata(path: Path, values: dict[str, str]) -> None:
    import onnx

    m = onnx.load(str(path))
    keep = [p for p in m.metadata_props if p.key not in values]
    del m.metadata_props[:]
    m.metadata_props.extend(keep)
    for k, v in values.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(path))


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def export_folder(
    model: str | os.PathLike[str] | None,
    out: str | Path,
    *,
    int8: bool = False,
    pooling: str | list[str] | None = None,
    normalize: bool | None = None,
    max_seq_length: int | None = None,
) -> Path:
    """Write a self-contained folder that ``sentvec.load(out, backend="onnx")`` runs torch-free.

    It holds the tokenizer files, the sentence-transformers description files (modules.json,
    pooling/dense configs, sentence_bert_config.json), the transformer's config.json, and
    ``model.onnx`` (plus ``model_int8.onnx`` with ``int8``); no torch weights.

    :param model: a model reference, as for :func:`sentvec.load`.
    :param out: the target folder (created; existing graph files are replaced).
    :param int8: also write the int8-quantized graph.
    :param pooling: override the pooling mode(s).
    :param normalize: override L2 normalisation.
    :param max_seq_length: override the longest input in tokens.
    :return: the folder.
    """
    from sentvec import hub
    from sentvec.model_format import load_spec, write_spec
    from sentvec.tokenization import copy_tokenizer_files

    spec = load_spec(hub.resolve(model), pooling, normalize, max_seq_length)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    src = spec.transformer_path
    copy_tokenizer_files(src, root)
    target = root / "config.json"
    if not (target.exists() and os.path.samefile(src / "config.json", target)):
        shutil.copyfile(src / "config.json", target)
    hidden = int(json.loads((src / "config.json").read_text(encoding="utf8")).get("hidden_size", 0))
    fp32 = export_onnx(spec, root / names.FILE_NAMES["fp32"])
    write_spec(spec, root, dim=hidden)
    if int8:
        quantize_int8(spec, fp32, root / names.FILE_NAMES["int8"])
    return root
