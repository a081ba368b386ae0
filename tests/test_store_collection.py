"""The collection on both backends (LanceDB folder, real PostgreSQL + pgvector), checked
against brute-force numpy search on the same vectors."""

from __future__ import annotations

import numpy as np
import pytest

from sentvec.errors import SentvecError
from sentvec.io import Record
from sentvec.store import (
    Collection,
    FilterError,
    Hit,
    MetadataTypeError,
    ModelMismatchError,
    create_collection,
    for_encoder,
    open_collection,
    rrf,
)

from store_backends import location, pg_server  # noqa: F401  (fixtures)

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
def col(location, tiny_encoder) -> Collection:  # noqa: F811
    c = for_encoder(location, "c", tiny_encoder)
    c.add(_records(), tiny_encoder, batch_size=5)
    yield c
    c.close()


def _brute(encoder, records, query, k, keep=lambda r: True):
    recs = [r for r in records if keep(r)]
    v = encoder.encode([r.text for r in recs], normalize=True)
    q = encoder.encode([query], normalize=True)[0]
    s = v @ q
    order = np.argsort(-s)[:k]
    return [recs[i].id for i in order], s[order]


def _ids(col: Collection) -> list[str]:
    """The document id of every stored passage (a document stored twice shows twice)."""
    return [i.rsplit("#", 1)[0] for ids, _ in col._scan() for i in ids]


def test_add_is_idempotent(col, tiny_encoder):
    again = col.add(_records(), tiny_encoder, batch_size=7)
    assert (again.added, again.skipped) == (0, len(_records()))
    assert len(col) == len(_records())
    assert sorted(_ids(col)) == sorted(r.id for r in _records())


def test_duplicate_ids_in_one_file_stored_once(location, tiny_encoder):  # noqa: F811
    c = for_encoder(location, "d", tiny_encoder)
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
    same = col.search(query, k=4, encoder=tiny_encoder, filters={"cat": "odd"})
    assert [h.id for h in same] == ids


def test_threads_share_a_collection(col, tiny_encoder):
    """Two threads search one collection object at once (plain, filtered, exact, hybrid);
    every answer equals brute force, and a write from a third thread is seen by both."""
    from concurrent.futures import ThreadPoolExecutor

    queries = CORPUS[:8]
    vectors = tiny_encoder.encode(queries, normalize=True)
    truth = [_brute(tiny_encoder, _records(), q, 5)[0] for q in queries]
    odd = [
        _brute(tiny_encoder, _records(), q, 3, keep=lambda r: r.metadata["cat"] == "odd")[0]
        for q in queries
    ]

    def worker(turn: int) -> list[str]:
        wrong = []
        for round_ in range(6):
            for j, (q, v) in enumerate(zip(queries, vectors, strict=True)):
                if (j + turn + round_) % 2:
                    got = [h.id for h in col.search(v, k=3, where="cat = 'odd'")]
                    if got != odd[j]:
                        wrong.append(f"filtered {q!r}: {got} != {odd[j]}")
                else:
                    got = [h.id for h in col.search(v, k=5, exact=bool(round_ % 2))]
                    if got != truth[j]:
                        wrong.append(f"{q!r}: {got} != {truth[j]}")
        return wrong

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(worker, [0, 1]))
    assert results == [[], []]
    with ThreadPoolExecutor(1) as pool:
        pool.submit(
            col.add,
            [Record("A new row about violins", "new", {"cat": "odd", "n": 100})],
            tiny_encoder,
        ).result()
    assert "new" in {h.id for h in col.get(["new"])} and len(col) == len(_records()) + 1


def test_structured_filters_in_list_and_count(col, tiny_encoder):
    want = {r.id for r in _records() if r.metadata["n"] in (1, 2, 3)}
    hits = col.search("a man", k=10, encoder=tiny_encoder, filters={"n": [1, 2, 3]})
    assert {h.id for h in hits} == want
    assert col.count(filters={"cat": "even"}) == sum(
        r.metadata["cat"] == "even" for r in _records()
    )
    assert col.count(where="n BETWEEN 3 AND 5 OR id = 'code'") == 4
    assert col.count(where="NOT (cat IN ('odd'))") == 8


