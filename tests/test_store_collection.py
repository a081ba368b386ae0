"""The LanceDB collection, checked against brute-force numpy search on the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from sentvec.io import Record
from sentvec.store import (
    Collection,
    FilterError,
    Hit,
    MetadataTypeError,
    ModelMismatchError,
    rrf,
)

pytest.importorskip("lancedb")

CORPUS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "The cat sits on the mat.",
    "How do I reset my password?",
    "Where can I download my invoices?",
    "The stock market fell today.",
    "Weather is sunny and warm.",
    "zebras giraffes lions elephants",
]


def _records() -> list[Record]:
    rows = [
        Record(t, f"r{i}", {"cat": "even" if i % 2 == 0 else "odd", "n": i})
        for i, t in enumerate(CORPUS)
    ]
    rows.append(Record("Error code XQ-9137 when paying", "code", {"cat": "odd", "n": 99}))
    return rows


@pytest.fixture()
def col(tmp_path, tiny_encoder) -> Collection:
    c = Collection.for_encoder(tmp_path, "c", tiny_encoder)
    c.add(_records(), tiny_encoder, batch_size=5)
    return c


def _brute(encoder, records, query, k, keep=lambda r: True):
    recs = [r for r in records if keep(r)]
    v = encoder.encode([r.text for r in recs], normalize=True)
    q = encoder.encode([query], normalize=True)[0]
    s = v @ q
    order = np.argsort(-s)[:k]
    return [recs[i].id for i in order], s[order]


def test_add_is_idempotent(col, tiny_encoder):
    again = col.add(_records(), tiny_encoder, batch_size=7)
    assert (again.added, again.skipped) == (0, len(_records()))
    assert len(col) == len(_records())
    assert sorted(col._ids()) == sorted(r.id for r in _records())


def test_duplicate_ids_in_one_file_stored_once(tmp_path, tiny_encoder):
    c = Collection.for_encoder(tmp_path, "d", tiny_encoder)
    rep = c.add([Record("a b", "1"), Record("c d", "1"), Record("e f", "2")], tiny_encoder)
    assert len(c) == 2 and rep.added == 2 and rep.skipped == 1
    assert c.get(["1"])[0].text == "a b"


def test_vector_search_matches_brute_force(col, tiny_encoder):
    query = "A man is riding a horse."
    ids, scores = _brute(tiny_encoder, _records(), query, 5)
    hits = col.search(query, k=5, encoder=tiny_encoder)
    assert [h.id for h in hits] == ids
    np.testing.assert_allclose([h.score for h in hits], scores, atol=1e-5)


def test_filter_matches_brute_force_on_subset(col, tiny_encoder):
    query = "playing music"
    ids, _ = _brute(tiny_encoder, _records(), query, 4, keep=lambda r: r.metadata["cat"] == "odd")
    hits = col.search(query, k=4, encoder=tiny_encoder, where="cat = 'odd' AND n >= 0")
    assert [h.id for h in hits] == ids
    assert all(h.metadata["cat"] == "odd" for h in hits)


def test_bad_filter_names_columns(col, tiny_encoder):
    with pytest.raises(FilterError, match="cat"):
        col.search("x", encoder=tiny_encoder, where="colour = 'red'")


def test_delete_and_upsert(col, tiny_encoder):
    assert col.delete(["r0", "r1", "missing"]) == 2
    assert len(col) == len(_records()) - 2
    assert col.delete(where="n >= 10") == len([r for r in _records() if r.metadata["n"] >= 10])
    new = Record("Quantum chromodynamics lecture notes", "r2", {"cat": "even", "n": 2})
    rep = col.add([new], tiny_encoder, upsert=True)
    assert (rep.added, rep.updated) == (0, 1)
    assert col.get(["r2"])[0].text == new.text
    hit = col.search(new.text, k=1, encoder=tiny_encoder)[0]
    assert hit.id == "r2" and hit.score == pytest.approx(1.0, abs=1e-5)


def test_refuses_another_model(col, make_st_model):
    import sentvec

    other = sentvec.load(make_st_model("cls"))
    with pytest.raises(ModelMismatchError) as err:
        col.add([Record("x", "new")], other)
    assert col.meta["fingerprint"] in str(err.value) and other.fingerprint in str(err.value)
    with pytest.raises(ModelMismatchError):
        col.search("x", encoder=other)
    with pytest.raises(ModelMismatchError):
        Collection.for_encoder(col.root, "c", other)


def test_text_search_finds_rare_code(col):
    hits = col.search("XQ-9137", k=3, mode="text")
    assert hits[0].id == "code"


def test_hybrid_is_rrf_of_vector_and_text(col, tiny_encoder):
    query = "error XQ-9137 horse"
    vec = col.search(query, k=50, encoder=tiny_encoder)
    txt = col.search(query, k=50, mode="text")
    want: dict[str, float] = {}
    for hits in (vec, txt):
        for rank, h in enumerate(hits, 1):
            want[h.id] = want.get(h.id, 0) + 1 / (60 + rank)
    got = col.search(query, k=4, mode="hybrid", encoder=tiny_encoder)
    best = sorted(want.values(), reverse=True)[:4]
    np.testing.assert_allclose([h.score for h in got], best)
    assert got[0].id == "code"  # first in both lists


def test_rrf_by_hand():
    a = [Hit("x", "", 0), Hit("y", "", 0)]
    b = [Hit("y", "", 0), Hit("z", "", 0)]
    fused = rrf([a, b], 3, constant=1)
    assert [h.id for h in fused] == ["y", "x", "z"]
    assert [h.score for h in fused] == pytest.approx([1 / 3 + 1 / 2, 1 / 2, 1 / 3])


def test_metadata_type_is_checked(col, tiny_encoder):
    with pytest.raises(MetadataTypeError, match="'n'"):
        col.add([Record("x", "bad", {"n": "seven"})], tiny_encoder)


def test_approximate_index_recall(tmp_path):
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 16))
    x = centres[rng.integers(0, 20, 3000)] + 0.5 * rng.standard_normal((3000, 16))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    c = Collection.create(tmp_path, "ann", dim=16, model="random", fingerprint="f")
    c.add_vectors([str(i) for i in range(3000)], x)
    assert c.info()["search"] == "exact"
    built = c.build_index(num_partitions=16, nprobes=4, sample=30)
    info = c.info()
    assert info["search"] == "approximate" and info["vector_index"]["recall_at_10"] >= 0.9
    assert built["recall_at_10"] == info["vector_index"]["recall_at_10"]
    q = x[:20] + 0.1 * rng.standard_normal((20, 16)).astype(np.float32)
    by_scan = c.exact_top_ids(q, 10)
    for v, scanned in zip(q, by_scan, strict=True):
        exact = np.argsort(-(x @ (v / np.linalg.norm(v))))[:10]
        assert [int(i) for i in scanned] == exact.tolist()
        approx = [int(h.id) for h in c.search(v, k=10)]
        assert len(set(approx) & set(exact.tolist())) >= 8


def test_reopen_keeps_everything(col):
    again = Collection.open(col.root, "c")
    assert len(again) == len(_records())
    assert again.meta == col.meta


def test_add_vectors_dedupes_ids(tmp_path):
    c = Collection.create(tmp_path, "v", dim=2, model="m", fingerprint="f")
    v = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    assert c.add_vectors(["a", "a", "b"], v, ["first", "second", "b"]) == 2
    assert c.get(["a"])[0].text == "first"
    assert c.add_vectors(["a", "a"], v[:2], ["x", "y"], upsert=True) == 1
    assert c.get(["a"])[0].text == "y" and len(c) == 2


def test_ingest_after_a_kill_during_table_creation(tmp_path, tiny_encoder):
    """A SIGKILL between LanceDB making the table folder and committing its first version leaves
    a folder that is listed but cannot be opened; the next ingest must carry on, not crash."""
    from pathlib import Path

    c = Collection.for_encoder(tmp_path, "k", tiny_encoder)
    (Path(c._db.uri) / "k.lance").mkdir(parents=True)  # the state such a kill leaves
    again = Collection.for_encoder(tmp_path, "k", tiny_encoder)
    assert len(again) == 0
    report = again.add(_records(), tiny_encoder)
    assert report.added == len(_records())
    assert len(Collection.open(tmp_path, "k")) == len(_records())
