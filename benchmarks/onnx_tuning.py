"""The measurements behind the onnx backends' defaults, on the first lines of the wiki excerpt.

    PYTHONPATH=src python benchmarks/onnx_tuning.py variants   # quantization variants
    PYTHONPATH=src python benchmarks/onnx_tuning.py budget     # batch size x token budget
    PYTHONPATH=src python benchmarks/onnx_tuning.py threads    # spinning, opt level, threads
    PYTHONPATH=src python benchmarks/onnx_tuning.py int8 --n 2000  # batch-invariant int8 schemes
    PYTHONPATH=src python benchmarks/onnx_tuning.py fusions         # int8 contrib-op forms

``variants`` and ``budget`` report CPU milliseconds per sentence on one thread
(``time.process_time``), which stays stable when other processes share the cores;
``threads`` reports wall-clock sentences/second, the figure those settings change.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIKI = ROOT.parent / "shared" / "data" / "wiki-sentences" / "wiki1m-excerpt.txt"
WORK = ROOT / "out" / "tuning"


def texts(n: int) -> list[str]:
    return [x.strip() for x in WIKI.read_text(encoding="utf8").splitlines() if x.strip()][:n]


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def variants(n: int, rounds: int) -> None:
    """fp32 vs fused fp32 vs dynamic int8 variants: accuracy to fp32 and CPU time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import sentvec
    from sentvec.backends.onnx.export import fuse_transformer
    from sentvec.backends.onnx.runtime import OnnxBackend

    logging.disable(logging.WARNING)
    WORK.mkdir(parents=True, exist_ok=True)
    base = sentvec.load(backend="onnx")
    plain = Path(base.backend.path)  # type: ignore[attr-defined]
    fused = WORK / "fused.onnx"
    if not fused.exists():
        fuse_transformer(plain, fused)
    mm, mma = ["MatMul"], ["MatMul", "Attention"]
    table = {
        "fp32": (plain, None),
        "fp32 fused": (fused, None),
        "int8 per-tensor": (plain, {"op_types_to_quantize": mm}),
        "int8 per-tensor fused": (fused, {"op_types_to_quantize": mma}),
        "int8 per-channel": (plain, {"op_types_to_quantize": mm, "per_channel": True}),
        "int8 per-channel fused": (fused, {"op_types_to_quantize": mma, "per_channel": True}),
        "int8 per-channel reduce_range": (
            plain,
            {"op_types_to_quantize": mm, "per_channel": True, "reduce_range": True},
        ),
        "uint8 weights per-channel": (
            plain,
            {"op_types_to_quantize": mm, "per_channel": True, "weight_type": QuantType.QUInt8},
        ),
    }
    s = texts(n)
    ref = base.encode(s, show_progress=False)
    encoders = {}
    for name, (src, q) in table.items():
        path = src
        if q is not None:
            path = WORK / (name.replace(" ", "-") + ".onnx")
            if not path.exists():
                kwargs = {
                    "weight_type": QuantType.QInt8,
                    "extra_options": {"DefaultTensorType": onnx.TensorProto.FLOAT},
                    **q,
                }
                quantize_dynamic(str(src), str(path), **kwargs)
        enc = sentvec.load(backend="onnx")
        enc.backend = OnnxBackend(path, name, threads=1)
        encoders[name] = (enc, cos(enc.encode(s, show_progress=False), ref))
    cpu: dict[str, list[float]] = {k: [] for k in encoders}
    for _ in range(rounds):
        for name, (enc, _) in encoders.items():
            t = time.process_time()
            enc.encode(s, show_progress=False)
            cpu[name].append(1000 * (time.process_time() - t) / len(s))
    print("| graph | mean cosine to fp32 | CPU ms / sentence (1 thread, median) |")
    print("|---|---|---|")
    for name, (_, c) in encoders.items():
        print(f"| {name} | {c:.4f} | {np.median(cpu[name]):.2f} |")


def budget(n: int, rounds: int) -> None:
    """Batch size x token budget for onnx-int8, CPU time on one thread."""
    import sentvec

    enc = sentvec.load(backend="onnx-int8", threads=1)
    s = texts(n)
    configs = [
        (16, None),
        (32, None),
        (64, None),
        (128, None),
        (32, 1024),
        (64, 1024),
        (128, 2048),
        (256, 4096),
        (512, 8192),
    ]
    cpu: dict[tuple[int, int | None], list[float]] = {c: [] for c in configs}
    enc.encode(s[:64], show_progress=False)
    for _ in range(rounds):
        for c in configs:
            t = time.process_time()
            enc.encode(s, batch_size=c[0], max_tokens=c[1] or 10**9, show_progress=False)
            cpu[c].append(1000 * (time.process_time() - t) / len(s))
    print("| batch_size | max_tokens | CPU ms / sentence (1 thread, median) |")
    print("|---|---|---|")
    for c in configs:
        print(f"| {c[0]} | {c[1] or 'none'} | {np.median(cpu[c]):.3f} |")


