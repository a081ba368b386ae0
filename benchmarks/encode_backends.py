"""sentvec torch / onnx / onnx-int8 against sentence-transformers torch / onnx / onnx-qint8.

Same model (the packaged all-MiniLM-L6-v2), same 5,000 real sentences (the first lines of
../shared/data/wiki-sentences/wiki1m-excerpt.txt), same threads, one process, rounds
alternating between contenders; sentences/second is the median of the rounds. Peak memory
is measured in a fresh subprocess per contender (VmHWM after load + one encode of
``--memory-n`` sentences). STSb
test Spearman (cosine) is computed the same way for every contender.

sentence-transformers' ONNX backend needs ``optimum-onnx``, which (0.1.0, the only release)
requires transformers < 4.58; run this script in an environment that has it, e.g.::

    python -m venv out/st5venv
    out/st5venv/bin/pip install torch==2.13.0 "sentence-transformers[onnx]>=5.1,<6" \
        "transformers<4.58" scipy
    sentvec export --out out/bench/sv-export --int8      # with the main environment
    SENTVEC_BENCH_EXPORT=out/bench/sv-export PYTHONPATH=src \
        out/st5venv/bin/python benchmarks/encode_backends.py

Contenders that cannot load are reported as such, not dropped silently.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WIKI = DATA / "wiki-sentences" / "wiki1m-excerpt.txt"
STSB = DATA / "stsb" / "sts-test.csv"
WORK = ROOT / "out" / "bench"
CONTENDERS = ["st-torch", "st-onnx", "st-onnx-qint8", "sv-torch", "sv-onnx", "sv-onnx-int8"]
# sv-onnx-int8-v1: an int8 graph from the previous scheme (onnxruntime quantize_dynamic, one
# activation scale per batch), given as a file, to compare side by side with today's.
# Any sv-onnx* contender + "-1lane" runs one session on all threads instead of one per thread.
V1_INT8 = os.environ.get("SENTVEC_BENCH_V1_INT8", "")
Encode = Callable[[list[str]], np.ndarray]
SV_EXPORT = os.environ.get("SENTVEC_BENCH_EXPORT", "")  # a `sentvec export --int8` folder


def _need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"missing data file {path}: this benchmark reads ../shared/data")
    return path


def st_model_dir() -> Path:
    """A writable copy of the packaged model, so sentence-transformers can save its exports."""
    import sentvec.hub

    target = WORK / "st-model"
    if not (target / "config.json").exists():
        shutil.copytree(sentvec.hub.resolve(None), target, dirs_exist_ok=True)
    return target


def load(name: str, threads: int) -> Encode:
    """Load one contender; return its encode function (texts -> float32 (n, d))."""
    if name.startswith("sv-"):
        import sentvec

        backend = name.removeprefix("sv-")
        # "-1lane": one session on all threads (how every onnx backend ran before lanes), instead
        # of the default one single-threaded session per thread running batches side by side
        lanes = 1 if backend.endswith("-1lane") else None
        backend = backend.removesuffix("-1lane")
        if backend == "onnx-int8-v1":
            from sentvec.backends.onnx.runtime import OnnxBackend

            enc = sentvec.load(SV_EXPORT or None, backend="onnx", threads=threads)
            enc.backend = OnnxBackend(V1_INT8, backend, threads=threads, lanes=lanes)
        elif backend == "torch":
            enc = sentvec.load()
        else:  # the deployment path: a folder written by `sentvec export --int8`
            enc = sentvec.load(SV_EXPORT or None, backend=backend, threads=threads, lanes=lanes)
        return lambda texts: enc.encode(texts, show_progress=False)
    from sentence_transformers import SentenceTransformer

    folder = st_model_dir()
    if name == "st-torch":
        model = SentenceTransformer(str(folder), device="cpu")
    else:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        file = "onnx/model.onnx"
        if not (folder / file).exists():  # export once with sentence-transformers, then save
            SentenceTransformer(str(folder), device="cpu", backend="onnx").save_pretrained(
                str(folder)
            )
        if name == "st-onnx-qint8":
            file = "onnx/model_qint8_avx512_vnni.onnx"
            if not (folder / file).exists():
                from sentence_transformers import export_dynamic_quantized_onnx_model

                base = SentenceTransformer(
                    str(folder),
                    device="cpu",
                    backend="onnx",
                    model_kwargs={"file_name": "onnx/model.onnx"},
                )
                export_dynamic_quantized_onnx_model(base, "avx512_vnni", str(folder))
        model = SentenceTransformer(
            str(folder),
            device="cpu",
            backend="onnx",
            model_kwargs={"session_options": so, "file_name": file},
        )
    return lambda texts: np.asarray(model.encode(texts, batch_size=32, convert_to_numpy=True))


def sts_score(encode: Encode) -> float:
    """STSb test Spearman x 100 of cosine similarity."""
    from sentvec.evaluate.sts import read_sts, spearman

    data = read_sts(_need(STSB))
    unique = list(dict.fromkeys(data.sentences1 + data.sentences2))
    index = {s: i for i, s in enumerate(unique)}
    v = encode(unique)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    a = v[[index[s] for s in data.sentences1]]
    b = v[[index[s] for s in data.sentences2]]
    return 100 * spearman((a * b).sum(1), data.scores)


def peak_rss_mb(name: str, n: int, threads: int) -> float:
    """Peak RSS (MiB) of a fresh process that loads ``name`` and encodes ``n`` sentences once."""
    code = (
        f"import sys, resource; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
        f"import encode_backends as b; import torch; torch.set_num_threads({threads}); "
        f"f = b.load({name!r}, {threads}); f(b.sentences({n})); "
        "print(b.vm_hwm_mb())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=1200,
    )
    if proc.returncode:
        return float("nan")
    return float(proc.stdout.strip().splitlines()[-1])


def vm_hwm_mb() -> float:
    """This process's peak RSS (MiB) from /proc (``ru_maxrss`` would include the RSS of the
    parent at fork time, which Linux carries across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PARAGRAPH = 0  # > 0: each text joins this many consecutive sentences (a long paragraph)


