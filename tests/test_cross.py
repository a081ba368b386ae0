"""Cross-encoders: the same scores as sentence-transformers' CrossEncoder (within 1e-5) for
several label counts and activations, save / load both ways, ranking, truncation, batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sentvec
from cross_models import PAIRS, make_cross_folder
from sentvec.errors import SentvecError

CASES = [  # (labels, activation stored in the folder, activation sentence-transformers applies)
    (1, None, "sigmoid"),
    (1, "torch.nn.modules.linear.Identity", "identity"),
    (1, "torch.nn.modules.activation.Tanh", "tanh"),
    (3, None, "identity"),
    (3, "torch.nn.modules.activation.Sigmoid", "sigmoid"),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[2]}")
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    labels, stored, expected = request.param
    folder = make_cross_folder(tmp_path_factory.mktemp("ce"), labels, stored)
    return folder, labels, expected


def _st(folder: Path, **kw):
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(folder), **kw)


def test_scores_match_sentence_transformers(case) -> None:
    folder, labels, expected = case
    ref = _st(folder)
    ours = sentvec.load_cross(folder)
    assert ours.num_labels == labels and ours.activation == expected
    want = ref.predict(PAIRS, batch_size=3)
    got = ours.predict(PAIRS, batch_size=3)
    assert got.shape == want.shape == ((len(PAIRS),) if labels == 1 else (len(PAIRS), labels))
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.std(want) > 1e-3  # the model tells the pairs apart: the test is not vacuous


def test_softmax_over_labels_matches(case) -> None:
    folder, labels, _ = case
    if labels == 1:
        pytest.skip("softmax needs several labels")
    want = _st(folder).predict(PAIRS, apply_softmax=True)
    got = sentvec.load_cross(folder).predict(PAIRS, apply_softmax=True)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_activation_override_matches(case) -> None:
    import torch

    folder, _, _ = case
    want = _st(folder, activation_fn=torch.nn.Identity()).predict(PAIRS)
    got = sentvec.load_cross(folder, activation="identity").predict(PAIRS)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_save_loads_in_sentence_transformers(case, tmp_path: Path) -> None:
    folder, labels, expected = case
    ours = sentvec.load_cross(folder)
    out = ours.save(tmp_path / "saved")
    ref = _st(out)
    np.testing.assert_allclose(ref.predict(PAIRS), ours.predict(PAIRS), atol=1e-5)
    again = sentvec.load_cross(out)
    assert again.activation == expected and again.num_labels == labels
    np.testing.assert_allclose(again.predict(PAIRS), ours.predict(PAIRS), atol=1e-6)


def test_loads_a_folder_sentence_transformers_saved(tmp_path: Path) -> None:
    import torch

    folder = make_cross_folder(tmp_path / "hf", 1)
    ref = _st(folder, activation_fn=torch.nn.Tanh())
    ref.save(str(tmp_path / "st"))
    ours = sentvec.load_cross(tmp_path / "st")
    assert ours.activation == "tanh"
    np.testing.assert_allclose(ours.predict(PAIRS), ref.predict(PAIRS), atol=1e-5)


def test_rank_matches_sentence_transformers(tmp_path: Path) -> None:
    folder = make_cross_folder(tmp_path / "ce", 1)
    query = "a man is eating food."
    docs = [d for _, d in PAIRS]
    want = _st(folder).rank(query, docs, top_k=4)
    got = sentvec.load_cross(folder).rank(query, docs, k=4)
    assert [r.index for r in got] == [w["corpus_id"] for w in want]
    np.testing.assert_allclose([r.score for r in got], [w["score"] for w in want], atol=1e-5)
    assert got[0].text == docs[got[0].index]


def test_score_does_not_depend_on_batch(tmp_path: Path) -> None:
    ce = sentvec.load_cross(make_cross_folder(tmp_path / "ce", 1))
    alone = np.array([ce.predict([p])[0] for p in PAIRS])
    np.testing.assert_allclose(ce.predict(PAIRS, batch_size=7), alone, atol=1e-6)
    np.testing.assert_allclose(ce.predict(PAIRS, max_tokens=40), alone, atol=1e-6)


def test_long_pair_cuts_the_document_first(tmp_path: Path) -> None:
    """Against the Hugging Face tokenizer's ``only_second`` truncation (the query fits)."""
    from transformers import AutoTokenizer

    folder = make_cross_folder(tmp_path / "ce", 1)
    ce = sentvec.load_cross(folder)
    query, doc = "how do i reset my password?", " ".join(["a man is riding a horse."] * 30)
    ids, types = ce.tokenizer.encode([(query, doc)], ce.max_seq_length)
    hf = AutoTokenizer.from_pretrained(str(folder))
    want = hf(query, doc, truncation="only_second", max_length=ce.max_seq_length)
    assert ids[0] == want["input_ids"] and types[0] == want["token_type_ids"]
    assert len(ids[0]) == ce.max_seq_length
    q_ids = hf(query, add_special_tokens=False)["input_ids"]
    assert ids[0][1 : 1 + len(q_ids)] == q_ids  # the whole query is kept