OPERATOR_FILTERS = [
    ({"n": {"$gte": 3, "$lt": 9}}, lambda m: 3 <= m["n"] < 9),
    ({"n": {"$gt": 10}, "cat": {"$ne": "odd"}}, lambda m: m["n"] > 10 and m["cat"] != "odd"),
    ({"n": {"$lte": 2}}, lambda m: m["n"] <= 2),
    (
        {"n": {"$nin": [0, 1, 99]}, "cat": "odd"},
        lambda m: m["n"] not in (0, 1, 99) and m["cat"] == "odd",
    ),
    ({"cat": {"$in": ["even"]}, "n": {"$ne": 4}}, lambda m: m["cat"] == "even" and m["n"] != 4),
    ({"cat": {"$eq": None}}, lambda m: False),
    ({"cat": {"$ne": None}, "n": {"$eq": 99}}, lambda m: m["n"] == 99),
]


@pytest.mark.parametrize(("filters", "keep"), OPERATOR_FILTERS)
def test_operator_filters_match_python(col, tiny_encoder, filters, keep):
    """``{"col": {"$op": value}}`` filters (the server's JSON) against a Python filter."""
    want = {r.id for r in _records() if keep(r.metadata)}
    hits = col.search("a man", k=20, encoder=tiny_encoder, filters=filters)
    assert {h.id for h in hits} == want
    assert col.count(filters=filters) == len(want)


def test_bad_operator_filters_say_why(col, tiny_encoder):
    with pytest.raises(FilterError, match=r"unknown operator '\$regex'"):
        col.count(filters={"cat": {"$regex": ".*"}})
    with pytest.raises(FilterError, match="does not fit column 'n'"):
        col.count(filters={"n": {"$gt": "1; DROP TABLE c"}})
    with pytest.raises(FilterError, match="non-empty list"):
        col.count(filters={"n": {"$in": 3}})
    with pytest.raises(FilterError, match="null only works"):
        col.count(filters={"n": {"$gt": None}})


def test_bad_filter_names_columns(col, tiny_encoder):
    with pytest.raises(FilterError, match="cat"):
        col.search("x", encoder=tiny_encoder, where="colour = 'red'")
    with pytest.raises(FilterError, match="does not fit"):
        col.search("x", encoder=tiny_encoder, filters={"n": "seven"})


def test_where_is_one_expression(col, tiny_encoder):
    """A ';' used to end the filter silently; now the whole string must parse."""
    with pytest.raises(FilterError, match="';'"):
        col.search("x", encoder=tiny_encoder, where="cat = 'odd'; id = 'r1'")
    with pytest.raises(FilterError):
        col.delete(where="cat = 'odd' -- and the rest")
    assert len(col) == len(_records())


INJECTIONS = [
    "odd' OR '1'='1",
    "x'); DROP TABLE sentvec_collections; --",
    "odd\\' OR 1=1 --",
    "' OR id IS NOT NULL OR cat = '",
]


def test_sql_injection_through_filters_and_ids(col, tiny_encoder):
    for value in INJECTIONS:
        hits = col.search("a man", k=20, encoder=tiny_encoder, filters={"cat": value})
        assert hits == [] and col.count(filters={"cat": value}) == 0
        assert col.count(where=f"cat = '{value.replace(chr(39), chr(39) * 2)}'") == 0
        assert col.search("x", k=5, mode="text", filters={"id": value}) == []
        assert col.delete([value]) == 0
        assert col.delete(filters={"id": [value, "r0' OR '1'='1"]}) == 0
        assert col.get([value]) == []
        assert len(col) == len(_records())  # nothing deleted, nothing dropped


def test_ids_with_quotes_are_stored_and_deleted_exactly(location, tiny_encoder):  # noqa: F811
    c = for_encoder(location, "q", tiny_encoder)
    odd = ["it's", "a'); DROP TABLE x; --", "plain"]
    c.add([Record(f"text {i}", i) for i in odd], tiny_encoder)
    assert c.delete(["it's"]) == 1
    assert sorted(h.id for h in c.get(odd)) == sorted(odd[1:])


