"""Documents that span many passages, on both backends: document results equal a brute-force
max over every passage vector; upsert and delete touch every passage of a document at once;
"no good match"; the answering sentence; a collection made before documents is migrated."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sentvec.documents import Chunker, Chunking
from sentvec.io import Record
from sentvec.store import for_encoder, open_collection

from store_backends import location, pg_server  # noqa: F401  (fixtures)

pytest.importorskip("lancedb")

TOPICS = [
    "Refunds for annual plans are paid back to the card within ten days.",
    "Two factor codes come from the authenticator app on your phone.",
    "Exports are zip files with one CSV file per table.",
    "Bank feeds need a renewed approval every ninety days.",
    "Invoices can carry your logo and your brand colour.",
    "The mobile app keeps receipts offline until it reconnects.",
    "Sales tax depends on the delivery address of the customer.",
    "Members with the viewer role cannot change anything.",
]
FILLER = "The weather is sunny and the market is calm on day {}."
SPEC = Chunking(tokens=32, overlap=8)


def _docs() -> list[Record]:
    """12 documents of 3-9 passages: filler, with one topic sentence somewhere in each."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(12):
        n = int(rng.integers(4, 14))
        sentences = [FILLER.format(10 * i + j) for j in range(n)]  # no two passages alike
        sentences[int(rng.integers(0, n))] = TOPICS[i % len(TOPICS)]
        cat = ["billing", "account", "data"][i % 3]
        meta = {"title": f"Article {i}", "category": cat, "url": f"https://x/{i}"}
        out.append(Record(" ".join(sentences), f"doc{i}", meta))
    return out


@pytest.fixture()
def col(location, tiny_encoder):  # noqa: F811
    c = for_encoder(location, "docs", tiny_encoder)
    report = c.add(_docs(), tiny_encoder, chunking=SPEC, batch_size=10)
    assert report.added == 12 and report.passages == c.count_passages() > 36
    yield c
    c.close()


def _reference(encoder, records, query):
    """Brute force: every passage embedded; a document scores its best passage.

    :return: {document: best score}, {passage key: score}.
    """
    chunker = Chunker(encoder.tokenizer, encoder.max_seq_length, SPEC)
    passages = [p for r in records for p in chunker.passages(r)]
    v = encoder.encode([p.embed_text for p in passages], role="document", normalize=True)
    q = encoder.encode([query], role="query", normalize=True)[0]
    s = v @ q
    docs: dict[str, float] = {}
    for j, p in enumerate(passages):
        docs[p.doc_id] = max(docs.get(p.doc_id, -2.0), float(s[j]))
    return docs, {p.id: float(s[j]) for j, p in enumerate(passages)}


def _same_ranking(got: list[tuple[str, float]], ref: dict[str, float], k: int) -> None:
    """The k best of ``ref``, best first (ties within 1e-5 in any order), with their scores."""
    want = sorted(ref.values(), reverse=True)[:k]
    np.testing.assert_allclose([s for _, s in got], want, atol=1e-5)
    for key, score in got:
        assert ref[key] == pytest.approx(score, abs=1e-5), key


def test_documents_equal_brute_force_over_all_passages(col, tiny_encoder):
    for query in ["refund to my card", "authenticator app codes", "weather and market"]:
        docs, passages = _reference(tiny_encoder, _docs(), query)
        hits = col.search(query, 5, encoder=tiny_encoder, exact=True, min_score=0)
        _same_ranking([(h.id, h.score) for h in hits], docs, 5)
        assert len({h.id for h in hits}) == len(hits)  # one hit per document
        for h in hits:  # each shown by its best passage
            assert passages[h.passage_id] == pytest.approx(docs[h.id], abs=1e-5)
        top = col.search(query, 5, encoder=tiny_encoder, passages=True, min_score=0)
        _same_ranking([(h.passage_id, h.score) for h in top], passages, 5)
    h = col.search("refund to my card", 1, encoder=tiny_encoder, min_score=0)[0]
    doc = col.document(h.id)
    assert doc is not None and doc.text[h.start : h.end] == h.text  # offsets into the document
    assert h.title == f"Article {h.id[3:]}" and h.url == f"https://x/{h.id[3:]}"
    assert h.answer is not None and h.start <= h.answer[0] < h.answer[1] <= h.end
    assert doc.text[h.answer[0] : h.answer[1]] == h.answer_text