def test_long_query_keeps_half(tmp_path: Path) -> None:
    ce = sentvec.load_cross(make_cross_folder(tmp_path / "ce", 1))
    long = " ".join(["the cat sits on the mat."] * 40)
    q, d = ce.tokenizer.fit(list(range(200)), list(range(200)), 64)
    assert len(q) + len(d) == 64 - ce.tokenizer.n_special and len(q) == (64 - 3) // 2
    assert np.isfinite(ce.predict([(long, long)])).all()


def test_bad_pairs_are_refused(tmp_path: Path) -> None:
    ce = sentvec.load_cross(make_cross_folder(tmp_path / "ce", 1))
    with pytest.raises(SentvecError, match="pairs\\[1\\]"):
        ce.predict([("a", "b"), ("only one",)])
    with pytest.raises(SentvecError, match="list of"):
        ce.predict("a text")
    assert ce.predict([]).shape == (0,)
    assert ce.predict(("a man", "a horse")).shape == (1,)


def test_new_head_on_a_bi_encoder_folder(tiny_hf_dir: Path) -> None:
    ce = sentvec.load_cross(tiny_hf_dir, num_labels=1)
    assert ce.num_labels == 1 and ce.activation == "sigmoid"
    assert ce.predict(PAIRS).shape == (len(PAIRS),)


# -- ONNX ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from sentvec.cross.onnx import export_cross

    base = tmp_path_factory.mktemp("onnx")
    folder = make_cross_folder(base / "ce", 3)
    return folder, export_cross(folder, base / "exported", int8=True)


def test_onnx_matches_torch(exported) -> None:
    folder, out = exported
    want = sentvec.load_cross(folder).predict(PAIRS)
    for model in (folder, out):  # exported on first use (cached), and an exported folder
        got = sentvec.load_cross(model, backend="onnx").predict(PAIRS)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_onnx_int8_is_batch_invariant_and_close(exported) -> None:
    folder, out = exported
    ce = sentvec.load_cross(out, backend="onnx-int8")
    assert ce.backend.quantization is not None
    batch = ce.predict(PAIRS, batch_size=7)
    alone = np.stack([ce.predict([p])[0] for p in PAIRS])
    np.testing.assert_allclose(batch, alone, atol=1e-6)
    fp32 = sentvec.load_cross(folder).predict(PAIRS)
    # a 32-wide random model quantizes coarsely; real models: see BENCHMARKS.md
    assert np.abs(batch - fp32).max() < 0.25 * np.abs(fp32).max()
    assert np.corrcoef(batch.ravel(), fp32.ravel())[0, 1] > 0.97


def test_exported_folder_runs_without_torch(exported) -> None:
    import json
    import subprocess
    import sys

    folder, out = exported
    code = (
        "import sys, json; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
        "import sentvec\n"
        f"ce = sentvec.load_cross({str(out)!r}, backend='onnx')\n"
        f"print(json.dumps(ce.predict({PAIRS!r}).tolist()))\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": src},
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    got = np.array(json.loads(res.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(got, sentvec.load_cross(folder).predict(PAIRS), atol=1e-5)
