"""Batch-invariant int8: a text's vector does not depend on its batch; the per-token int8
arithmetic matches a numpy reference; one names module shared by export and backend."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sentvec

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

TEXTS = [
    "A man is eating food.",
    "The girl is carrying a baby.",
    "a",
    "Café naïve résumé — unicode text! 東京 is a city.",
    "Someone in a gorilla costume is playing a set of drums while a monkey watches closely.",
    "How do I reset my password?",
    "zebras giraffes lions elephants " * 6,
    "The committee postponed the vote until next week.",
    "Where can I download my invoices from last year?",
    "short",
    "A woman is slicing an onion on a wooden board, slowly and carefully.",
]


def test_int8_vector_does_not_depend_on_the_batch(make_st_model, tmp_path):
    folder = make_st_model("mean", dense=24, normalize=True)
    enc = sentvec.load(folder, backend="onnx-int8", cache_dir=tmp_path)
    alone = np.stack([enc.encode([t])[0] for t in TEXTS])
    rng = np.random.default_rng(0)
    for batch_size in (2, 3, 7, 32):
        for _ in range(3):
            order = rng.permutation(len(TEXTS))
            mixed = [TEXTS[i] for i in order] * 2  # duplicates inside one batch too
            got = enc.encode(mixed, batch_size=batch_size)
            want = np.concatenate([alone[order], alone[order]])
            assert np.abs(got - want).max() <= 1e-6, batch_size
    # and it is still the model: close to the fp32 graph
    fp32 = sentvec.load(folder, backend="onnx", cache_dir=tmp_path).encode(TEXTS)
    cos = (alone * fp32).sum(1) / np.linalg.norm(alone, axis=1) / np.linalg.norm(fp32, axis=1)
    assert cos.min() > 0.99, cos


def _one_matmul_graph(w: np.ndarray, path):
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, w.shape[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None, w.shape[1]])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [x],
        [y],
        [numpy_helper.from_array(w, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def _reference(x: np.ndarray, w: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """Per-token symmetric (or shifted unsigned) int8 activations, per-channel int8 weights."""
    w_scale = np.abs(w).max(0) / 127
    w_q = np.clip(np.rint(w / w_scale), -127, 127)
    if shift is None:
        s = np.abs(x).max(-1, keepdims=True) / 127
        q = np.rint(x / s)
        return (q @ w_q) * s * w_scale
    xs = np.maximum(x + shift, 0)
    s = xs.max(-1, keepdims=True) / 255
    q = np.rint(xs / s)
    return (q @ w_q) * s * w_scale - shift @ (w_q * w_scale)


def test_per_token_int8_matches_numpy_reference(tmp_path):
    import onnxruntime as ort

    from sentvec.backends.onnx.quantize import quantize_int8

    rng = np.random.default_rng(1)
    w = rng.normal(size=(64, 48)).astype(np.float32)
    _one_matmul_graph(w, tmp_path / "f.onnx")
    quantize_int8(tmp_path / "f.onnx", tmp_path / "q.onnx")
    x = rng.normal(size=(3, 5, 64)).astype(np.float32)
    x[1, 2] *= 50  # one loud token must not coarsen the others' quantization
    (got,) = ort.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"x": x})
    want = _reference(x.astype(np.float64), w.astype(np.float64))
    assert np.abs(got - want).max() < 1e-4 * np.abs(want).max()
    # per token: the quiet tokens of batch row 1 equal those rows quantized alone
    (alone,) = ort.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"x": x[1:2, :2]})
    np.testing.assert_array_equal(alone[0], got[1, :2])
    exact = x @ w
    err = np.abs(got - exact)[[0, 2]].max() / np.abs(exact).max()
    assert err < 0.02  # a per-batch scale (the loud token's) would give ~0.3 here


def test_calibrated_rewrite_smooths_and_shifts_like_the_reference(tmp_path):
    import onnxruntime as ort

    from sentvec.backends.onnx.quantize import GELU_FLOOR, activation_ranges, quantize_int8

    rng = np.random.default_rng(2)
    w = rng.normal(size=(32, 16)).astype(np.float32)
    _one_matmul_graph(w, tmp_path / "f.onnx")
    calib = [{"x": np.abs(rng.normal(size=(1, 6, 32))).astype(np.float32) * 3} for _ in range(4)]
    ranges = activation_ranges(tmp_path / "f.onnx", calib)
    assert ranges["x"].shape == (2, 32) and ranges["x"][0].min() >= 0
    quantize_int8(
        tmp_path / "f.onnx", tmp_path / "q.onnx", ranges=ranges, alpha=0.5, smooth_outputs_of=()
    )
    x = calib[0]["x"]
    (got,) = ort.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"x": x})
    # reference: smoothing d folded into the weights, shift GELU_FLOOR / d, per-token unsigned
    a_max = np.abs(ranges["x"]).max(0).astype(np.float64)
    d = a_max**0.5 / np.abs(w).max(1).astype(np.float64) ** 0.5
    want = _reference(x / d, w * d[:, None], GELU_FLOOR / d)
    assert np.abs(got - want).max() < 1e-4 * np.abs(want).max()


def test_export_and_backend_share_one_names_module(make_st_model, tmp_path):
    from sentvec.backends.onnx import export as onnx_export
    from sentvec.backends.onnx import names as onnx_names
    from sentvec.backends.onnx import runtime as onnx_backend

    assert onnx_export.OUTPUT_NAME is onnx_names.OUTPUT_NAME
    assert onnx_backend.FILE_NAMES is onnx_names.FILE_NAMES
    enc = sentvec.load(make_st_model("cls"), backend="onnx-int8", cache_dir=tmp_path)
    model = onnx.load(str(enc.backend.path), load_external_data=False)
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta[onnx_names.META_QUANTIZATION]) == onnx_names.QUANTIZATION
    assert enc.backend.path.name == onnx_names.FILE_NAMES["int8"]
    assert [o.name for o in model.graph.output] == [onnx_names.OUTPUT_NAME]
    assert {"MatMulIntegerToFloat", "QuantizeLinear"} <= {n.op_type for n in model.graph.node}
    inits = {t.name for t in model.graph.initializer}
    fp32_products = [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in inits]
    assert not fp32_products  # every product with a weight runs in int8
    assert "DynamicQuantizeLinear" not in {n.op_type for n in model.graph.node}
    # int8 vectors differ from fp32/torch ones: a collection must not mix them
    fp32 = sentvec.load(make_st_model("cls"), backend="onnx", cache_dir=tmp_path)
    assert enc.fingerprint != fp32.fingerprint
    assert fp32.fingerprint == sentvec.load(make_st_model("cls")).fingerprint


def test_gptq_rounding_beats_round_to_nearest_on_calibration_data(tmp_path):
    """GPTQ's weights give a smaller error against the exact fp32 product than plain rounding,
    on correlated inputs like a transformer's; both graphs stay per-token (row) invariant."""
    import onnxruntime as ort

    from sentvec.backends.onnx.quantize import activation_ranges, quantize_int8

    rng = np.random.default_rng(3)
    w = rng.normal(size=(96, 40)).astype(np.float32)
    _one_matmul_graph(w, tmp_path / "f.onnx")
    mix = rng.normal(size=(96, 96)).astype(np.float32)  # correlated channels
    calib = [{"x": (rng.normal(size=(1, 20, 96)) @ mix).astype(np.float32)} for _ in range(20)]
    grams: dict[str, np.ndarray] = {}
    ranges = activation_ranges(tmp_path / "f.onnx", calib, grams)
    x = np.concatenate([c["x"] for c in calib], axis=1)  # (1, 400, 96)
    want = x[0].astype(np.float64) @ w
    errors = {}
    for name, g in (("nearest", None), ("gptq", grams)):
        quantize_int8(tmp_path / "f.onnx", tmp_path / f"{name}.onnx", ranges=ranges, grams=g)
        session = ort.InferenceSession(str(tmp_path / f"{name}.onnx"))
        (got,) = session.run(None, {"x": x})
        errors[name] = float(np.mean((got[0] - want) ** 2))
        (alone,) = session.run(None, {"x": x[:, 7:8]})
        np.testing.assert_array_equal(alone[0, 0], got[0, 7])
    assert errors["gptq"] < 0.8 * errors["nearest"], errors


