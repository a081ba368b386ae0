"""Static embeddings: distillation, the torch-free backend, sentence-transformers parity,
fine-tuning with the trainer, and the CLI."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import sentvec
from sentvec.backends.static import StaticModel
from sentvec.distill.distillation import DistillConfig, distill, regular_token_ids

from conftest import CORPUS

SRC = str(Path(sentvec.__file__).resolve().parents[1])
TEXTS = [*CORPUS, "", "   ", "horse " * 300, "UNSEEN wordz qqq!"]


@pytest.fixture(scope="module")
def static_dir(make_st_model, tmp_path_factory) -> Path:
    teacher = sentvec.load(make_st_model("mean", normalize=True))
    model = distill(teacher, DistillConfig(dims=16, sif=1e-2), show_progress=False)
    return model.save(tmp_path_factory.mktemp("static"))


def test_distill_tiny_model_writes_a_sentence_transformers_folder(static_dir):
    modules = json.loads((static_dir / "modules.json").read_text())
    assert modules[0]["type"] == "sentence_transformers.models.StaticEmbedding"
    assert (static_dir / "0_StaticEmbedding" / "model.safetensors").exists()
    assert (static_dir / "0_StaticEmbedding" / "tokenizer.json").exists()
    enc = sentvec.load(static_dir)
    assert enc.backend.name == "static" and enc.dim == 16


def test_sentence_transformers_loads_the_same_vectors(static_dir):
    from sentence_transformers import SentenceTransformer

    ours = sentvec.load(static_dir).encode(TEXTS)
    ref = SentenceTransformer(str(static_dir), device="cpu").encode(TEXTS)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_batch_invariance(static_dir):
    enc = sentvec.load(static_dir)
    alone = np.stack([enc.encode([t])[0] for t in TEXTS])
    for batch_size in (1, 3, 8, 64):
        batched = enc.encode(TEXTS, batch_size=batch_size)
        assert np.abs(batched - alone).max() <= 1e-6
    mixed = enc.encode([*reversed(TEXTS), *TEXTS])[len(TEXTS) :]
    assert np.abs(mixed - alone).max() <= 1e-6


def test_rows_are_pca_of_the_teacher_token_vectors_times_sif(make_st_model):
    """Reference: Hugging Face transformers running ``[CLS] token [SEP]`` (mean pooled,
    normalised), scikit-learn's PCA, the SIF formula."""
    import torch
    from sklearn.decomposition import PCA
    from transformers import AutoModel

    folder = make_st_model("mean", normalize=True)
    teacher = sentvec.load(folder)
    model = distill(teacher, DistillConfig(dims=8, sif=1e-2, normalize=False), show_progress=False)
    ids = regular_token_ids(teacher)
    tok = teacher.tokenizer.backend
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    rows = torch.tensor([[cls_id, int(i), sep_id] for i in ids])
    with torch.no_grad():
        hidden = AutoModel.from_pretrained(str(folder)).eval()(input_ids=rows).last_hidden_state
    ref_vecs = torch.nn.functional.normalize(hidden.mean(dim=1), dim=-1).double().numpy()
    ref = PCA(n_components=8).fit_transform(ref_vecs)
    rank = np.arange(1, len(ids) + 1, dtype=np.float64)
    p = (1 / rank) / (1 / rank).sum()
    ref *= (1e-2 / (1e-2 + p))[:, None]
    got = model.embeddings[ids]
    signs = np.sign(np.sum(got * ref, axis=0))  # PCA directions are defined up to sign
    np.testing.assert_allclose(got * signs, ref, atol=1e-4)
    unused = np.setdiff1d(np.arange(len(model.embeddings)), ids)
    assert np.all(model.embeddings[unused] == 0)  # special tokens get zero rows
    assert {cls_id, sep_id, tok.token_to_id("[PAD]")} <= set(unused.tolist())


def test_corpus_counts_match_a_plain_counter(make_st_model):
    from sentvec.distill.distillation import token_counts

    teacher = sentvec.load(make_st_model("mean", normalize=True))
    counts = token_counts(teacher, CORPUS, chunk=4)
    ref = Counter(
        i for t in CORPUS for i in teacher.tokenizer.backend.encode(t, add_special_tokens=False).ids
    )
    assert {i: int(c) for i, c in enumerate(counts) if c} == dict(ref)
    weighted = distill(teacher, DistillConfig(dims=8), corpus=CORPUS, show_progress=False)
    assert weighted.info["weights_from"] == "corpus token counts"


