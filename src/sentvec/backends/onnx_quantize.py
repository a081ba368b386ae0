"""Batch-invariant int8: rewrite an fp32 sentvec graph so its matrix products run in int8.

Weights are quantized once, symmetric, one scale per output channel. Activations are quantized
while the graph runs, symmetric, with **one scale per token** (per row of the activation
matrix): a token's int8 values depend on that token alone, never on the other texts in the
batch or on padding, so a text gets the same vector alone or in any batch. (onnxruntime's
``quantize_dynamic`` computes one scale over the whole batch tensor, padding included.)

Each ``MatMul`` with a constant 2-D weight ``W`` (K, N) becomes::

    s   = max(|x|, over the last axis) / 127           # (..., 1) per token
    q   = uint8(round(x / s) + 128)                     # (..., K)
    acc = MatMulInteger(q, W_int8, a_zero_point=128)     # exact int32 (..., N)
    y   = float(acc) * s * w_scale                       # (..., N)

Only onnx and numpy are needed (no torch, no onnxruntime.quantization).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sentvec.backends import onnx_names as names

if TYPE_CHECKING:
    from sentvec.config import ModelSpec

_EPS = 1e-12  # smallest per-token range (an all-zero row then quantizes to zeros)
SMOOTH_ALPHA = 0.5  # measured in BENCHMARKS.md ("Batch-invariant int8")
GELU_FLOOR = 0.17  # GELU(x) >= -0.16997: such inputs are shifted by +0.17 (then clipped at 0)


def activation_ranges(src: str | Path, feeds: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-channel min and max of every activation that feeds a quantizable MatMul.

    :param src: the fp32 graph.
    :param feeds: graph inputs, one unpadded text per feed (padding would skew the ranges).
    :return: activation name -> (2, K) float32: row 0 the minimum, row 1 the maximum over all
        tokens.
    """
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    model = onnx.load(str(src))
    targets = sorted(_quantizable(model))
    known = {o.name for o in model.graph.output}
    for name in targets:
        if name not in known:
            model.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(
        model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )
    wanted = {i.name for i in session.get_inputs()}
    ranges: dict[str, np.ndarray] = {}
    for feed in feeds:
        outs = session.run(targets, {k: v for k, v in feed.items() if k in wanted})
        for name, x in zip(targets, outs, strict=True):
            flat = x.reshape(-1, x.shape[-1])
            r = np.stack([flat.min(axis=0), flat.max(axis=0)])
            if name in ranges:
                r = np.stack([np.minimum(ranges[name][0], r[0]), np.maximum(ranges[name][1], r[1])])
            ranges[name] = r.astype(np.float32)
    return ranges


def _quantizable(model: Any) -> dict[str, list[str]]:
    """Activation name -> the constant 2-D float weights of the MatMuls it feeds."""
    from onnx import numpy_helper

    weights = {t.name: t for t in model.graph.initializer}
    out: dict[str, list[str]] = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights:
            w = numpy_helper.to_array(weights[node.input[1]])
            if w.ndim == 2 and w.dtype == np.float32:
                out.setdefault(node.input[0], []).append(node.input[1])
    return out