def threads(n: int, rounds: int) -> None:
    """Spinning, optimisation level and thread count, wall clock, alternating."""
    import sentvec

    settings = {
        "2 threads, spinning": {"spinning": True},
        "2 threads, no spinning (default)": {},
        "2 threads, spinning, opt level extended": {"optimization": "extended", "spinning": True},
        "1 thread": {"threads": 1},
    }
    encoders = {k: sentvec.load(backend="onnx-int8", **kw) for k, kw in settings.items()}
    s = texts(n)
    rate: dict[str, list[float]] = {k: [] for k in encoders}
    for _ in range(rounds):
        for k, enc in encoders.items():
            t = time.perf_counter()
            enc.encode(s, show_progress=False)
            rate[k].append(len(s) / (time.perf_counter() - t))
    print("| setting | sentences/s (median) | rounds |")
    print("|---|---|---|")
    for k in encoders:
        print(f"| {k} | {np.median(rate[k]):.0f} | {[round(x) for x in rate[k]]} |")


def alone_vs_batch(enc: Any, one: str, others: list[str]) -> float:
    """Largest difference between ``one`` encoded alone and inside batches of 2, 8 and 32
    (at three positions among ``others``)."""
    alone = enc.encode([one])[0]
    return float(
        max(
            np.abs(
                enc.encode([*others[k : k + b], one, *others[50 : 50 + k]], batch_size=b)[b] - alone
            ).max()
            for b in (2, 8, 32)
            for k in range(3)
        )
    )


def int8(n: int, rounds: int) -> None:
    """int8 schemes: batch invariance, top-10 neighbour overlap with fp32, STSb, CPU time.

    The v1 scheme is onnxruntime's quantize_dynamic (one activation scale per batch tensor);
    the others are :mod:`sentvec.backends.onnx.quantize` (one scale per token)."""
    import sys

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import sentvec
    from sentvec.backends.onnx.quantize import activation_ranges, calibration_texts, quantize_int8
    from sentvec.backends.onnx.runtime import OnnxBackend

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from encode_backends import sts_score

    from sentvec.encoder import _features

    logging.disable(logging.WARNING)
    WORK.mkdir(parents=True, exist_ok=True)
    base = sentvec.load(backend="onnx", threads=1)
    plain = Path(base.backend.path)  # type: ignore[attr-defined]
    tok = base.tokenizer
    feeds = [
        _features([tok.finish(ids, 256)], tok.pad_id)
        for ids in tok.content_ids(calibration_texts())
    ]
    grams: dict[str, np.ndarray] = {}
    ranges = activation_ranges(plain, feeds, grams)
    graphs: dict[str, Path] = {}
    v1 = WORK / "int8-v1.onnx"
    if not v1.exists():
        quantize_dynamic(
            str(plain),
            str(v1),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    graphs["v1: quantize_dynamic, per-batch scale"] = v1
    for label, kw in {
        "per-token": {},
        "per-token + SmoothQuant 0.5 on all, GELU shift (v2 settings)": {
            "ranges": ranges,
            "alpha": 0.5,
            "smooth_outputs_of": (),
        },
        "per-token + SmoothQuant 0.6 on LayerNorm outputs, GELU shift": {"ranges": ranges},
        "same + GPTQ weight rounding (shipped)": {"ranges": ranges, "grams": grams},
    }.items():
        path = WORK / (label.split(" (")[0].replace(" ", "").replace("+", "_") + ".onnx")
        quantize_int8(plain, path, **kw)  # type: ignore[arg-type]
        graphs[label] = path
    s = texts(n)
    ref = base.encode(s, show_progress=False)

    def topk(v: np.ndarray) -> np.ndarray:
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        sim = v @ v.T
        np.fill_diagonal(sim, -np.inf)
        return np.argsort(-sim, axis=1)[:, :10]

    ref_nn = topk(ref)
    one, others = s[5], s[100:200]
    print(
        "| int8 graph | alone vs in batch, max abs diff | top-10 overlap with fp32 "
        "| mean cosine to fp32 | STSb test | CPU ms / sentence (1 thread) |"
    )
    print("|---|---|---|---|---|---|")
    for label, path in graphs.items():
        enc = sentvec.load(backend="onnx", threads=1)
        enc.backend = OnnxBackend(path, label, threads=1)
        diff = alone_vs_batch(enc, one, others)
        v = enc.encode(s, show_progress=False)
        nn = topk(v)
        overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(nn, ref_nn, strict=True)])
        cpu = []
        for _ in range(rounds):
            t = time.process_time()
            enc.encode(s[:1000], show_progress=False)
            cpu.append(1000 * (time.process_time() - t) / len(s[:1000]))
        sts = sts_score(lambda t, e=enc: e.encode(t, show_progress=False))
        print(
            f"| {label} | {diff:.1e} | {overlap:.4f} | {cos(v, ref):.4f} | {sts:.2f} "
            f"| {np.median(cpu):.2f} |",
            flush=True,
        )