@pytest.mark.parametrize(
    ("fusion", "op"),
    [
        ("row-scale-in-gemm", None),
        ("qkv-one-product", "Split"),
        ("multihead-attention", "MultiHeadAttention"),
    ],
)
def test_contrib_op_forms_give_the_shipped_graphs_vectors(make_st_model, tmp_path, fusion, op):
    """Each optional contrib-op form is the same arithmetic as the shipped graph (reference),
    and stays batch invariant (padding masked in MultiHeadAttention too). (skip-layernorm
    rounds differently, 5.4e-3 on the default model's vectors, and needs constant biases.)"""
    from sentvec.backends.onnx.quantize import quantize_int8
    from sentvec.backends.onnx.runtime import OnnxBackend

    folder = make_st_model("mean", normalize=True)
    enc = sentvec.load(folder, backend="onnx", cache_dir=tmp_path)
    fp32 = enc.backend.path
    quantize_int8(fp32, tmp_path / "shipped.onnx")
    quantize_int8(fp32, tmp_path / "fused.onnx", fusions=(fusion,))
    model = onnx.load(str(tmp_path / "fused.onnx"))
    if op is not None:
        assert op in {n.op_type for n in model.graph.node}
    enc.backend = OnnxBackend(tmp_path / "shipped.onnx", "onnx-int8")
    want = enc.encode(TEXTS, batch_size=4)
    enc.backend = OnnxBackend(tmp_path / "fused.onnx", "onnx-int8")
    got = enc.encode(TEXTS, batch_size=4)
    assert np.abs(got - want).max() <= 1e-4
    alone = np.stack([enc.encode([t])[0] for t in TEXTS])
    assert np.abs(enc.encode(TEXTS[::-1], batch_size=32)[::-1] - alone).max() <= 1e-6


def test_unknown_fusion_is_refused(tmp_path):
    from sentvec.backends.onnx.quantize import quantize_int8
    from sentvec.errors import InvalidChoiceError

    _one_matmul_graph(np.ones((4, 4), dtype=np.float32), tmp_path / "f.onnx")
    with pytest.raises(InvalidChoiceError, match="skip-layernorm"):
        quantize_int8(tmp_path / "f.onnx", tmp_path / "q.onnx", fusions=("skipln",))