def quantize_int8(
    src: str | Path,
    dst: str | Path,
    *,
    ranges: dict[str, np.ndarray] | None = None,
    alpha: float = SMOOTH_ALPHA,
    skip: str = "",
) -> Path:
    """Write the per-token int8 version of an fp32 sentvec graph.

    :param src: an fp32 graph from :func:`sentvec.backends.onnx_export.export_onnx`.
    :param dst: the target ``.onnx`` file (written to a temporary name, then renamed).
    :param ranges: per-channel activation ranges from :func:`activation_ranges`; with them,
        outlier channels are smoothed into the weights (SmoothQuant) and activations bounded
        below (GELU outputs) are shifted to use all 256 levels. Without them, plain per-token.
    :param alpha: SmoothQuant migration strength (0: none, 1: all into the weights).
    :param skip: leave MatMuls whose input name contains this string in fp32 (for experiments).
    :return: the written file.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    consts: list[onnx.TensorProto] = [
        numpy_helper.from_array(np.array(128, dtype=np.uint8), "sv_q8_zero_point"),
        numpy_helper.from_array(np.array(1.0 / 127.0, dtype=np.float32), "sv_q8_inv127"),
        numpy_helper.from_array(np.array(_EPS, dtype=np.float32), "sv_q8_eps"),
        numpy_helper.from_array(np.array(128.0, dtype=np.float32), "sv_q8_offset"),
    ]
    consumers = _quantizable(model)
    # activation -> (uint8 tensor, per-token scale, zero point input, shift (K,) or None)
    quantized: dict[str, tuple[str, str, str, np.ndarray | None]] = {}
    smoothing: dict[str, np.ndarray | None] = {}
    replaced: set[str] = set()
    nodes: list[onnx.NodeProto] = []
    count = 0
    for node in graph.node:
        x = node.input[0] if node.op_type == "MatMul" else ""
        if x not in consumers or node.input[1] not in consumers[x] or (skip and skip in x):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float64)  # (K, N)
        p = f"sv_q8_{count}"
        count += 1
        if x not in quantized:
            smooth = _smoothing(ranges.get(x) if ranges else None, weights, consumers[x], alpha)
            smoothing[x] = smooth
            src_x, shift = x, None
            if smooth is not None:
                inv_d = (1.0 / smooth).astype(np.float32)
                consts.append(numpy_helper.from_array(inv_d, f"{p}_inv_d"))
                nodes.append(helper.make_node("Mul", [x, f"{p}_inv_d"], [f"{p}_smooth"]))
                src_x = f"{p}_smooth"
                low = float(ranges[x][0].min()) if ranges else -1.0
                if low >= -GELU_FLOOR:  # bounded below: shift to [0, max] and use 256 levels
                    shift = (GELU_FLOOR / smooth).astype(np.float32)
            if shift is not None:
                consts.append(numpy_helper.from_array(shift, f"{p}_shift"))
                if "sv_q8_inv255" not in {c.name for c in consts}:
                    inv255 = np.array(1.0 / 255.0, dtype=np.float32)
                    consts.append(numpy_helper.from_array(inv255, "sv_q8_inv255"))
                nodes += [
                    helper.make_node("Add", [src_x, f"{p}_shift"], [f"{p}_shifted"]),
                    helper.make_node("Relu", [f"{p}_shifted"], [f"{p}_pos"]),
                    _row_max(f"{p}_pos", f"{p}_amax"),
                    helper.make_node("Max", [f"{p}_amax", "sv_q8_eps"], [f"{p}_range"]),
                    helper.make_node("Mul", [f"{p}_range", "sv_q8_inv255"], [f"{p}_scale"]),
                    helper.make_node("Div", [f"{p}_pos", f"{p}_scale"], [f"{p}_div"]),
                    helper.make_node("Round", [f"{p}_div"], [f"{p}_round"]),
                    helper.make_node("Cast", [f"{p}_round"], [f"{p}_u8"], to=TensorProto.UINT8),
                ]
                quantized[x] = (f"{p}_u8", f"{p}_scale", "", shift)
            else:
                nodes += [
                    helper.make_node("Abs", [src_x], [f"{p}_abs"]),
                    _row_max(f"{p}_abs", f"{p}_amax"),
                    helper.make_node("Max", [f"{p}_amax", "sv_q8_eps"], [f"{p}_range"]),
                    helper.make_node("Mul", [f"{p}_range", "sv_q8_inv127"], [f"{p}_scale"]),
                    helper.make_node("Div", [src_x, f"{p}_scale"], [f"{p}_div"]),
                    helper.make_node("Round", [f"{p}_div"], [f"{p}_round"]),
                    helper.make_node("Add", [f"{p}_round", "sv_q8_offset"], [f"{p}_off"]),
                    helper.make_node("Cast", [f"{p}_off"], [f"{p}_u8"], to=TensorProto.UINT8),
                ]
                quantized[x] = (f"{p}_u8", f"{p}_scale", "sv_q8_zero_point", None)
        q_in, scale, zero_point, shift = quantized[x]
        smooth = smoothing[x]
        if smooth is not None:
            w = w * smooth[:, None]  # (x / d) @ (d * W) == x @ W
        amax = np.abs(w).max(axis=0)  # (N,)
        w_scale = np.where(amax > 0, amax / 127.0, 1.0)
        w_q = np.clip(np.rint(w / w_scale), -127, 127)  # (K, N)
        consts += [
            numpy_helper.from_array(w_q.astype(np.int8), f"{p}_w"),
            numpy_helper.from_array(w_scale.astype(np.float32), f"{p}_w_scale"),
        ]
        replaced.add(node.input[1])
        inputs = [q_in, f"{p}_w", zero_point] if zero_point else [q_in, f"{p}_w"]
        out = list(node.output) if shift is None else [f"{p}_y_shifted"]
        nodes += [
            helper.make_node("MatMulInteger", inputs, [f"{p}_acc"], name=p),
            helper.make_node("Cast", [f"{p}_acc"], [f"{p}_accf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{p}_accf", scale], [f"{p}_rows"]),
            helper.make_node("Mul", [f"{p}_rows", f"{p}_w_scale"], out),
        ]
        if shift is not None:  # (x + c) @ W - c @ W, with W as the int8 product sees it
            correction = shift.astype(np.float64) @ (w_q * w_scale)  # (N,)
            consts.append(numpy_helper.from_array(correction.astype(np.float32), f"{p}_corr"))
            nodes.append(helper.make_node("Sub", [out[0], f"{p}_corr"], list(node.output)))
    still_used = {i for n in nodes for i in n.input}
    keep = [t for t in graph.initializer if t.name not in replaced or t.name in still_used]
    del graph.initializer[:]
    graph.initializer.extend([*keep, *consts])
    del graph.node[:]
    graph.node.extend(nodes)
    meta = {p.key: p.value for p in model.metadata_props}
    meta[names.META_QUANTIZATION] = json.dumps(names.QUANTIZATION, sort_keys=True)
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    target = Path(dst)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(tmp))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _row_max(x: str, out: str) -> Any:
    """ReduceMax over the last axis, keeping it (opset 17 form: axes as an attribute)."""
    from onnx import helper

    return helper.make_node("ReduceMax", [x], [out], axes=[-1], keepdims=1)


def _smoothing(
    r: np.ndarray | None, weights: dict[str, Any], consumer_weights: list[str], alpha: float
) -> np.ndarray | None:
    """SmoothQuant factors d (K,): channel k of the activation is divided by d_k and row k of
    its weights multiplied by d_k, d_k = max|x_k|^alpha / max|W_k|^(1-alpha), so a few outlier
    channels stop dominating each token's scale."""
    from onnx import numpy_helper

    if r is None or alpha <= 0:
        return None
    w_max = np.max(
        [np.abs(numpy_helper.to_array(weights[w])).max(axis=1) for w in consumer_weights], axis=0
    )
    a_max = np.maximum(np.abs(r).max(axis=0).astype(np.float64), 1e-5)
    d = a_max**alpha / np.maximum(w_max.astype(np.float64), 1e-5) ** (1 - alpha)
    return np.clip(d, 1e-3, 1e3)