def test_delete_and_upsert(col, tiny_encoder):
    assert col.delete(["r0", "r1", "missing"]) == 2
    assert len(col) == len(_records()) - 2
    assert col.delete(where="n >= 10") == len([r for r in _records() if r.metadata["n"] >= 10])
    new = Record("Quantum chromodynamics lecture notes", "r2", {"cat": "even", "n": 2})
    rep = col.upsert([new], tiny_encoder)
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
        for_encoder(col.location, "c", other)


def test_text_search_finds_rare_code(col):
    hits = col.search("XQ-9137", k=3, mode="text")
    assert hits[0].id == "code"


def test_hybrid_ranks_by_rrf_and_scores_by_cosine(col, tiny_encoder):
    query = "error XQ-9137 horse"
    vec = col.search(query, k=50, encoder=tiny_encoder)
    txt = col.search(query, k=50, mode="text")
    want: dict[str, float] = {}
    for hits in (vec, txt):
        for rank, h in enumerate(hits, 1):
            want[h.id] = want.get(h.id, 0) + 1 / (60 + rank)
    got = col.search(query, k=4, mode="hybrid", encoder=tiny_encoder)
    best = sorted(want.values(), reverse=True)[:4]
    np.testing.assert_allclose([h.fused for h in got], np.array(best) / (2 / 61), atol=1e-6)
    assert got[0].id == "code"  # first in both lists
    # the score is the cosine a vector search gives, so one threshold works for both modes
    ids, scores = _brute(tiny_encoder, _records(), query, len(_records()))
    cosine = dict(zip(ids, scores))
    np.testing.assert_allclose([h.score for h in got], [cosine[h.id] for h in got], atol=1e-5)
    assert got[0].text_score is not None and 0 < got[0].fused <= 1


def test_rrf_by_hand():
    a = [Hit("x", "", 0), Hit("y", "", 0)]
    b = [Hit("y", "", 0), Hit("z", "", 0)]
    fused = rrf([a, b], 3, constant=1)
    assert [h.id for h in fused] == ["y", "x", "z"]
    assert [h.score for h in fused] == pytest.approx([1 / 3 + 1 / 2, 1 / 2, 1 / 3])


def test_metadata_type_is_checked(col, tiny_encoder):
    with pytest.raises(MetadataTypeError, match="'n'"):
        col.add([Record("x", "bad", {"n": "seven"})], tiny_encoder)
    assert len(col) == len(_records())


def test_failed_ingest_leaves_collection_as_it_was(col, tiny_encoder):
    """A type change in the third batch, after two batches were written: all undone."""
    before = {h.id: h.text for h in col.get([r.id for r in _records()])}
    rows = [Record(f"new row {i}", f"n{i}", {"cat": "new", "n": i}) for i in range(12)]
    rows[1] = Record("changed text", "r3", {"cat": "odd", "n": 3})  # an upsert of a stored row
    rows[10].metadata["n"] = "ten"
    with pytest.raises(MetadataTypeError):
        col.upsert(rows, tiny_encoder, batch_size=4)
    assert len(col) == len(_records())
    assert {h.id: h.text for h in col.get([r.id for r in _records()])} == before

    def broken():
        yield from rows[:9]
        raise SentvecError("rows.jsonl:10: broken line")

    with pytest.raises(SentvecError, match="broken line"):
        col.add(broken(), tiny_encoder, batch_size=4)
    assert len(col) == len(_records()) and col.get(["n0"]) == []


def test_failed_first_ingest_leaves_no_table(location, tiny_encoder):  # noqa: F811
    c = for_encoder(location, "f", tiny_encoder)
    rows = [Record(f"row {i}", str(i), {"n": i if i < 5 else "five"}) for i in range(8)]
    with pytest.raises(MetadataTypeError):
        c.add(rows, tiny_encoder, batch_size=3)
    assert len(c) == 0 and c.meta["columns"] == {}
    c.add([Record("fine", "a", {"n": "text now"})], tiny_encoder)  # the column type is free again
    assert c.meta["columns"] == {"n": "string"}


