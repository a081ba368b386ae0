"""Library calls that used to raise raw tracebacks (or silently accept a bad value) now raise
a SentvecError that names the value and the fix (issue 8)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import sentvec
from sentvec.errors import BrokenModelError, SentvecError
from sentvec.similarity import pairwise_similarity, similarity_matrix, top_k


@pytest.mark.parametrize("texts", [None, 5, b"bytes", {"a": 1}])
def test_encode_refuses_what_is_not_texts(tiny_encoder, texts):
    with pytest.raises(SentvecError, match="list of strings"):
        tiny_encoder.encode(texts)


def test_encode_refuses_lone_surrogates(tiny_encoder):
    with pytest.raises(SentvecError, match=r"text #1 holds a lone surrogate '\\udcff'"):
        tiny_encoder.encode(["fine", "bad \udcff byte"])  # what Python makes of a bad argv byte


@pytest.mark.parametrize(
    ("value", "match"),
    [(100_000, "between 1 and 64, the model's number of positions"), (0, "at least|between"),
     (-5, "between 1 and 64"), (2.5, "whole number"), (True, "whole number")],
)  # fmt: skip
def test_max_seq_length_is_range_checked(make_st_model, value, match):
    with pytest.raises(SentvecError, match=match):
        sentvec.load(make_st_model("mean"), max_seq_length=value)


def test_max_seq_length_at_the_limit_still_loads(make_st_model):
    assert sentvec.load(make_st_model("mean"), max_seq_length=64).max_seq_length == 64


def test_vector_shapes_and_k_are_checked():
    a, b = np.ones((2, 4), np.float32), np.ones((3, 5), np.float32)
    with pytest.raises(SentvecError, match=r"\(2, 4\) and \(3, 5\)"):
        similarity_matrix(a, b)
    with pytest.raises(SentvecError, match="same model"):
        pairwise_similarity(a, b[:2])
    with pytest.raises(SentvecError, match="same model"):
        top_k(a, b)
    for k in (-1, 0):
        with pytest.raises(SentvecError, match=f"k {k} is out of range"):
            top_k(a, a, k=k)
    _, idx = top_k(a, np.eye(4, dtype=np.float32), k=10)  # k above n: all rows
    assert idx.shape == (2, 4)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda d: (d / "model.safetensors").write_bytes(b"\x08\x00"), "model.safetensors is"),
        (
            lambda d: (d / "model.safetensors").write_bytes(
                (d / "model.safetensors").read_bytes()[:-100]
            ),
            "model.safetensors is truncated",
        ),
        (lambda d: (d / "config.json").write_text('{"bad'), "config.json is not valid JSON"),
        (lambda d: (d / "config.json").write_bytes(b"\xff\xfe\x00"), "config.json"),
        (lambda d: (d / "modules.json").write_text('[{"type": 3}]'), "modules.json"),
    ],
)
def test_broken_model_files_name_the_file(make_st_model, tmp_path, damage, match):
    folder = tmp_path / "m"
    shutil.copytree(make_st_model("mean"), folder)
    damage(folder)
    with pytest.raises(BrokenModelError, match=match):
        sentvec.load(folder)