def fusions(n: int, rounds: int) -> None:
    """The int8 graph with onnxruntime's fused contrib ops (``quantize_int8(fusions=...)``)
    beside the shipped one and v1: largest difference to the shipped graph's vectors, alone vs
    in batch, CPU ms per sentence on 1 thread and sentences/s on 2 threads (rounds alternate).

    Calibration (ranges and ``X^T X``, minutes) is cached in ``out/tuning/calibration.pkl``."""
    import pickle

    import sentvec
    from sentvec.backends.onnx.quantize import activation_ranges, calibration_texts, quantize_int8
    from sentvec.backends.onnx.runtime import OnnxBackend
    from sentvec.encoder import _features

    logging.disable(logging.WARNING)
    WORK.mkdir(parents=True, exist_ok=True)
    base = sentvec.load(backend="onnx", threads=1)
    plain = Path(base.backend.path)  # type: ignore[attr-defined]
    cache = WORK / "calibration.pkl"
    if cache.exists():
        calib = pickle.loads(cache.read_bytes())
    else:
        tok = base.tokenizer
        feeds = [
            _features([tok.finish(ids, 256)], tok.pad_id)
            for ids in tok.content_ids(calibration_texts())
        ]
        grams: dict[str, np.ndarray] = {}
        calib = {"ranges": activation_ranges(plain, feeds, grams), "grams": grams}
        cache.write_bytes(pickle.dumps(calib))
    forms = {
        "shipped v3": (),
        "row-scale-in-gemm": ("row-scale-in-gemm",),
        "qkv-one-product": ("qkv-one-product",),
        "skip-layernorm": ("skip-layernorm",),
        "multihead-attention": ("multihead-attention",),
        "row-scale-in-gemm + qkv-one-product": ("row-scale-in-gemm", "qkv-one-product"),
        "row-scale-in-gemm + skip-layernorm + multihead-attention": (
            "row-scale-in-gemm",
            "skip-layernorm",
            "multihead-attention",
        ),
    }
    graphs: dict[str, Path] = {}
    for label, fused in forms.items():
        path = WORK / f"fused-{label.replace(' ', '').replace('+', '_')}.onnx"
        quantize_int8(plain, path, ranges=calib["ranges"], grams=calib["grams"], fusions=fused)
        graphs[label] = path
    v1 = WORK / "int8-v1.onnx"
    if v1.exists():
        graphs["v1 quantize_dynamic"] = v1
    s = texts(n)
    one, others = s[5], s[100:200]
    encoders = {}
    for label, path in graphs.items():
        encoders[label] = {}
        for t in (1, 2):
            enc = sentvec.load(backend="onnx", threads=t)
            enc.backend = OnnxBackend(path, label, threads=t)
            encoders[label][t] = enc
    ref = encoders["shipped v3"][2].encode(s, show_progress=False)
    cpu: dict[str, list[float]] = {k: [] for k in graphs}
    wall: dict[str, list[float]] = {k: [] for k in graphs}
    for _ in range(rounds):
        for label in graphs:
            t = time.process_time()
            encoders[label][1].encode(s, show_progress=False)
            cpu[label].append(1000 * (time.process_time() - t) / len(s))
            t = time.perf_counter()
            encoders[label][2].encode(s, show_progress=False)
            wall[label].append(len(s) / (time.perf_counter() - t))
    print(
        "| int8 graph | max abs diff to shipped | alone vs in batch | CPU ms / sentence (1 thread) "
        "| sent/s (2 threads) |"
    )
    print("|---|---|---|---|---|")
    for label in graphs:
        enc = encoders[label][2]
        diff = alone_vs_batch(enc, one, others)
        to_ref = np.abs(enc.encode(s, show_progress=False) - ref).max()
        print(
            f"| {label} | {to_ref:.1e} | {diff:.1e} | {np.median(cpu[label]):.2f} "
            f"| {np.median(wall[label]):.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["variants", "budget", "threads", "int8", "fusions"])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run = {
        "variants": variants,
        "budget": budget,
        "threads": threads,
        "int8": int8,
        "fusions": fusions,
    }
    run[args.what](args.n, args.rounds)


if __name__ == "__main__":
    main()
