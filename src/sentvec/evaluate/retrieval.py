"""Retrieval in BEIR layout: rank a corpus for each query, score the ranking against qrels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sentvec.errors import SentvecError
from sentvec.io import EmptyInputError, InputFileError, iter_rows
from sentvec.similarity import top_k

if TYPE_CHECKING:
    from sentvec.encoder import Encoder


@dataclass
class RetrievalData:
    """Queries, a corpus, and graded relevance judgements (score > 0 means relevant)."""

    queries: dict[str, str]  # query id -> text
    corpus: dict[str, str]  # doc id -> text (title and text joined)
    qrels: dict[str, dict[str, int]]  # query id -> {doc id: grade}


def read_beir(folder: str | Path, split: str = "test") -> RetrievalData:
    """Read a BEIR folder: ``corpus.jsonl``, ``queries.jsonl`` (``_id``, ``text``, optional
    ``title``) and ``qrels/{split}.tsv`` (query-id, corpus-id, score; header optional).

    Only queries with at least one judgement are kept.

    :param folder: the folder. :param split: the qrels file name.
    :return: the data.
    """
    root = Path(folder)
    if not root.is_dir():
        raise SentvecError(
            f"{str(root)!r} is not a folder. Fix: give a BEIR folder holding corpus.jsonl, "
            "queries.jsonl and qrels/SPLIT.tsv."
        )
    qrels_file = root / "qrels" / f"{split}.tsv"
    for needed in (root / "corpus.jsonl", root / "queries.jsonl", qrels_file):
        if not needed.exists():
            raise SentvecError(
                f"BEIR folder {str(root)!r} lacks {needed.relative_to(root)}. Fix: give "
                "a folder with corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv."
            )
    qrels: dict[str, dict[str, int]] = {}
    for n, parts in iter_rows(qrels_file, fmt="tsv", header=False):
        try:
            qid, did, grade = parts[0], parts[1], int(float(parts[-1]))
        except (IndexError, ValueError, OverflowError):
            if n == 1:
                continue  # a header row
            raise InputFileError(
                qrels_file, n, f"expected query-id, corpus-id, score; got {parts!r:.80}"
            ) from None
        qrels.setdefault(qid, {})[did] = grade
    if not qrels:
        raise EmptyInputError(qrels_file, "relevance judgements")
    queries = {k: v for k, v in _read_jsonl(root / "queries.jsonl").items() if k in qrels}
    corpus = _read_jsonl(root / "corpus.jsonl")
    if not queries:
        raise EmptyInputError(root / "queries.jsonl", "queries with a judgement in the qrels")
    if not corpus:
        raise EmptyInputError(root / "corpus.jsonl", "documents")
    return RetrievalData(queries, corpus, qrels)


def _read_jsonl(path: Path) -> dict[str, str]:
    out = {}
    for n, row in iter_rows(path, fmt="jsonl"):
        try:
            rid, text = str(row["_id"]), row["text"]
        except (KeyError, TypeError):
            raise InputFileError(path, n, "expected a JSON object with '_id' and 'text'") from None
        if not isinstance(text, str):
            raise InputFileError(path, n, f"'text' is {type(text).__name__}, not text")
        title = row.get("title") or ""
        out[rid] = f"{title} {text}".strip() if title else text
    return out


def mrr_at_k(ranked: list[str], qrels: dict[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document in the top k (0 if none)."""
    for i, doc in enumerate(ranked[:k], start=1):
        if qrels.get(doc, 0) > 0:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: list[str], qrels: dict[str, int], k: int) -> float:
    """nDCG@k with linear gains (the grade) and log2(rank + 1) discounts, as trec_eval."""
    dcg = sum(max(qrels.get(d, 0), 0) / math.log2(i + 1) for i, d in enumerate(ranked[:k], 1))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: list[str], qrels: dict[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {d for d, g in qrels.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def map_at_k(ranked: list[str], qrels: dict[str, int], k: int) -> float:
    """Average precision over the top k, divided by the number of relevant documents
    (trec_eval's ``map_cut``)."""
    relevant = {d for d, g in qrels.items() if g > 0}
    hits, total = 0, 0.0
    for i, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            hits += 1
            total += hits / i
    return total / len(relevant) if relevant else 0.0


class RetrievalEvaluator:
    """MRR@10, nDCG@10, Recall@1/10/100 and MAP@100, averaged over queries (exact search).

    Primary metric: ``{name}_ndcg@10``.
    """

    def __init__(
        self,
        data: RetrievalData,
        name: str = "retrieval",
        batch_size: int = 64,
        query_prompt: str | None = None,
        corpus_prompt: str | None = None,
    ) -> None:
        self.data, self.name, self.batch_size = data, name, batch_size
        self.query_prompt, self.corpus_prompt = query_prompt, corpus_prompt
        self.primary_metric = f"{name}_ndcg@10"

    @classmethod
    def from_folder(
        cls, folder: str | Path, split: str = "test", name: str = "retrieval"
    ) -> RetrievalEvaluator:
        """:param folder: a BEIR folder. :param split: qrels split. :param name: metric prefix.
        :return: the evaluator."""
        return cls(read_beir(folder, split), name)

    def __call__(self, encoder: Encoder) -> dict[str, float]:
        n = max(len(self.data.queries), 1)
        return {f"{self.name}_{k}": sum(v) / n for k, v in self.per_query(encoder).items()}

    def per_query(self, encoder: Encoder) -> dict[str, list[float]]:
        """Each metric for each query, in the order of ``data.queries`` (for paired
        comparisons between models; :meth:`__call__` reports their means)."""
        doc_ids = list(self.data.corpus)
        query_ids = list(self.data.queries)
        docs = encoder.encode(
            [self.data.corpus[d] for d in doc_ids],
            batch_size=self.batch_size,
            prompt=self.corpus_prompt,
        )
        queries = encoder.encode(
            [self.data.queries[q] for q in query_ids],
            batch_size=self.batch_size,
            prompt=self.query_prompt,
        )
        _, idx = top_k(queries, docs, k=100, metric=encoder.spec.similarity)  # (q, 100)
        scores: dict[str, list[float]] = {
            k: [] for k in ("mrr@10", "ndcg@10", "recall@1", "recall@10", "recall@100", "map@100")
        }
        for row, qid in zip(idx, query_ids, strict=True):
            ranked = [doc_ids[i] for i in row]
            rel = self.data.qrels[qid]
            scores["mrr@10"].append(mrr_at_k(ranked, rel, 10))
            scores["ndcg@10"].append(ndcg_at_k(ranked, rel, 10))
            for k in (1, 10, 100):
                scores[f"recall@{k}"].append(recall_at_k(ranked, rel, k))
            scores["map@100"].append(map_at_k(ranked, rel, 100))
        return scores