def calibration_texts() -> list[str]:
    """The shipped calibration sentences (questions and answers of the packaged knowledge base).

    :return: about 600 English texts, short and long.
    """
    from importlib import resources

    package, name = names.CALIBRATION_TEXTS
    lines = resources.files(package).joinpath(name).read_text(encoding="utf8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    return [r[k] for k in ("question", "answer") for r in rows if r.get(k)]


def quantize_for_spec(spec: ModelSpec, src: str | Path, dst: str | Path) -> Path:
    """Calibrate on the shipped texts with the model's own tokenizer, then write the int8 graph.

    :param spec: the model the fp32 graph was exported from (for its tokenizer).
    :param src: the fp32 graph.
    :param dst: the int8 graph to write.
    :return: ``dst``.
    """
    from sentvec.batching import pad
    from sentvec.tokenization import TextTokenizer

    tok = TextTokenizer.from_folder(spec.transformer_path, spec.do_lower_case)
    limit = min(int(spec.max_seq_length or 512), names.CALIBRATION_MAX_TOKENS)
    feeds = []
    for ids in tok.content_ids(calibration_texts()):
        row = pad([tok.finish(ids, limit)], tok.pad_id)  # (1, T): one text, no padding
        feeds.append(
            {
                "input_ids": row,
                "attention_mask": np.ones_like(row),
                "token_type_ids": np.zeros_like(row),
            }
        )
    return quantize_int8(src, dst, ranges=activation_ranges(src, feeds))
