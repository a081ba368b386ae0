"""Cross-encoder training through the bi-encoder's Trainer: loss values equal
sentence-transformers' CrossEncoder losses on the same batch and weights, a run learns, the
trained folder loads in sentence-transformers, and `sentvec train` takes model_type = "cross"."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import sentvec
from cross_models import PAIRS, make_cross_folder
from sentvec.cross import training as T
from sentvec.train.data import Example, from_records

TRIPLETS = [(a, b, PAIRS[(i + 3) % len(PAIRS)][1]) for i, (a, b) in enumerate(PAIRS)]


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return make_cross_folder(tmp_path / "ce", 1)


def _both(folder: Path):
    from sentence_transformers import CrossEncoder

    ours = sentvec.load_cross(folder)
    ref = CrossEncoder(str(folder))
    ours.model.eval()
    ref.eval()
    return ours, ref


def _batch(ours, rows, labels=None) -> T.PairBatch:
    examples = [
        Example(tuple(r), None if labels is None else labels[i]) for i, r in enumerate(rows)
    ]
    return ours.collate(examples)


def test_bce_equals_sentence_transformers(folder: Path) -> None:
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    ours, ref = _both(folder)
    y = [0.2, 0.9, 0.0, 1.0, 0.5, 0.4, 0.7]
    got = T.BinaryCrossEntropyLoss().compute(ours.model, _batch(ours, PAIRS, y))
    cols = [[p[0] for p in PAIRS], [p[1] for p in PAIRS]]
    want = BinaryCrossEntropyLoss(ref)(cols, torch.tensor(y))
    assert float(got) == pytest.approx(float(want), abs=1e-5)


def test_mse_equals_sentence_transformers(folder: Path) -> None:
    from sentence_transformers.cross_encoder.losses import MSELoss

    ours, ref = _both(folder)
    y = [0.2, 0.9, 0.0, 1.0, 0.5, 0.4, 0.7]
    got = T.MSELoss().compute(ours.model, _batch(ours, PAIRS, y))
    cols = [[p[0] for p in PAIRS], [p[1] for p in PAIRS]]
    assert float(got) == pytest.approx(float(MSELoss(ref)(cols, torch.tensor(y))), abs=1e-5)


def test_margin_mse_equals_sentence_transformers(folder: Path) -> None:
    from sentence_transformers.cross_encoder.losses import MarginMSELoss

    ours, ref = _both(folder)
    margins = [0.5, -1.0, 2.0, 0.0, 1.5, 0.3, -0.2]
    got = T.MarginMSELoss().compute(ours.model, _batch(ours, TRIPLETS, margins))
    cols = [[t[c] for t in TRIPLETS] for c in range(3)]
    want = MarginMSELoss(ref)(cols, torch.tensor(margins))
    assert float(got) == pytest.approx(float(want), abs=1e-5)
    teacher = sentvec.load_cross(make_cross_folder(folder.parent / "teacher", 1, seed=5))
    t = [
        teacher.logits(list(zip([x[0] for x in TRIPLETS], [x[c] for x in TRIPLETS])))[:, 0]
        for c in (1, 2)
    ]
    by_teacher = T.MarginMSELoss(teacher).compute(ours.model, _batch(ours, TRIPLETS))
    want = MarginMSELoss(ref)(cols, torch.tensor(t[0] - t[1]))
    assert float(by_teacher) == pytest.approx(float(want), abs=1e-5)


def test_listnet_and_mnrl_by_hand(folder: Path) -> None:
    ours, _ = _both(folder)
    batch = _batch(ours, TRIPLETS)
    s = ours.logits([(t[0], t[c]) for c in (1, 2) for t in TRIPLETS])[:, 0].reshape(2, -1).T
    target = np.exp([1.0, 0.0]) / np.exp([1.0, 0.0]).sum()  # ListNet: softmax of the labels
    log_p = s - np.log(np.exp(s).sum(1, keepdims=True))
    want = -(target * log_p).sum(1).mean()
    got = T.ListNetLoss().compute(ours.model, batch)
    assert float(got) == pytest.approx(float(want), abs=1e-5)
    mnrl = T.MultipleNegativesRankingLoss(num_negatives=0).compute(ours.model, batch)
    p = 10 / (1 + np.exp(-s))
    want = -np.log(np.exp(p[:, 0]) / np.exp(p).sum(1)).mean()
    assert float(mnrl) == pytest.approx(float(want), abs=1e-5)
    assert torch.isfinite(T.MultipleNegativesRankingLoss().compute(ours.model, batch))


def test_trainer_learns_and_saves_for_sentence_transformers(tmp_path: Path) -> None:
    from sentence_transformers import CrossEncoder

    from sentvec.train import Trainer, TrainingArgs

    docs = [b for _, b in PAIRS]  # learnable in a few steps: the first 3 documents are relevant
    rows = [(a, d, float(j < 3)) for a, _ in PAIRS for j, d in enumerate(docs)]
    data = from_records(rows, "scored_pairs")
    ce = sentvec.load_cross(make_cross_folder(tmp_path / "ce", 1, init_range=0.02))
    loss = T.BinaryCrossEntropyLoss()
    before = float(loss.compute(ce.model.eval(), ce.collate(data.examples).to("cpu")))
    args = TrainingArgs(
        output_dir=str(tmp_path / "run"),
        epochs=40,
        batch_size=16,
        lr=1e-3,
        show_progress=False,
        seed=1,
    )
    Trainer(ce, loss, data, args).train()
    after = float(loss.compute(ce.model.eval(), ce.collate(data.examples).to("cpu")))
    assert after < 0.5 * before
    out = ce.save(tmp_path / "trained")
    pairs = [(a, b) for a, b, _ in rows]
    np.testing.assert_allclose(CrossEncoder(str(out)).predict(pairs), ce.predict(pairs), atol=1e-5)


def test_sentvec_train_cross_config(folder: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sentvec.cli import app

    train = tmp_path / "train.jsonl"
    with open(train, "w") as f:
        for i, (a, b) in enumerate(PAIRS):
            f.write(json.dumps({"sentence1": a, "sentence2": b, "score": 5.0}) + "\n")
            f.write(
                json.dumps({"sentence1": a, "sentence2": PAIRS[(i + 1) % 7][1], "score": 0.0})
                + "\n"
            )
    dev = tmp_path / "dev.tsv"
    dev.write_text(
        "".join(
            f"g\tf\t2017\t{i}\t{4.0 if i % 2 else 1.0}\t{a}\t{b}\n"
            for i, (a, b) in enumerate(PAIRS)
        )
    )
    cfg = tmp_path / "cross.toml"
    cfg.write_text(
        f'model = "{folder}"\nmodel_type = "cross"\n\n[[data]]\npath = "{train}"\n'
        'kind = "scored_pairs"\nscore_scale = 5.0\n\n[loss]\nname = "bce"\n\n'
        f'[evaluator]\nkind = "sts"\npath = "{dev}"\n\n'
        f'[training]\noutput_dir = "{tmp_path / "run"}"\n'
        "epochs = 2\nbatch_size = 4\nshow_progress = false\n"
    )
    result = CliRunner().invoke(app, ["train", str(cfg), "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    trained = sentvec.load_cross(out["model"])
    assert trained.num_labels == 1 and out["best"] is not None
    bad = tmp_path / "bad.toml"
    bad.write_text(cfg.read_text().replace('"cross"', '"triple"'))
    result = CliRunner().invoke(app, ["train", str(bad)])
    assert "model_type" in str(result.exception)


def test_mined_negatives_train_a_cross_encoder(folder: Path, tmp_path: Path, make_st_model):
    """`sentvec mine-negatives` (the bi-encoder) writes triplets that `sentvec train` with
    model_type = "cross" and the mnrl / listnet / margin_mse losses reads."""
    from typer.testing import CliRunner

    from sentvec.cli import app

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"anchor": a, "positive": b}) + "\n" for a, b in PAIRS))
    triplets = tmp_path / "triplets.jsonl"
    bi = str(make_st_model("mean", normalize=True))
    result = CliRunner().invoke(
        app,
        [
            "mine-negatives",
            str(pairs),
            "-o",
            str(triplets),
            "-m",
            bi,
            "--backend",
            "torch",
            "--margin",
            "-1",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "negative_1" in triplets.read_text()
    for loss, options in (
        ("mnrl", "{num_negatives = 2}"),
        ("listnet", "{}"),
        ("margin_mse", f'{{teacher = "{folder}"}}'),
    ):
        cfg = tmp_path / f"{loss}.toml"
        cfg.write_text(
            f'model = "{folder}"\nmodel_type = "cross"\n\n[[data]]\npath = "{triplets}"\n'
            f'kind = "triplets"\n\n[loss]\nname = "{loss}"\noptions = {options}\n\n'
            f'[training]\noutput_dir = "{tmp_path / loss}"\nbatch_size = 4\nshow_progress = false\n'
        )
        result = CliRunner().invoke(app, ["train", str(cfg), "--json"])
        assert result.exit_code == 0, (loss, result.output, result.exception)
        assert sentvec.load_cross(tmp_path / loss / "model").num_labels == 1
