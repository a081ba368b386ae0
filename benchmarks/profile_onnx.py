"""Where the time of an onnx backend goes: tokenization, padding, session.run, and per operator
(onnxruntime's own profiler), on the first N lines of the wiki excerpt::

    PYTHONPATH=src python benchmarks/profile_onnx.py --backend onnx-int8 --n 2000

It also counts the multiply-accumulates of the graph's weight products and sets them against
the int8 peak of this processor (AVX-512 VNNI), to say how far the int8 kernels are from it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIKI = ROOT.parent / "shared" / "data" / "wiki-sentences" / "wiki1m-excerpt.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="onnx-int8")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--graph", help="profile this .onnx file instead (e.g. an older int8)")
    args = parser.parse_args()
    import onnxruntime as ort

    import sentvec
    from sentvec.backends.onnx.runtime import OnnxBackend
    from sentvec.batching import plan_batches
    from sentvec.encoder import _features

    texts = [x.strip() for x in WIKI.read_text(encoding="utf8").splitlines() if x.strip()][: args.n]
    enc = sentvec.load(backend=args.backend, threads=args.threads)
    if args.graph:
        enc.backend = OnnxBackend(args.graph, args.backend, threads=args.threads)
    backend: OnnxBackend = enc.backend  # type: ignore[assignment]
    enc.encode(texts[:64])
    t0 = time.perf_counter()
    ids = enc.tokenizer.content_ids(texts)
    seqs = [enc.tokenizer.finish(x, enc.max_seq_length) for x in ids]
    t1 = time.perf_counter()
    batches = plan_batches([len(s) for s in seqs], args.batch_size, backend.max_tokens)
    feats = [_features([seqs[i] for i in b], enc.tokenizer.pad_id) for b in batches]
    t2 = time.perf_counter()
    for f in feats:
        backend.embed(f["input_ids"], f["attention_mask"], f["token_type_ids"])
    t3 = time.perf_counter()
    total = t3 - t0
    real = sum(len(s) for s in seqs)
    padded = sum(f["input_ids"].size for f in feats)
    rate = args.n / total
    print(f"{args.n} sentences, {args.backend}, {args.threads} threads: {rate:.0f} sent/s")
    for name, sec in (("tokenize", t1 - t0), ("batch+pad", t2 - t1), ("session.run", t3 - t2)):
        print(f"  {name:12s} {sec:7.3f} s  {100 * sec / total:5.1f}%")
    print(f"  tokens {real}, padded {padded} ({100 * (padded / real - 1):.1f}% padding)")
    # Per-operator profile with onnxruntime's profiler.
    opts = ort.SessionOptions()
    opts.enable_profiling = True
    opts.intra_op_num_threads = args.threads
    opts.profile_file_prefix = str(ROOT / "out" / "ort-profile")
    session = ort.InferenceSession(str(backend.path), opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for f in feats:
        session.run(None, {n: f[n] for n in names})
    events = json.loads(Path(session.end_profiling()).read_text())
    by_op: dict[str, float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"] / 1e6
    op_total = sum(by_op.values())
    print(f"  operators (onnxruntime profiler, {op_total:.2f} s of kernel time):")
    for op, sec in sorted(by_op.items(), key=lambda kv: -kv[1])[:16]:
        print(f"    {op:24s} {sec:7.3f} s  {100 * sec / op_total:5.1f}%")
    share = sum(v for k, v in by_op.items() if k not in (*INT8_PRODUCTS, "MatMul"))
    print(f"  everything but the weight products: {100 * share / op_total:.1f}% of kernel time")
    print(f"  mean padded length {np.mean([f['input_ids'].shape[1] for f in feats]):.1f}")
    # How far from the int8 arithmetic limit: multiply-accumulates of the int8 products.
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(backend.path))
    inits = {t.name: t for t in model.graph.initializer}
    per_token = sum(
        int(np.prod(numpy_helper.to_array(inits[n.input[1]]).shape))
        for n in model.graph.node
        if n.op_type in (*INT8_PRODUCTS, "MatMul") and n.input[1] in inits
    )
    macs = per_token * padded
    int8_s = sum(by_op.get(op, 0.0) for op in INT8_PRODUCTS)
    mhz = _cpu_mhz()
    peak = args.threads * mhz * 1e6 * MACS_PER_CYCLE
    print(
        f"  weight products: {per_token / 1e6:.2f} M MAC per token, {macs / 1e9:.1f} G MAC in all; "
        f"int8 product kernels {int8_s:.2f} s -> {macs / max(int8_s, 1e-9) / 1e9:.0f} G MAC/s; "
        f"whole run {macs / (t3 - t2) / 1e9:.0f} G MAC/s"
    )
    print(
        f"  int8 peak of this CPU: {args.threads} cores x {mhz:.0f} MHz "
        f"x {MACS_PER_CYCLE} MAC/cycle "
        f"(AVX-512 VNNI VPDPBUSD, one 512-bit op per cycle) = {peak / 1e9:.0f} G MAC/s; "
        f"the int8 kernels run at {100 * macs / max(int8_s, 1e-9) / peak:.0f}% of it, the whole "
        f"run at {100 * macs / (t3 - t2) / peak:.0f}%"
    )


INT8_PRODUCTS = ("MatMulInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul")
MACS_PER_CYCLE = 64  # 512-bit VPDPBUSD: 64 uint8 x int8 products per instruction


def _cpu_mhz() -> float:
    """Nominal clock from /proc/cpuinfo (2,000 MHz if unknown)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    except OSError:
        pass
    return 2000.0


if __name__ == "__main__":
    main()