def test_the_answer_is_the_topic_sentence(col, tiny_encoder):
    for i, topic in enumerate(TOPICS[:4]):
        hits = col.search(topic, 12, encoder=tiny_encoder, min_score=0)
        mine = next(h for h in hits if h.id == f"doc{i}")
        if topic in mine.text:  # the passage holding the topic: its best sentence is the topic
            assert mine.answer_text == topic


def test_filters_count_and_delete_whole_documents(col, tiny_encoder):
    assert len(col) == 12 and col.count(filters={"category": "billing"}) == 4
    # a filter on the passage text matches one passage; the whole document goes
    assert col.count(where="text LIKE '%ninety days%'") == 2
    assert col.delete(where="text LIKE '%ninety days%'") == 2
    assert len(col) == 10
    assert not [pid for ids, _ in col._scan() for pid in ids if pid.startswith(("doc3#", "doc11#"))]
    hits = col.search(
        "bank feeds approval", 10, encoder=tiny_encoder, filters={"category": "account"}
    )
    assert hits and {h.id for h in hits} <= {"doc1", "doc4", "doc7", "doc10"}


def test_upsert_replaces_every_passage_and_delete_removes_them(col, tiny_encoder):
    before = col.count_passages()
    old = col.document("doc0")
    old_passages = sum(1 for ids, _ in col._scan() for pid in ids if pid.startswith("doc0#"))
    assert old_passages >= 3
    report = col.upsert(
        [Record("A short new text about gift cards.", "doc0", {"title": "New"})], tiny_encoder
    )
    assert (report.added, report.updated, report.passages) == (0, 1, 1)
    assert col.count_passages() == before - old_passages + 1
    assert col.document("doc0").text == "A short new text about gift cards." != old.text
    text_hits = col.search("Refunds annual plans", 12, mode="text")
    assert "doc0" not in {h.id for h in text_hits}  # none of the old passages is left
    assert col.search("gift cards", 1, mode="text")[0].id == "doc0"
    assert col.delete(["doc1", "nope"]) == 1
    assert not [pid for ids, _ in col._scan() for pid in ids if pid.startswith("doc1#")]


def test_no_good_match_says_why(col, tiny_encoder):
    hits = col.search("refund", 3, encoder=tiny_encoder, min_score=0.999)
    assert hits == [] and "no good match" in hits.reason and "0.999" in hits.reason
    assert hits.best is not None and hits.best < 0.999
    kept = col.search("refund", 12, encoder=tiny_encoder, min_score=hits.best - 1e-6)
    assert len(kept) >= 1 and all(h.score >= hits.best - 1e-6 for h in kept)
    col.update_meta(min_score=0.999)  # the collection's own minimum applies by default
    assert col.search("refund", 3, encoder=tiny_encoder) == []
    assert col.search("refund", 3, encoder=tiny_encoder, min_score=0) != []
    assert col.search("refund", 3, mode="text") != []  # text scores are not similarities
    empty = for_encoder(col.location, "empty", tiny_encoder)
    assert empty.search("x", encoder=tiny_encoder).reason == "collection 'empty' is empty"
    assert col.search("x", encoder=tiny_encoder, filters={"category": "none"}).reason == (
        "no document matches the filters"
    )