@pytest.mark.slow
def test_loads_without_torch_or_onnxruntime(static_dir, tmp_path):
    expected = sentvec.load(static_dir).encode(CORPUS)
    np.save(tmp_path / "expected.npy", expected)
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['onnxruntime'] = None\n"
        "sys.modules['transformers'] = None\n"
        "import numpy as np, sentvec\n"
        f"from conftest_free import CORPUS\n"
        f"enc = sentvec.load({str(static_dir)!r})\n"
        f"got = enc.encode(CORPUS)\n"
        f"ok = np.abs(got - np.load({str(tmp_path / 'expected.npy')!r})).max() <= 1e-6\n"
        "print(enc.backend.name, ok, 'torch' in sys.modules and sys.modules['torch'] is not None)\n"
    )
    (tmp_path / "conftest_free.py").write_text(f"CORPUS = {CORPUS!r}\n")
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{tmp_path}"},
        timeout=120,
    )
    assert out.stdout.split() == ["static", "True", "False"], out.stderr


def test_static_backend_on_a_transformer_folder_says_to_distil(make_st_model):
    from sentvec.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="sentvec distill"):
        sentvec.load(make_st_model("mean"), backend="static")


def test_numpy_model_equals_the_torch_module(static_dir):
    import torch

    enc = sentvec.load(static_dir)
    feats = enc.tokenize(TEXTS)
    with torch.no_grad():
        ref = enc.model(
            torch.from_numpy(feats["input_ids"]), torch.from_numpy(feats["attention_mask"])
        ).numpy()
    np.testing.assert_allclose(enc.encode(TEXTS), ref, atol=1e-5)  # summation order differs
    np.testing.assert_array_equal(StaticModel.load(static_dir).encode(TEXTS), enc.encode(TEXTS))


@pytest.mark.slow
def test_fine_tune_with_the_trainer_and_save_back(static_dir, tmp_path):
    from sentence_transformers import SentenceTransformer

    from sentvec.train import MultipleNegativesRankingLoss, Trainer, TrainingArgs
    from sentvec.train.data import Example, ExampleKind, TrainData

    enc = sentvec.load(static_dir)
    before = enc.encode(CORPUS).copy()
    pairs = [(CORPUS[i], CORPUS[i + 1]) for i in range(0, len(CORPUS) - 1, 2)]
    data = TrainData(ExampleKind.PAIRS, [Example(p) for p in pairs])
    args = TrainingArgs(
        output_dir=str(tmp_path / "run"), epochs=3, batch_size=4, lr=5e-2, show_progress=False
    )
    state = Trainer(enc, MultipleNegativesRankingLoss(), data, args).train()
    assert state.step > 0
    after = enc.encode(CORPUS)
    assert np.abs(after - before).max() > 1e-3  # training moved the rows and encode sees them
    a = after / np.linalg.norm(after, axis=1, keepdims=True)
    b = before / np.linalg.norm(before, axis=1, keepdims=True)
    gain = [a[i] @ a[i + 1] - b[i] @ b[i + 1] for i in range(0, len(CORPUS) - 1, 2)]
    assert np.mean(gain) > 0  # positives moved closer
    out = enc.save(tmp_path / "tuned")
    np.testing.assert_allclose(sentvec.load(out).encode(CORPUS), after, atol=1e-6)
    ref = SentenceTransformer(str(out), device="cpu").encode(CORPUS)
    np.testing.assert_allclose(after, ref, atol=1e-5)


def test_teacher_targets_align_the_teacher_with_the_student(make_st_model, static_dir):
    from sentvec.distill.tune import teacher_targets

    teacher = sentvec.load(make_st_model("mean", normalize=True))
    student = sentvec.load(static_dir)
    texts = [f"{a} {b}" for a in CORPUS for b in CORPUS[:3]]
    data = teacher_targets(student, teacher, texts)
    y = np.asarray([e.label for e in data.examples])
    texts = [e.texts[0] for e in data.examples]
    t = teacher.encode(texts, batch_size=64, normalize=True).astype(np.float64)
    a, *_ = np.linalg.lstsq(t, student.encode(texts).astype(np.float64), rcond=None)
    ref = t @ a
    np.testing.assert_allclose(y, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-4)


