"""Score a collection on its own relevance judgments (the thumbs up / down given on the web
page): nDCG@10, MRR@10 and hit@1 over the judged queries, for the collection's model and
settings, another search mode, or another model over the same documents; and the judgments
as a BEIR folder (``sentvec eval retrieval`` reads it back)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentvec.evaluate.retrieval import mrr_at_k, ndcg_at_k
from sentvec.store.judgments import iter_judgments, latest_labels

if TYPE_CHECKING:
    from sentvec.encoder import Encoder
    from sentvec.store import Collection

K = 10
HOW_TO_JUDGE = (
    "Fix: open `sentvec serve` in a browser, search the collection and press the thumbs up "
    "on the right answers (or POST /collections/NAME/judgments)."
)


@dataclass
class JudgmentScores:
    """The scores of one setting on the judged queries."""

    setting: str
    queries: int  # judged queries with at least one relevant document (the scored ones)
    judged: int  # every judged query, thumbs-down-only ones included
    judgments: int
    ndcg: float
    mrr: float
    hit1: float
    per_query: dict[str, float] = field(default_factory=dict)  # nDCG@10 by query

    def to_dict(self) -> dict[str, Any]:
        return {
            "setting": self.setting,
            "queries": self.queries,
            "judged_queries": self.judged,
            "judgments": self.judgments,
            "ndcg@10": round(self.ndcg, 6),
            "mrr@10": round(self.mrr, 6),
            "hit@1": round(self.hit1, 6),
        }


def qrels(col: Collection) -> tuple[dict[str, dict[str, int]], int]:
    """query -> {document id: 1 relevant / 0 judged not relevant}, and the judgment count."""
    judgments = list(iter_judgments(col))
    labels = latest_labels(judgments)
    return (
        {q: {d: int(lab > 0) for d, lab in docs.items()} for q, docs in labels.items()},
        len(judgments),
    )


def score_judgments(
    col: Collection,
    encoder: Encoder,
    *,
    mode: str = "vector",
    other_model: Encoder | None = None,
    show_progress: bool = False,
) -> JudgmentScores:
    """Search every judged query and score the ranking against the judgments.

    :param col: the collection whose judgments (and documents) are used.
    :param encoder: the collection's own model (its vectors are searched).
    :param mode: vector, text or hybrid.
    :param other_model: score this model instead: the collection's documents are cut into
        passages and encoded with it in memory (the collection is not changed).
    :return: the scores; ``queries`` is 0 when no judged query has a relevant document.
    """
    from sentvec.errors import InvalidChoiceError
    from sentvec.store.base import SEARCH_MODES

    if mode not in SEARCH_MODES:
        raise InvalidChoiceError("search mode", mode, SEARCH_MODES)
    labels, n = qrels(col)
    target, model = col, encoder
    if other_model is not None:
        target, model = in_memory_copy(col, other_model, show_progress), other_model
    scored = {q: rel for q, rel in labels.items() if any(rel.values())}
    per_query: dict[str, float] = {}
    mrr = hit1 = 0.0
    for q, rel in scored.items():
        hits = target.search(q, K, mode=mode, encoder=model, min_score=0, highlight=False)
        ranked = [h.id for h in hits]
        per_query[q] = ndcg_at_k(ranked, rel, K)
        mrr += mrr_at_k(ranked, rel, K)
        hit1 += float(bool(ranked) and rel.get(ranked[0], 0) > 0)
    m = max(len(scored), 1)
    name = f"{model.name} {mode}"
    return JudgmentScores(
        name, len(scored), len(labels), n, sum(per_query.values()) / m, mrr / m, hit1 / m, per_query
    )


def in_memory_copy(col: Collection, encoder: Encoder, show_progress: bool = False) -> Collection:
    """The collection's documents (title, text, metadata) indexed with another model in memory,
    cut into passages with that model's default windows."""
    from sentvec.records import Record
    from sentvec.store.memory import MemoryCollection

    mem = MemoryCollection.for_encoder(encoder, name=f"{col.name}-copy")
    records = []
    for h in col.get(col.document_ids()):
        meta = dict(h.metadata)
        if h.title:
            meta["title"] = h.title
        records.append(Record(h.text, h.id, meta))
    mem.add(records, encoder, show_progress=show_progress)
    return mem


def export_beir(col: Collection, folder: str | Path) -> dict[str, int]:
    """Write the judgments as a BEIR folder: ``corpus.jsonl`` (the collection's documents),
    ``queries.jsonl`` and ``qrels/test.tsv`` (1 relevant, 0 judged not relevant).

    :return: counts of documents, queries and qrels written.
    """
    folder = Path(folder)
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    labels, _ = qrels(col)
    qids = {q: f"q{i}" for i, q in enumerate(sorted(labels), start=1)}
    docs = col.get(col.document_ids())
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as f:
        for h in docs:
            f.write(json.dumps({"_id": h.id, "title": h.title, "text": h.text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as f:
        for q, qid in qids.items():
            f.write(json.dumps({"_id": qid, "text": q}) + "\n")
    rows = 0
    with open(folder / "qrels" / "test.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, rel in labels.items():
            for d, g in rel.items():
                f.write(f"{qids[q]}\t{d}\t{g}\n")
                rows += 1
    return {"documents": len(docs), "queries": len(qids), "qrels": rows}


__all__ = ["HOW_TO_JUDGE", "JudgmentScores", "export_beir", "qrels", "score_judgments"]