def sentences(n: int) -> list[str]:
    """The first ``n`` non-empty lines of the wiki excerpt (or ``n`` paragraphs of them)."""
    if PARAGRAPH:
        flat = _lines(n * PARAGRAPH)
        return [" ".join(flat[i : i + PARAGRAPH]) for i in range(0, len(flat), PARAGRAPH)]
    return _lines(n)


def _lines(n: int) -> list[str]:
    out = []
    with open(_need(WIKI), encoding="utf8") as f:
        for line in f:
            if line.strip():
                out.append(line.rstrip("\n"))
            if len(out) == n:
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="sentences per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated contenders")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-RSS subprocesses")
    parser.add_argument("--memory-n", type=int, default=1000, help="sentences per RSS subprocess")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="rate from this process's CPU time (robust on a shared machine; use with --threads 1)",
    )
    parser.add_argument("--no-sts", action="store_true", help="skip the STSb scores")
    parser.add_argument("--memory-only", action="store_true", help="only the peak-RSS table")
    parser.add_argument(
        "--paragraphs",
        type=int,
        default=0,
        help="encode long paragraphs: each text joins this many consecutive sentences",
    )
    args = parser.parse_args()
    global PARAGRAPH
    PARAGRAPH = args.paragraphs
    import torch

    torch.set_num_threads(args.threads)
    texts = sentences(args.n)
    names = args.only.split(",")
    if args.memory_only:
        for name in names:
            print(
                f"| {name} | peak RSS {peak_rss_mb(name, args.memory_n, args.threads):.0f} MiB |",
                flush=True,
            )
        return
    encoders: dict[str, Encode] = {}
    failed: dict[str, str] = {}
    for name in names:
        try:
            encoders[name] = load(name, args.threads)
            encoders[name](texts[:64])  # warm-up
        except Exception as e:  # report any contender that cannot run, keep the others
            failed[name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            print(f"{name}: cannot run ({failed[name]})", flush=True)
    rates: dict[str, list[float]] = {n: [] for n in encoders}
    for r in range(args.rounds):
        order = list(encoders) if r % 2 == 0 else list(reversed(encoders))
        clock = time.process_time if args.cpu_time else time.perf_counter
        for name in order:
            t = clock()
            encoders[name](texts)
            rates[name].append(args.n / (clock() - t))
            print(f"round {r + 1} {name:14s} {rates[name][-1]:8.1f} sent/s", flush=True)
    results = {}
    for name in encoders:
        results[name] = {
            "rate": float(np.median(rates[name])),
            "rounds": rates[name],
            "stsb": float("nan") if args.no_sts else sts_score(encoders[name]),
        }
    del encoders
    if not args.no_memory:
        for name in results:
            results[name]["peak_rss_mb"] = peak_rss_mb(name, args.memory_n, args.threads)
    base = results.get("st-torch", {}).get("rate")
    q8 = results.get("st-onnx-qint8", {}).get("rate")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n{args.n} {f'paragraphs of {PARAGRAPH} sentences' if PARAGRAPH else 'sentences'}, "
        f"{args.rounds} rounds, {args.threads} threads, "
        f"this process's peak RSS {rss:.0f} MiB"
    )
    print(
        "| contender | sentences/s (median) | vs ST torch | vs ST onnx-qint8 | peak RSS MiB "
        "| STSb test Spearman |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        ratio = f"{r['rate'] / base:.2f}x" if base else "-"
        ratio8 = f"{r['rate'] / q8:.2f}x" if q8 else "-"
        print(
            f"| {name} | {r['rate']:.1f} | {ratio} | {ratio8} | "
            f"{r.get('peak_rss_mb', float('nan')):.0f} | {r['stsb']:.2f} |"
        )
    for name, why in failed.items():
        print(f"| {name} | cannot run: {why} | | | | |")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "failed": failed}, indent=1))


if __name__ == "__main__":
    main()
