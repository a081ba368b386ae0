"""Peak memory (max RSS) of duplicate mining, each tool in a process of its own.

    PYTHONPATH=src python benchmarks/dedup_memory.py sentvec|st [--n 23487]

Reads the MSRP+STSb sentence vectors cached by benchmarks/apps.py, so it measures the
mining, not the encoding. Run each tool separately and compare the printed figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parents[1] / "cache" / "bench-apps"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tool", choices=["sentvec", "st"])
    parser.add_argument("--threshold", type=float, default=0.9)
    args = parser.parse_args()
    v = np.load(CACHE / "msrp_stsb_sentences.npy")
    if args.tool == "st":
        import torch
        from sentence_transformers.util import paraphrase_mining_embeddings

        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        out = paraphrase_mining_embeddings(torch.from_numpy(v), top_k=10, max_pairs=10_000_000)
        pairs = sum(1 for s, _, _ in out if s >= args.threshold)
    else:
        from sentvec.apps.dedup import find_duplicates

        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        start = time.perf_counter()
        pairs = len(find_duplicates(vectors=v, threshold=args.threshold, k=10, exact=True).pairs)
    secs = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "tool": args.tool,
                "n": len(v),
                "pairs": pairs,
                "seconds": round(secs, 2),
                "rss_before_mb": round(base),
                "rss_peak_mb": round(peak),
                "rss_added_mb": round(peak - base),
            }
        )
    )


if __name__ == "__main__":
    main()
