"""Choose the "no good match" minimum by measurement.

Queries with an answer in the collection (paraphrases of the shipped knowledge base's
questions, and help-centre questions: ``benchmarks/queries/``) against queries from another
domain (the msmarco-subset queries: web searches about anything) and a few nonsense strings,
each searched in the shipped knowledge base and the example help centre. For each candidate
minimum: the share of answerable queries whose best hit is kept, the share of those whose kept
top hit is the right one, and the share of other-domain queries that get "no good match".

    python benchmarks/no_match.py [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sentvec
from sentvec.io import read_records
from sentvec.store import for_encoder
from sentvec.store.kb import kb_records

from _common import data_path, machine

ROOT = Path(__file__).resolve().parents[1]
NONSENSE = [
    "asdf qwerty",
    "zxcvbnm 12345",
    "lorem ipsum dolor sit amet",
    "purple elephant trumpet",
    "???",
    "the the the",
    "banana recipe with chocolate",
    "who won the 1998 world cup",
]


def best(col, enc, queries: list[str]) -> list[tuple[float, str]]:
    """The best hit's score and id for each query (no minimum applied)."""
    out = []
    for q in queries:
        hits = col.search(q, 1, encoder=enc, min_score=0, highlight=False)
        out.append((float(hits[0].score), hits[0].id) if hits else (-1.0, ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    enc = sentvec.load(args.model)
    with open(data_path("msmarco-subset", "queries.jsonl"), encoding="utf8") as f:
        msmarco = [json.loads(line)["text"] for line in f]
    sets = {
        "knowledge base": (
            kb_records(ROOT / "src/sentvec/data/knowledge_base.jsonl"),
            ROOT / "benchmarks/queries/knowledge_base.jsonl",
        ),
        "help centre": (
            read_records(ROOT / "examples/help-centre"),
            ROOT / "benchmarks/queries/help_centre.jsonl",
        ),
    }
    answerable, other, right = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (records, qfile) in sets.items():
            col = for_encoder(tmp, name.replace(" ", "-"), enc)
            col.add(records, enc, show_progress=False)
            rows = [json.loads(x) for x in qfile.read_text(encoding="utf8").splitlines()]
            found = best(col, enc, [r["query"] for r in rows])
            answerable += [s for s, _ in found]
            right += [i == r["answer"] for (_, i), r in zip(found, rows, strict=True)]
            other += [s for s, _ in best(col, enc, msmarco + NONSENSE)]
            print(
                f"# {name}: {len(records)} documents; {len(rows)} answerable queries, top-1 "
                f"right {sum(i == r['answer'] for (_, i), r in zip(found, rows, strict=True))}"
            )
    a, o, r = np.array(answerable), np.array(other), np.array(right)
    print(f"# {machine()}")
    print(
        f"# answerable best score: median {np.median(a):.3f}, 5th percentile "
        f"{np.percentile(a, 5):.3f}; other-domain: median {np.median(o):.3f}, 95th percentile "
        f"{np.percentile(o, 95):.3f}"
    )
    print("| minimum | answerable kept | right top hit kept | other-domain refused |")
    print("|---|---|---|---|")
    for t in np.arange(0.10, 0.61, 0.05):
        kept = a >= t
        print(
            f"| {t:.2f} | {kept.sum()}/{len(a)} ({100 * kept.mean():.0f}%) | "
            f"{(kept & r).sum()}/{r.sum()} ({100 * (kept & r).sum() / max(r.sum(), 1):.0f}%) | "
            f"{(o < t).sum()}/{len(o)} ({100 * (o < t).mean():.0f}%) |"
        )


if __name__ == "__main__":
    main()
