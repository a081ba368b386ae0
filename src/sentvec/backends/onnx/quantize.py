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

from sentvec.backends.onnx import names
from sentvec.errors import InvalidChoiceError

if TYPE_CHECKING:
    from sentvec.model_format import ModelSpec

_EPS = 1e-12  # smallest per-token range (an all-zero row then quantizes to zeros)
SMOOTH_ALPHA = float(names.QUANTIZATION["smooth_alpha"])  # measured: BENCHMARKS.md
SMOOTHED_OUTPUTS_OF = tuple(names.QUANTIZATION["smooth_outputs_of"])
GELU_FLOOR = 0.17  # GELU(x) >= -0.16997: such inputs are shifted by +0.17 (then clipped at 0)
#: Optional contrib-op forms of the graph (see :func:`quantize_int8`); none is shipped.
FUSIONS = ("row-scale-in-gemm", "qkv-one-product", "skip-layernorm", "multihead-attention")


def activation_ranges(
    src: str | Path,
    feeds: list[dict[str, np.ndarray]],
    grams: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per-channel min and max of every activation that feeds a quantizable MatMul.

    :param src: the fp32 graph.
    :param feeds: graph inputs, one unpadded text per feed (padding would skew the ranges).
    :param grams: if given, filled with activation name -> (K, K) float64 ``X^T X`` summed over
        all tokens (the second moments GPTQ needs to round the weights).
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
            if grams is not None:
                g = (flat.T @ flat).astype(np.float64)  # float32 BLAS, summed in float64
                grams[name] = grams[name] + g if name in grams else g
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
    skip: str | tuple[str, ...] = (),
    grams: dict[str, np.ndarray] | None = None,
    smooth_outputs_of: tuple[str, ...] = SMOOTHED_OUTPUTS_OF,
    fusions: tuple[str, ...] = (),
) -> Path:
    """Write the per-token int8 version of an fp32 sentvec graph.

    :param src: an fp32 graph from :func:`sentvec.backends.onnx.export.export_onnx`.
    :param dst: the target ``.onnx`` file (written to a temporary name, then renamed).
    :param ranges: per-channel activation ranges from :func:`activation_ranges`; with them,
        outlier channels are smoothed into the weights (SmoothQuant) and activations bounded
        below (GELU outputs) are shifted to use all 256 levels. Without them, plain per-token.
    :param alpha: SmoothQuant migration strength (0: none, 1: all into the weights).
    :param skip: leave MatMuls whose input name contains this string (or one of these strings)
        in fp32 (mixed precision).
    :param grams: activation second moments from :func:`activation_ranges`; with them the
        weights are rounded with GPTQ (each rounding error compensated on the rows not yet
        rounded) instead of to nearest.
    :param smooth_outputs_of: smooth only activations made by these op types (measured: the
        LayerNorm outputs need it, GELU outputs and attention contexts are better without);
        empty: smooth every calibrated activation.
    :param fusions: onnxruntime contrib-op forms to emit instead of the shipped ones (same
        arithmetic; measured slower or no faster, BENCHMARKS.md "int8 v3: fused contrib ops"):
        ``row-scale-in-gemm`` (the row scale as the product's A scale, no ``Mul``),
        ``qkv-one-product`` (query, key and value as one product, then ``Split``),
        ``skip-layernorm`` (bias + residual + LayerNorm as ``SkipLayerNormalization``),
        ``multihead-attention`` (self-attention as ``MultiHeadAttention`` with a key padding
        mask). Empty: the shipped graph.
    :return: the written file.
    """
    import onnx
    from onnx import helper, numpy_helper

    unknown = [f for f in fusions if f not in FUSIONS]
    if unknown:
        raise InvalidChoiceError("int8 fusion", unknown[0], FUSIONS)
    fp32_inputs = (skip,) if isinstance(skip, str) and skip else tuple(skip)
    model = onnx.load(str(src))
    graph = model.graph
    weights = {t.name: t for t in graph.initializer}
    consts: list[onnx.TensorProto] = [
        numpy_helper.from_array(np.array(128, dtype=np.uint8), "sv_q8_zero_point"),
        numpy_helper.from_array(np.array([128], dtype=np.uint8), "sv_q8_zero_point_1"),
        numpy_helper.from_array(np.array(1.0 / 127.0, dtype=np.float32), "sv_q8_inv127"),
        numpy_helper.from_array(np.array(1.0 / 255.0, dtype=np.float32), "sv_q8_inv255"),
        numpy_helper.from_array(np.array(_EPS, dtype=np.float32), "sv_q8_eps"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "sv_q8_one"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "sv_q8_flat"),
    ]
    consumers = _quantizable(model)
    producers = {o: n.op_type for n in graph.node for o in n.output}
    biases = _bias_adds(model, weights)
    # activation -> (uint8 tensor, per-token scale, zero point input, shift (K,) or None)
    quantized: dict[str, tuple[str, str, str, np.ndarray | None]] = {}
    smoothing: dict[str, np.ndarray | None] = {}
    replaced: set[str] = set()
    dropped: set[str] = set()  # outputs of bias Add nodes folded into a product
    nodes: list[onnx.NodeProto] = []
    residual_ln: dict[str, tuple[Any, Any]] = {}
    attention_of: dict[str, tuple[str, str, str]] = {}
    fused = bool(fusions)
    in_gemm = "row-scale-in-gemm" in fusions
    heads = int(_metadata(model).get("num_attention_heads", 0))
    if fused:
        residual_ln = _residual_layer_norms(model, weights) if "skip-layernorm" in fusions else {}
        if heads > 0 and "multihead-attention" in fusions:
            attention_of = _attention_blocks(model, consumers)
        if attention_of:  # (batch, tokens) int32: the key padding mask MultiHeadAttention takes
            mask = names.INPUT_NAMES[1]
            nodes.append(helper.make_node("Cast", [mask], ["sv_q8_key_mask"], to=6))
    contexts = {c for _, c, _ in attention_of.values()}
    attention_parts: dict[str, dict[str, tuple[str, np.ndarray]]] = {}
    dropped_nodes: set[int] = set()  # residual Adds and LayerNorms taken into SkipLayerNorm
    qkv_groups: dict[str, list[Any]] = {}
    if "qkv-one-product" in fusions and "multihead-attention" not in fusions:
        by_name = {n.name: n for n in graph.node}
        blocks: dict[str, dict[str, Any]] = {}
        for name, (role, _, prefix) in _attention_blocks(model, consumers).items():
            blocks.setdefault(prefix, {})[role] = by_name[name]
        for parts in blocks.values():
            group = [parts[r] for r in ("query", "key", "value")]
            for m in group:
                qkv_groups[m.name] = group
    done: set[str] = set()

    def _prepare(
        node: Any, x: str, shift: np.ndarray | None, p: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str, Any]:
        """Int8 weights, their scales, the folded bias and the output name of one product."""
        w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float64)  # (K, N)
        smooth = smoothing[x]
        if smooth is not None:
            w = w * smooth[:, None]  # (x / d) @ (d * W) == x @ W
        amax = np.abs(w).max(axis=0)  # (N,)
        w_scale = np.where(amax > 0, amax / 127.0, 1.0)
        gram = grams.get(x) if grams else None
        if gram is not None:
            d = smooth if smooth is not None else np.ones(w.shape[0])
            w_q = _gptq(w, w_scale, gram / np.outer(d, d))  # second moments of x / d
        else:
            w_q = np.clip(np.rint(w / w_scale), -127, 127)  # (K, N)
        replaced.add(node.input[1])
        bias = np.zeros(w.shape[1])
        out = node.output[0]
        add = biases.get(out)
        if add is not None:  # fold the following bias Add into the product
            bias_name, add_node = add
            bias = numpy_helper.to_array(weights[bias_name]).astype(np.float64)
            dropped.add(add_node.output[0])
            replaced.add(bias_name)
            out = add_node.output[0]
        if shift is not None:  # (x + c) @ W - c @ W, with W as the int8 product sees it
            bias = bias - shift.astype(np.float64) @ (w_q * w_scale)  # (N,)
        return w_q, w_scale, bias, out, add

    count = 0
    for node in graph.node:
        if node.op_type == "Add" and node.output[0] in dropped:
            continue
        if node.name in done:
            continue
        if id(node) in dropped_nodes or any(o in contexts for o in node.output):
            continue
        x = node.input[0] if node.op_type == "MatMul" else ""
        kept = any(k in x for k in fp32_inputs)
        if x not in consumers or node.input[1] not in consumers[x] or kept:
            nodes.append(node)
            continue
        p = f"sv_q8_{count}"
        count += 1
        if x not in quantized:
            a = alpha if not smooth_outputs_of or producers.get(x) in smooth_outputs_of else 0.0
            smooth = _smoothing(ranges.get(x) if ranges else None, weights, consumers[x], a)
            smoothing[x] = smooth
            src_x, shift = x, None
            low = float(ranges[x][0].min()) if ranges else -1.0
            if smooth is not None:
                inv_d = (1.0 / smooth).astype(np.float32)
                consts.append(numpy_helper.from_array(inv_d, f"{p}_inv_d"))
                nodes.append(helper.make_node("Mul", [x, f"{p}_inv_d"], [f"{p}_smooth"]))
                src_x = f"{p}_smooth"
            if low >= -GELU_FLOOR:  # bounded below: shift to [0, max] and use 256 levels
                d = smooth if smooth is not None else np.ones(len(ranges[x][0]) if ranges else 1)
                shift = (GELU_FLOOR / d).astype(np.float32)
            if shift is not None:
                consts.append(numpy_helper.from_array(shift, f"{p}_shift"))
                # no Relu: the uint8 QuantizeLinear saturates the few values below -c at 0
                nodes += [
                    helper.make_node("Add", [src_x, f"{p}_shift"], [f"{p}_shifted"]),
                    _row_max(f"{p}_shifted", f"{p}_amax"),
                ]
                src_x, inv_levels, zero = f"{p}_shifted", "sv_q8_inv255", ""
            else:
                nodes += [
                    helper.make_node("Abs", [src_x], [f"{p}_abs"]),
                    _row_max(f"{p}_abs", f"{p}_amax"),
                ]
                inv_levels, zero = "sv_q8_inv127", "sv_q8_zero_point"
            # scale (..., 1); the quantization itself runs on the (tokens, K) view with one
            # scale per row (QuantizeLinear per axis 0), then takes the activation's shape back
            nodes += [
                helper.make_node("Max", [f"{p}_amax", "sv_q8_eps"], [f"{p}_range"]),
                helper.make_node("Mul", [f"{p}_range", inv_levels], [f"{p}_scale"]),
                helper.make_node("Shape", [src_x], [f"{p}_shape"]),
                helper.make_node("Reshape", [f"{p}_scale", "sv_q8_flat"], [f"{p}_scale_1d"]),
                helper.make_node("Flatten", [src_x], [f"{p}_2d"], axis=-1),
            ]
            q_inputs = [f"{p}_2d", f"{p}_scale_1d"]
            if zero:
                nodes += [
                    helper.make_node("Shape", [f"{p}_scale_1d"], [f"{p}_rows"]),
                    helper.make_node("Expand", ["sv_q8_zero_point_1", f"{p}_rows"], [f"{p}_zp"]),
                ]
                q_inputs.append(f"{p}_zp")
            nodes += [
                helper.make_node("QuantizeLinear", q_inputs, [f"{p}_q2d"], axis=0),
                helper.make_node("Reshape", [f"{p}_q2d", f"{p}_shape"], [f"{p}_u8"]),
            ]
            quantized[x] = (f"{p}_u8", f"{p}_scale", zero, shift)
        q_in, scale, zero_point, shift = quantized[x]
        members = qkv_groups.get(node.name, [node])
        if len(members) > 1:  # query, key, value: one product over the concatenated weights
            done.update(m.name for m in members)
            made = [_prepare(m, x, shift, f"{p}_{i}") for i, m in enumerate(members)]
            w_q = np.concatenate([r[0] for r in made], axis=1)
            w_scale = np.concatenate([r[1] for r in made])
            bias = np.concatenate([r[2] for r in made])
            widths = np.array([r[0].shape[1] for r in made], dtype=np.int64)
            consts += [
                numpy_helper.from_array(w_q.astype(np.int8), f"{p}_w"),
                numpy_helper.from_array(w_scale.astype(np.float32), f"{p}_w_scale"),
                numpy_helper.from_array(bias.astype(np.float32), f"{p}_bias"),
                numpy_helper.from_array(widths, f"{p}_split"),
            ]
            a_scale = scale if in_gemm else "sv_q8_one"
            inputs = [q_in, f"{p}_w", a_scale, f"{p}_w_scale", zero_point]
            y = f"{p}_y0" if in_gemm else f"{p}_y"
            nodes.append(
                helper.make_node(
                    "MatMulIntegerToFloat", inputs, [y], name=p, domain="com.microsoft"
                )
            )
            if not in_gemm:
                nodes.append(helper.make_node("Mul", [f"{p}_y", scale], [f"{p}_y0"]))
            nodes += [
                helper.make_node("Add", [f"{p}_y0", f"{p}_bias"], [f"{p}_yb"]),
                helper.make_node("Split", [f"{p}_yb", f"{p}_split"], [r[3] for r in made], axis=-1),
            ]
            continue
        w_q, w_scale, bias, out, add = _prepare(node, x, shift, p)
        consts += [
            numpy_helper.from_array(w_q.astype(np.int8), f"{p}_w"),
            numpy_helper.from_array(w_scale.astype(np.float32), f"{p}_w_scale"),
        ]
        if not fused:
            # v3 form: one scalar A scale (the GEMM's fast output stage), then the row scale
            # as a Mul and the bias as an Add
            inputs = [q_in, f"{p}_w", "sv_q8_one", f"{p}_w_scale", zero_point]
            if not zero_point:
                inputs.pop()
            unscaled, scaled = f"{p}_y", (out if add is None and shift is None else f"{p}_ys")
            nodes += [
                helper.make_node(
                    "MatMulIntegerToFloat", inputs, [unscaled], name=p, domain="com.microsoft"
                ),
                helper.make_node("Mul", [unscaled, scale], [scaled]),
            ]
            if scaled != out:
                consts.append(numpy_helper.from_array(bias.astype(np.float32), f"{p}_bias"))
                nodes.append(helper.make_node("Add", [scaled, f"{p}_bias"], [out]))
            continue
        # fused forms: the (tokens, 1) row scale as the product's A scale (onnxruntime then
        # ignores the bias input), the bias to the op that follows
        inputs = [q_in, f"{p}_w", scale if in_gemm else "sv_q8_one", f"{p}_w_scale", zero_point]
        if not zero_point:
            inputs.pop()
        if node.name not in attention_of:
            consts.append(numpy_helper.from_array(bias.astype(np.float32), f"{p}_bias"))
        y = f"{p}_y"
        nodes.append(
            helper.make_node("MatMulIntegerToFloat", inputs, [y], name=p, domain="com.microsoft")
        )
        if not in_gemm:
            nodes.append(helper.make_node("Mul", [y, scale], [f"{p}_ys"]))
            y = f"{p}_ys"
        skip_ln = residual_ln.get(out)
        block = attention_of.get(node.name)
        if skip_ln is not None:  # bias + residual + LayerNorm: one SkipLayerNormalization
            res_add, ln = skip_ln
            residual = next(i for i in res_add.input if i != out)
            dropped_nodes.update({id(res_add), id(ln)})
            eps = next((a.f for a in ln.attribute if a.name == "epsilon"), 1e-5)
            nodes.append(
                helper.make_node(
                    "SkipLayerNormalization",
                    [y, residual, ln.input[1], ln.input[2], f"{p}_bias"],
                    [ln.output[0]],
                    domain="com.microsoft",
                    epsilon=eps,
                )
            )
        elif block is not None:  # query/key/value: the bias goes to MultiHeadAttention
            role, context, prefix = block
            pending = attention_parts.setdefault(prefix, {})
            pending[role] = (y, bias)
            if len(pending) == 3:
                q_y, k_y, v_y = (pending[r][0] for r in ("query", "key", "value"))
                qkv_bias = np.concatenate([pending[r][1] for r in ("query", "key", "value")])
                consts.append(numpy_helper.from_array(qkv_bias.astype(np.float32), f"{p}_qkv_b"))
                nodes.append(
                    helper.make_node(
                        "MultiHeadAttention",
                        [q_y, k_y, v_y, f"{p}_qkv_b", "sv_q8_key_mask"],
                        [context],
                        domain="com.microsoft",
                        num_heads=heads,
                    )
                )
        else:  # onnxruntime fuses this Add with a following GELU into BiasGelu
            nodes.append(helper.make_node("Add", [y, f"{p}_bias"], [out]))
    if fused:
        nodes = _live(nodes, dropped_nodes, {o.name for o in graph.output})
    still_used = {i for n in nodes for i in n.input}
    keep = [t for t in graph.initializer if t.name not in replaced or t.name in still_used]
    del graph.initializer[:]
    graph.initializer.extend([*keep, *(c for c in consts if c.name in still_used)])
    del graph.node[:]
    graph.node.extend(nodes)
    meta = {p.key: p.value for p in model.metadata_props}
    meta[names.META_QUANTIZATION] = json.dumps(names.QUANTIZATION, sort_keys=True)
    del model.metadata_props[:]
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
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


