"""Chunking libraries side by side on long documents: which cuts at sentences, keeps to the
token limit, overlaps, and how fast (the measurement that picked semantic-text-splitter).

The documents: 300 of the msmarco-subset passages shuffled (seed 0) eight to a document,
paragraphs joined by blank lines, then the same documents as one paragraph each. Windows of
128 tokens of all-MiniLM-L6-v2's tokenizer, overlap 16 (``--overlap`` to change it).

The other libraries are not sentvec's dependencies; put them in a throwaway venv beside it:
    pip install semchunk chonkie langchain-text-splitters
    python benchmarks/chunkers.py
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import data_path

CAP = 128
SENTENCE_END = re.compile(r"[.!?]['\")\]]?\s*$")
Spans = list[tuple[int, int]]


def candidates(tok, cap: int, overlap: int) -> dict[str, Callable[[], Callable[[str], Spans]]]:
    """Each library as a maker of a function of a text to its (start, end) windows."""

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    def sts() -> Callable[[str], Spans]:
        from semantic_text_splitter import TextSplitter

        splitter = TextSplitter.from_huggingface_tokenizer(tok, cap, overlap=overlap)
        return lambda d: [(o, o + len(c)) for o, c in splitter.chunk_indices(d)]

    def semchunk() -> Callable[[str], Spans]:
        import semchunk

        chunker = semchunk.chunkerify(tok, cap)
        return lambda d: chunker(d, offsets=True, overlap=overlap)[1]

    def chonkie_recursive() -> Callable[[str], Spans]:
        from chonkie import RecursiveChunker

        chunker = RecursiveChunker(tokenizer=tok, chunk_size=cap)
        return lambda d: [(c.start_index, c.end_index) for c in chunker.chunk(d)]

    def chonkie_sentence() -> Callable[[str], Spans]:
        from chonkie import SentenceChunker

        chunker = SentenceChunker(tokenizer=tok, chunk_size=cap, chunk_overlap=overlap)
        return lambda d: [(c.start_index, c.end_index) for c in chunker.chunk(d)]

    def langchain() -> Callable[[str], Spans]:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(
            chunk_size=cap,
            chunk_overlap=overlap,
            length_function=count,
            add_start_index=True,
            separators=["\n\n", "\n", ". ", " ", ""],
            keep_separator="end",
        )

        def run(d: str) -> Spans:
            out = splitter.create_documents([d])
            return [
                (x.metadata["start_index"], x.metadata["start_index"] + len(x.page_content))
                for x in out
            ]

        return run

    return {
        "semantic-text-splitter": sts,
        "semchunk": semchunk,
        "chonkie recursive": chonkie_recursive,
        "chonkie sentence": chonkie_sentence,
        "langchain recursive": langchain,
    }


def report(name: str, split: Callable[[str], Spans], docs: list[str], count, cap: int) -> None:
    start = time.perf_counter()
    results = [split(d) for d in docs]
    seconds = time.perf_counter() - start
    over = cut = bounds = uncovered = 0
    tokens: list[int] = []
    overlaps: list[int] = []
    for d, spans in zip(docs, results, strict=True):
        for j, (a, b) in enumerate(spans):
            n = count(d[a:b])
            tokens.append(n)
            over += n > cap
            if j < len(spans) - 1:
                bounds += 1
                cut += not SENTENCE_END.search(d[a:b]) and not d[b : b + 2].startswith("\n")
                nxt = spans[j + 1][0]
                overlaps.append(count(d[nxt:b]) if nxt < b else 0)
        uncovered += spans[0][0] > 5 or spans[-1][1] < len(d.rstrip()) - 5
    print(
        f"| {name} | {len(docs) / seconds:.0f} | {len(tokens)} | {statistics.mean(tokens):.1f} | "
        f"{over} | {cut}/{bounds} ({100 * cut / max(bounds, 1):.1f}%) | "
        f"{statistics.median(overlaps) if overlaps else 0:.0f} | {uncovered} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--overlap", type=int, default=16)
    args = parser.parse_args()
    from tokenizers import Tokenizer

    from sentvec.hub import packaged_model_path

    tok = Tokenizer.from_file(str(packaged_model_path() / "tokenizer.json"))  # all-MiniLM-L6-v2
    tok.no_truncation()
    tok.no_padding()

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    with open(data_path("msmarco-subset", "corpus.jsonl"), encoding="utf8") as f:
        rows = [json.loads(line)["text"] for line in f]
    random.Random(0).shuffle(rows)
    paragraphs = ["\n\n".join(rows[i : i + 8]) for i in range(0, 2400, 8)]
    for label, docs in [
        ("paragraphs", paragraphs),
        ("one paragraph", [d.replace("\n\n", " ") for d in paragraphs]),
    ]:
        print(f"\n{label}: {len(docs)} documents, windows of {CAP} tokens, overlap {args.overlap}")
        print(
            "| library | docs/s | windows | mean tokens | over the limit | ends mid-sentence "
            "| median overlap | documents not covered |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, make in candidates(tok, CAP, args.overlap).items():
            try:
                split = make()
            except ImportError as e:
                print(f"| {name} | not installed ({e.name}) |")
                continue
            report(name, split, docs, count, CAP)


if __name__ == "__main__":
    main()