def test_approximate_index_recall(location):  # noqa: F811
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 16))
    x = centres[rng.integers(0, 20, 3000)] + 0.5 * rng.standard_normal((3000, 16))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    c = create_collection(location, "ann", dim=16, model="random", fingerprint="f")
    c.add_vectors([str(i) for i in range(3000)], x)
    assert c.info()["search"] == "exact"
    if c.backend == "lancedb":
        built = c.build_index(num_partitions=16, nprobes=4, sample=30)
    else:
        built = c.build_index(ef_search=40, sample=30)
    info = c.info()
    assert info["search"] == "approximate" and info["vector_index"]["recall_at_10"] >= 0.9
    assert built["recall_at_10"] == info["vector_index"]["recall_at_10"]
    q = x[:20] + 0.1 * rng.standard_normal((20, 16)).astype(np.float32)
    by_scan = c.exact_top_ids(q, 10)
    for v, scanned in zip(q, by_scan, strict=True):
        exact = np.argsort(-(x @ (v / np.linalg.norm(v))))[:10]
        assert [int(i.rsplit("#", 1)[0]) for i in scanned] == exact.tolist()
        approx = [int(h.id) for h in c.search(v, k=10)]
        assert len(set(approx) & set(exact.tolist())) >= 8
        assert [int(h.id) for h in c.search(v, k=10, exact=True)] == exact.tolist()
    filtered = c.search(q[0], k=10, where="id < '2'")
    assert len(filtered) == 10 and all(h.id < "2" for h in filtered)


def test_reopen_keeps_everything(col):
    again = open_collection(col.location, "c")
    assert len(again) == len(_records())
    assert again.meta == col.meta and again.backend == col.backend


def test_add_vectors_dedupes_ids(location):  # noqa: F811
    c = create_collection(location, "v", dim=2, model="m", fingerprint="f")
    v = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    assert c.add_vectors(["a", "a", "b"], v, ["first", "second", "b"]) == 2
    assert c.get(["a"])[0].text == "first"
    assert c.add_vectors(["a", "a"], v[:2], ["x", "y"], upsert=True) == 1
    assert c.get(["a"])[0].text == "y" and len(c) == 2
    assert c.add_vectors(["a", "b"], v[:2]) == 0  # stored ids are skipped


def test_versions_and_restore_undo_a_delete(location, tiny_encoder):  # noqa: F811
    c = for_encoder(location, "h", tiny_encoder)
    c.add(_records(), tiny_encoder)
    if c.backend != "lancedb":
        assert c.versions() == []
        with pytest.raises(SentvecError, match="backups"):
            c.restore(1)
        return
    before = c.versions()[-1]
    assert before["documents"] == len(_records())
    c.delete(where="cat = 'odd'")
    assert len(c) < len(_records())
    c.restore(before["version"])
    assert len(c) == len(_records()) and c.versions()[-1]["documents"] == len(_records())
    with pytest.raises(SentvecError, match="no version 999"):
        c.restore(999)


def test_drop_and_list(location, tiny_encoder):  # noqa: F811
    from sentvec.store import list_collections

    for name in ("one", "two"):
        for_encoder(location, name, tiny_encoder).add(_records()[:2], tiny_encoder)
    assert list_collections(location) == ["one", "two"]
    open_collection(location, "one").drop()
    assert list_collections(location) == ["two"]
    with pytest.raises(SentvecError, match="two"):
        open_collection(location, "one")


def test_ingest_after_a_kill_during_table_creation(tmp_path, tiny_encoder):
    """LanceDB: a SIGKILL between making the table folder and committing its first version
    leaves a folder that is listed but cannot be opened; the next ingest must carry on."""
    from pathlib import Path

    c = for_encoder(tmp_path, "k", tiny_encoder)
    (Path(c._db.uri) / "k.lance").mkdir(parents=True)  # the state such a kill leaves
    again = for_encoder(tmp_path, "k", tiny_encoder)
    assert len(again) == 0
    report = again.add(_records(), tiny_encoder)
    assert report.added == len(_records())
    assert len(open_collection(tmp_path, "k")) == len(_records())


def test_store_does_not_import_apps():
    import ast
    from pathlib import Path

    import sentvec.store

    for path in Path(sentvec.store.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("sentvec.apps"), path
