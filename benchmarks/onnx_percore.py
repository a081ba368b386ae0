"""session.run throughput of int8 graphs: one 2-thread session vs two 1-thread sessions.

    PYTHONPATH=src python benchmarks/onnx_percore.py GRAPH.onnx [GRAPH.onnx ...] [--paragraphs]

Tokenised and padded once (1,000 wiki sentences, or 150 paragraphs of 8 sentences); then per
round and graph: all batches through one session with 2 intra-op threads, and the same batches
split between two single-thread sessions run from two Python threads (onnxruntime releases the
GIL), the way a per-core encode loop runs them. Rounds alternate; medians of 5.
"""

from __future__ import annotations

import argparse
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WIKI = ROOT.parent / "shared" / "data" / "wiki-sentences" / "wiki1m-excerpt.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graphs", nargs="+")
    parser.add_argument("--paragraphs", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import onnxruntime as ort

    import sentvec
    from sentvec.batching import plan_batches
    from sentvec.encoder import _features

    logging.disable(logging.WARNING)
    wiki = WIKI.read_text(encoding="utf8").splitlines()
    texts = (
        [" ".join(wiki[i * 8 : (i + 1) * 8]) for i in range(150)]
        if args.paragraphs
        else wiki[:1000]
    )
    enc = sentvec.load(backend="onnx", threads=1)
    seqs = [enc.tokenizer.finish(x, enc.max_seq_length) for x in enc.tokenizer.content_ids(texts)]
    batches = plan_batches([len(s) for s in seqs], 32, 1024)
    feats = [_features([seqs[i] for i in b], enc.tokenizer.pad_id) for b in batches]

    def session(path: str, threads: int) -> ort.InferenceSession:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    sessions = {g: (session(g, 2), [session(g, 1), session(g, 1)]) for g in args.graphs}
    names = [i.name for i in sessions[args.graphs[0]][0].get_inputs()]
    feeds = [{n: f[n] for n in names} for f in feats]
    pool = ThreadPoolExecutor(2)
    rates: dict[tuple[str, str], list[float]] = {
        (g, m): [] for g in args.graphs for m in ("1 x 2 threads", "2 x 1 thread")
    }
    for _ in range(args.rounds):
        for g in args.graphs:
            one, two = sessions[g]
            t = time.perf_counter()
            for f in feeds:
                one.run(None, f)
            rates[(g, "1 x 2 threads")].append(len(texts) / (time.perf_counter() - t))
            t = time.perf_counter()
            list(pool.map(lambda i, two=two: [two[i].run(None, f) for f in feeds[i::2]], range(2)))
            rates[(g, "2 x 1 thread")].append(len(texts) / (time.perf_counter() - t))
    print("| graph | sessions | texts/s (median) | rounds |")
    print("|---|---|---|---|")
    for (g, mode), v in rates.items():
        print(
            f"| {Path(g).name} | {mode} | {np.median(v):.1f} | {', '.join(f'{x:.0f}' for x in v)} |"
        )


if __name__ == "__main__":
    main()