@pytest.mark.slow
def test_cli_distill_and_eval(make_st_model, tmp_path):
    from typer.testing import CliRunner

    from sentvec.cli import app

    model = str(make_st_model("mean", normalize=True))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n")
    out = tmp_path / "static"
    r = CliRunner().invoke(
        app, ["distill", model, "--out", str(out), "--dims", "8", "--corpus", str(corpus)]
    )
    assert r.exit_code == 0, r.output
    assert sentvec.load(out).dim == 8
    fit = tmp_path / "fit.txt"
    fit.write_text("\n".join(FIT_TEXTS) + "\n")
    r = CliRunner().invoke(
        app, ["distill", model, "--out", str(tmp_path / "fit"), "--fit", str(fit), "--json"]
    )
    assert r.exit_code == 0, r.output
    teacher_dim = sentvec.load(model).dim
    assert 0 < sentvec.load(tmp_path / "fit").dim <= min(256, teacher_dim)  # the rows' rank
    info = json.loads((tmp_path / "fit" / "static_config.json").read_text())
    assert info["fit_to_teacher"]["texts"] > 0
    assert info["fit_to_teacher"]["blend"] == 0.5  # FitConfig's default, as the help says
    args = ["distill", model, "--out", str(tmp_path / "fit0"), "--fit", str(fit), "--json"]
    r = CliRunner().invoke(app, [*args, "--fit-blend", "0"])
    assert r.exit_code == 0, r.output
    info = json.loads((tmp_path / "fit0" / "static_config.json").read_text())
    assert info["fit_to_teacher"]["blend"] == 0.0
    sts = tmp_path / "sts.csv"
    rows = [(CORPUS[i], CORPUS[j], (i * 7 + j) % 6) for i in range(6) for j in range(6, 12)]
    sts.write_text("".join(f"g\tf\ty\t{n}\t{s}\t{a}\t{b}\n" for n, (a, b, s) in enumerate(rows)))
    r = CliRunner().invoke(
        app,
        [
            *("distill", model, "--eval", "--static", str(out), "--sts", str(sts)),
            *("--speed-texts", "100", "--json"),
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)["results"]
    assert set(res) == {"teacher (torch)", "static"}
    for row in res.values():
        assert -100 <= row["stsb_test"] <= 100 and row["texts_per_s"] > 0
    r = CliRunner().invoke(app, ["distill", model])
    assert r.exit_code == 2 or "needs --out" in str(r.exception)


FIT_TEXTS = [f"{a} {b}" for a in CORPUS for b in CORPUS[:4]]


def test_fit_to_teacher_without_training_is_the_least_squares_head_folded_in(
    make_st_model, static_dir
):
    """Reference: numpy's least squares from the student's vectors to the teacher's; the
    folded model must give normalize(mean(rows) @ W - c) for every text, unseen ones
    included, where c is the mean of mean(rows) @ W over the fit texts (up to a rotation:
    the cosines between texts must match)."""
    from sentvec.distill.tune import FitConfig, fit_to_teacher

    teacher = sentvec.load(make_st_model("mean", normalize=True))
    student = StaticModel.load(static_dir)
    y = teacher.encode(FIT_TEXTS, normalize=True)
    res = fit_to_teacher(student, FIT_TEXTS, y, FitConfig(epochs=0, holdout=0.0, blend=0.0))
    s = student.encode(FIT_TEXTS).astype(np.float64)  # normalised, as the fit starts
    w, *_ = np.linalg.lstsq(s, y.astype(np.float64), rcond=None)
    raw = StaticModel(student.embeddings, student.tokenizer, normalize=False)
    c = (raw.encode(FIT_TEXTS) @ w).mean(axis=0)
    ref = raw.encode(TEXTS) @ w - c
    ref[[not ids for ids in student.token_ids(TEXTS)]] = 0  # a text without tokens: zeros
    ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    got = res.model.encode(TEXTS)
    assert res.model.dim == np.linalg.matrix_rank(student.embeddings)  # nothing lost
    np.testing.assert_allclose(got @ got.T, ref @ ref.T, atol=1e-4)
    plain = fit_to_teacher(
        student, FIT_TEXTS, y, FitConfig(epochs=0, holdout=0.0, centre=False, blend=0.0)
    )
    ref = raw.encode(TEXTS) @ w
    ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    got = plain.model.encode(TEXTS)
    np.testing.assert_allclose(got @ got.T, ref @ ref.T, atol=1e-4)


def test_fit_to_teacher_blend_keeps_the_starting_rows_beside_the_fitted_ones(
    make_st_model, static_dir
):
    """Reference: numpy, from the definition. Each text's vector is the concatenation of the
    least-squares-fitted part and the starting part, each centred on the fit texts' mean
    and divided by the median length of the fit texts' centred vectors, the second times the
    blend weight. With room for every direction, the cosines between texts must match."""
    from sentvec.distill.tune import FitConfig, fit_to_teacher
    from sentvec.errors import SentvecError

    teacher = sentvec.load(make_st_model("mean", normalize=True))
    student = StaticModel.load(static_dir)
    y = teacher.encode(FIT_TEXTS, normalize=True)
    width = 2 * student.dim
    res = fit_to_teacher(
        student, FIT_TEXTS, y, FitConfig(epochs=0, holdout=0.0, blend=0.7, dims=width)
    )
    w, *_ = np.linalg.lstsq(student.encode(FIT_TEXTS).astype(np.float64), y, rcond=None)
    raw = StaticModel(student.embeddings, student.tokenizer, normalize=False)
    parts = []
    for project, weight in ((w, 1.0), (np.eye(student.dim), 0.7)):
        fit_vectors = raw.encode(FIT_TEXTS).astype(np.float64) @ project
        c = fit_vectors.mean(axis=0)
        length = np.median(np.linalg.norm(fit_vectors - c, axis=1))
        parts.append(weight * (raw.encode(TEXTS).astype(np.float64) @ project - c) / length)
    ref = np.concatenate(parts, axis=1)
    ref[[not ids for ids in student.token_ids(TEXTS)]] = 0
    ref /= np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    got = res.model.encode(TEXTS)
    np.testing.assert_allclose(got @ got.T, ref @ ref.T, atol=1e-4)
    assert res.model.info["fit_to_teacher"]["blend"] == 0.7
    with pytest.raises(SentvecError, match="blend must be 0 or more, got -1"):
        fit_to_teacher(student, FIT_TEXTS, y, FitConfig(blend=-1.0))


@pytest.mark.slow
def test_fit_to_teacher_moves_the_vectors_towards_the_teacher(make_st_model, static_dir):
    """Judged on the teacher's own vectors: from random rows (the least-squares head alone
    fits poorly), training brings every text's static vector closer to the teacher's."""
    from sentence_transformers import SentenceTransformer

    from sentvec.distill.tune import FitConfig, fit_to_teacher

    teacher = sentvec.load(make_st_model("mean", normalize=True))
    y = teacher.encode(FIT_TEXTS, normalize=True)
    base = StaticModel.load(static_dir)
    rows = np.random.default_rng(0).normal(size=base.embeddings.shape).astype(np.float32)
    start = StaticModel(rows, base.tokenizer)
    plain = FitConfig(epochs=0, holdout=0.0, centre=False, blend=0.0)
    before = fit_to_teacher(start, FIT_TEXTS, y, plain)
    cfg = FitConfig(epochs=30, lr=3e-3, batch_size=16, holdout=0.0, centre=False, blend=0.0)
    res = fit_to_teacher(start, FIT_TEXTS, y, cfg)
    assert res.history[-1] < res.history[0]

    def gap(m: StaticModel) -> float:  # the rows are rotated: compare cosines between texts
        v = m.encode(FIT_TEXTS)
        return float(np.abs(v @ v.T - y @ y.T).mean())

    assert gap(res.model) < 0.9 * gap(before.model)
    small = fit_to_teacher(
        StaticModel.load(static_dir), FIT_TEXTS, y, FitConfig(epochs=1, dims=8)
    ).model
    assert small.dim == 8
    folder = small.save(Path(static_dir).parent / "fitted")
    ref = SentenceTransformer(str(folder), device="cpu").encode(TEXTS)
    np.testing.assert_allclose(sentvec.load(folder).encode(TEXTS), ref, atol=1e-5)


def test_fit_to_teacher_rejects_mismatched_targets(static_dir):
    from sentvec.distill.tune import fit_to_teacher
    from sentvec.errors import SentvecError

    with pytest.raises(SentvecError, match="targets"):
        fit_to_teacher(StaticModel.load(static_dir), FIT_TEXTS, np.zeros((3, 4)))