def test_hybrid_scores_are_cosines(col, tiny_encoder):
    hybrid = col.search("refund card", 5, mode="hybrid", encoder=tiny_encoder, min_score=0)
    q = tiny_encoder.encode(["refund card"], role="query", normalize=True)[0]
    stored = col._vectors([h.passage_id for h in hybrid])
    for h in hybrid:
        assert h.score == pytest.approx(float(stored[h.passage_id] @ q), abs=1e-5)
        assert 0 < h.fused <= 1
    assert len({h.id for h in hybrid}) == len(hybrid)


def _old_lance(root, encoder):
    """A collection as sentvec wrote it before documents: one row per text, layout 1."""
    import lancedb
    import pyarrow as pa

    texts = ["How do I reset my password?", "Refunds take five business days."]
    v = encoder.encode(texts, normalize=True)
    db = lancedb.connect(str(root))
    db.create_table(
        "old",
        pa.table(
            {
                "id": ["a", "b"],
                "text": texts,
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(v.ravel()), v.shape[1]),
                "meta": [json.dumps({"category": "account"}), json.dumps({"category": "billing"})],
                "category": ["account", "billing"],
            }
        ),
    )
    meta = {
        "name": "old",
        "model": encoder.name,
        "fingerprint": encoder.fingerprint,
        "dim": encoder.dim,
        "metric": "cosine",
        "created": "2026-01-01T00:00:00",
        "columns": {"category": "string"},
        "index": None,
    }
    (root / "old.sentvec.json").write_text(json.dumps(meta))


def _old_postgres(uri, encoder):
    import psycopg
    from pgvector.psycopg import register_vector
    from psycopg.types.json import Jsonb

    texts = ["How do I reset my password?", "Refunds take five business days."]
    v = encoder.encode(texts, normalize=True)
    meta = {
        "name": "old",
        "model": encoder.name,
        "fingerprint": encoder.fingerprint,
        "dim": encoder.dim,
        "metric": "cosine",
        "created": "2026-01-01T00:00:00",
        "columns": {"category": "string"},
        "index": None,
    }
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(conn)
        conn.execute(
            "CREATE TABLE sentvec_collections (name text PRIMARY KEY, meta jsonb NOT NULL)"
        )
        conn.execute("INSERT INTO sentvec_collections VALUES ('old', %s)", (Jsonb(meta),))
        conn.execute(
            f"CREATE TABLE sv_old (id text PRIMARY KEY, text text, vector vector({encoder.dim}), "
            "meta jsonb, category text, tsv tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', coalesce(text, ''))) STORED)"
        )
        for i, t, vec, cat in zip("ab", texts, v, ["account", "billing"], strict=True):
            conn.execute(
                "INSERT INTO sv_old (id, text, vector, meta, category) VALUES (%s, %s, %s, %s, %s)",
                (i, t, vec, Jsonb({"category": cat}), cat),
            )


def test_a_collection_made_before_documents_is_migrated(location, tmp_path, tiny_encoder):  # noqa: F811
    if location.startswith("postgresql"):
        _old_postgres(location, tiny_encoder)
    else:
        from pathlib import Path

        Path(location).mkdir(parents=True)
        _old_lance(Path(location), tiny_encoder)
    col = open_collection(location, "old")
    assert col.meta["layout"] == 2
    assert len(col) == 2 and col.count_passages() == 2
    hit = col.search("reset my password", 1, encoder=tiny_encoder, min_score=0)[0]
    assert (hit.id, hit.text, hit.passage, hit.start, hit.end) == (
        "a",
        "How do I reset my password?",
        0,
        0,
        27,
    )
    assert col.count(filters={"category": "billing"}) == 1
    assert col.search("refunds", 1, mode="text")[0].id == "b"
    long = " ".join(TOPICS * 3)
    col.upsert(
        [Record(long, "b", {"category": "billing", "title": "Refunds"})],
        tiny_encoder,
        chunking=SPEC,
    )
    assert len(col) == 2 and col.count_passages() > 3  # re-split into passages
    assert col.document("b").text == long
    again = open_collection(location, "old")  # a second open changes nothing
    assert len(again) == 2 and again.meta["layout"] == 2
    col.close()
    again.close()
