"""Training data readers, samplers and dataset mixing."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from sentvec.io import InputFileError
from sentvec.train.data import (
    NoDuplicatesBatchSampler,
    collate,
    from_hf_dataset,
    from_records,
    mix_datasets,
    read_examples,
    shuffled_batches,
)


def test_sts_style_file_without_header(tmp_path):
    f = tmp_path / "sts.csv"
    f.write_text(
        'g\tf\t2012\t1\t5.000\tA "quoted" plane.\tAn air plane.\n'
        "g\tf\t2012\t2\t2.5\tB\tC\textra\tcolumns\n"
    )
    data = read_examples(
        f,
        "scored_pairs",
        header=False,
        score_scale=5.0,
        columns={"sentence1": 5, "sentence2": 6, "score": 4},
    )
    assert [e.texts for e in data.examples] == [('A "quoted" plane.', "An air plane."), ("B", "C")]
    assert [e.label for e in data.examples] == [1.0, 0.5]


def test_headed_tsv_with_column_mapping_and_bom(tmp_path):
    f = tmp_path / "msrp.tsv"
    f.write_text(
        "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA b\tA c\n", encoding="utf8"
    )
    data = read_examples(
        f,
        "labelled_pairs",
        columns={"sentence1": "#1 String", "sentence2": "#2 String", "label": "Quality"},
    )
    assert data.examples[0].texts == ("A b", "A c") and data.examples[0].label == 1


def test_malformed_rows_name_file_line_and_problem(tmp_path):
    f = tmp_path / "pairs.jsonl"
    rows = [
        {"sentence1": "a", "sentence2": "b", "score": 1},
        {"sentence1": "a", "sentence2": "", "score": 1},
        {"sentence1": "a", "sentence2": "b", "score": "high"},
        {"sentence1": "a", "score": 2},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(InputFileError, match=r"pairs.jsonl:2: sentence2 is empty"):
        read_examples(f, "scored_pairs")
    data = read_examples(f, "scored_pairs", skip_invalid=True)
    assert len(data) == 1 and data.skipped == 3


def test_csv_missing_column_and_bad_json(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("anchor,positive\nx,y\nonly\n")
    with pytest.raises(InputFileError, match=r"t.csv:3: no column 'positive'"):
        read_examples(f, "pairs")
    g = tmp_path / "g.jsonl"
    g.write_text('{"text": "a"}\n{nope\n')
    with pytest.raises(InputFileError, match=r"g.jsonl:2: not valid JSON"):
        read_examples(g, "sentences")


def test_triplets_with_several_negatives_and_label_map(tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_text(
        json.dumps({"anchor": "a", "positive": "p", "negative_1": "n1", "negative_2": "n2"}) + "\n"
    )
    assert read_examples(f, "triplets").examples[0].texts == ("a", "p", "n1", "n2")
    g = tmp_path / "nli.jsonl"
    g.write_text(json.dumps({"sentence1": "a", "sentence2": "b", "gold_label": "neutral"}) + "\n")
    data = read_examples(
        g,
        "labelled_pairs",
        columns={"label": "gold_label"},
        label_map={"entailment": 0, "neutral": 1, "contradiction": 2},
    )
    assert data.examples[0].label == 1
    with pytest.raises(InputFileError, match="not an integer class"):
        read_examples(g, "labelled_pairs", columns={"label": "gold_label"})


def test_plain_sentences_txt(tmp_path):
    f = tmp_path / "s.txt"
    f.write_text("one\n\ntwo\n")
    assert [e.texts for e in read_examples(f, "sentences").examples] == [("one",), ("two",)]


def test_in_memory_and_hf_datasets():
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"anchor": ["a", "b"], "positive": ["c", "d"]})
    assert [e.texts for e in from_hf_dataset(ds, "pairs").examples] == [("a", "c"), ("b", "d")]
    assert from_records([("x", "y", 3)], "scored_pairs", score_scale=5).examples[0].label == 0.6
    with pytest.raises(Exception, match=r"list\[0\]"):
        from_records([("x",)], "pairs")


def test_no_duplicates_sampler_keeps_duplicates_apart():
    rows = [
        ("q1", "same answer"),
        ("q2", "same answer"),
        ("q3", "a3"),
        ("q4", "a4"),
        ("q1", "a5"),
        ("q6", "a6"),
    ]
    data = from_records(rows, "pairs")
    sampler = NoDuplicatesBatchSampler(data, batch_size=3, drop_last=False)
    for seed in range(10):
        batches = sampler.batches(seed)
        assert sorted(i for b in batches for i in b) == list(range(6))  # nothing lost
        for b in batches:
            texts = [t for i in b for t in rows[i]]
            assert len(texts) == len(set(texts))


def test_shuffled_batches_and_mixing():
    assert sorted(i for b in shuffled_batches(10, 3, seed=1) for i in b) == list(range(10))
    assert len(shuffled_batches(10, 3, seed=1, drop_last=True)) == 3
    a, b = [[0], [1], [2]], [[10], [11]]
    assert mix_datasets([a, b], "round_robin") == [(0, [0]), (1, [10]), (0, [1]), (1, [11])]
    mixed = mix_datasets([a, b], "proportional", seed=3)
    assert sorted(mixed) == [(0, [0]), (0, [1]), (0, [2]), (1, [10]), (1, [11])]


def test_collate_layout(tiny_encoder):
    data = from_records([("a man", "a woman", 0.5), ("the cat", "the dog", 0.1)], "scored_pairs")
    batch = collate(data.examples, tiny_encoder.tokenize)
    assert batch.size == 2 and batch.n_columns == 2
    assert batch.features["input_ids"].shape[0] == 4  # column-major: a man, the cat, a woman...
    ref = tiny_encoder.tokenize(["a man", "the cat", "a woman", "the dog"])["input_ids"]
    assert (batch.features["input_ids"].numpy() == ref).all()
    assert batch.labels.tolist() == pytest.approx([0.5, 0.1])