def _uses(model: Any) -> dict[str, list[Any]]:
    """Tensor name -> the nodes that read it."""
    uses: dict[str, list[Any]] = {}
    for node in model.graph.node:
        for name in node.input:
            uses.setdefault(name, []).append(node)
    return uses


def _metadata(model: Any) -> dict[str, Any]:
    """The transformer settings the export stored in the graph (hidden size, heads)."""
    props = {p.key: p.value for p in model.metadata_props}
    return dict(json.loads(props.get(names.META_TRANSFORMER, "{}")))


def _residual_layer_norms(model: Any, weights: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Product output (after its bias) -> (residual Add, LayerNormalization) where the output's
    only use is ``LayerNorm(output + residual)`` over the last axis: the three become one
    ``SkipLayerNormalization``."""
    uses = _uses(model)
    graph_outputs = {o.name for o in model.graph.output}
    out: dict[str, tuple[Any, Any]] = {}
    for add in model.graph.node:
        if add.op_type != "Add" or add.output[0] in graph_outputs:
            continue
        users = uses.get(add.output[0], [])
        if len(users) != 1 or users[0].op_type != "LayerNormalization":
            continue
        ln = users[0]
        axis = next((a.i for a in ln.attribute if a.name == "axis"), -1)
        if axis != -1 or len(ln.input) < 3 or not all(ln.input[1:3]):
            continue
        if len(ln.output) > 1 and any(ln.output[1:]):
            continue
        for name in add.input:
            if len(uses.get(name, [])) == 1 and name not in weights:
                out.setdefault(name, (add, ln))
    return out


def _attention_blocks(
    model: Any, consumers: dict[str, list[str]]
) -> dict[str, tuple[str, str, str]]:
    """Query/key/value MatMul node name -> (role, context tensor, block prefix) for each
    self-attention block of a traced BERT-style encoder whose three projections read one
    activation and whose context feeds ``attention/output/dense``; those become one
    ``MultiHeadAttention`` (the Transposes, scaled products, mask Add and Softmax go)."""
    by_name = {n.name: n for n in model.graph.node}
    out: dict[str, tuple[str, str, str]] = {}
    for name, node in by_name.items():
        if node.op_type != "MatMul" or not name.endswith("/attention/output/dense/MatMul"):
            continue
        prefix = name[: -len("output/dense/MatMul")]
        parts = {r: by_name.get(f"{prefix}self/{r}/MatMul") for r in ("query", "key", "value")}
        if any(p is None or p.op_type != "MatMul" for p in parts.values()):
            continue
        inputs = {p.input[0] for p in parts.values() if p is not None}
        if len(inputs) != 1 or len(consumers.get(next(iter(inputs)), [])) != 3:
            continue
        for role, p in parts.items():
            if p is not None:
                out[p.name] = (role, node.input[0], prefix)
    return out


def _live(nodes: list[Any], dropped: set[int], outputs: set[str]) -> list[Any]:
    """``nodes`` less the dropped ones and those whose outputs nothing reads any more."""
    needed = set(outputs)
    keep: list[Any] = []
    for node in reversed(nodes):
        if id(node) in dropped or not any(o in needed for o in node.output if o):
            continue
        keep.append(node)
        needed.update(i for i in node.input if i)
    return keep[::-1]


def _bias_adds(model: Any, weights: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """MatMul output -> (bias name, Add node) where the output's only use adds a constant 1-D
    bias (the Linear layers of a traced transformer)."""
    uses = _uses(model)
    graph_outputs = {o.name for o in model.graph.output}
    out: dict[str, tuple[str, Any]] = {}
    for node in model.graph.node:
        if node.op_type != "MatMul" or node.output[0] in graph_outputs:
            continue
        users = uses.get(node.output[0], [])
        if len(users) != 1 or users[0].op_type != "Add":
            continue
        add = users[0]
        other = [i for i in add.input if i != node.output[0]]
        if len(other) == 1 and other[0] in weights and len(weights[other[0]].dims) == 1:
            out[node.output[0]] = (other[0], add)
    return out


def _gptq(w: np.ndarray, w_scale: np.ndarray, gram: np.ndarray, damp: float = 0.01) -> np.ndarray:
    """Round ``w / w_scale`` to int8 one input row at a time, pushing each row's rounding error
    onto the rows not yet rounded so that ``X @ W`` changes least on the calibration tokens
    (GPTQ, Frantar et al. 2022, with the per-channel scales fixed beforehand).

    :param w: (K, N) float64 weights.
    :param w_scale: (N,) per-output-channel scales.
    :param gram: (K, K) ``X^T X`` of the product's input on calibration tokens.
    :param damp: added to the diagonal, as a fraction of its mean (numerical stability).
    :return: (K, N) integers in [-127, 127], as float64.
    """
    w = w.copy()
    h = gram.astype(np.float64).copy()
    dead = np.diag(h) <= 0
    h[dead, dead] = 1.0
    w[dead] = 0.0
    h[np.diag_indices_from(h)] += damp * float(np.mean(np.diag(h)))
    u = np.linalg.cholesky(np.linalg.inv(h)).T  # upper: u.T @ u == inv(h)
    q = np.empty_like(w)
    for k in range(w.shape[0]):
        q[k] = np.clip(np.rint(w[k] / w_scale), -127, 127)
        err = (w[k] - q[k] * w_scale) / u[k, k]
        w[k + 1 :] -= np.outer(u[k, k + 1 :], err)
    return q


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
    """The shipped calibration texts (``sentvec/data/int8_calibration.jsonl``, one JSON string
    a line: 600 English support questions and answers, short and long).

    :return: the texts, in file order.
    """
    from importlib import resources

    package, name = names.CALIBRATION_TEXTS
    lines = resources.files(package).joinpath(name).read_text(encoding="utf8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


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
    grams: dict[str, np.ndarray] = {}
    ranges = activation_ranges(src, feeds, grams)
    return quantize_int8(src, dst, ranges=ranges, grams=grams)
