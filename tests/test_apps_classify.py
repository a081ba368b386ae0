"""Zero-shot classification against a numpy reference, and on the real default model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sentvec.apps.classify import classify
from sentvec.cli import app
from sentvec.errors import SentvecError

TEXTS = [
    "The team won the football match",
    "Stocks fell as the bank cut rates",
    "The rocket reached orbit",
    "A man is eating food.",
]
LABELS = ["sports", "business", "space"]
TEMPLATES = ["This text is about {}.", "A news story on {}."]


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_matches_numpy_reference(tiny_encoder):
    v = _unit(tiny_encoder.encode(TEXTS))
    lab = np.stack(
        [
            _unit(_unit(tiny_encoder.encode([t.format(name) for t in TEMPLATES])).mean(0))
            for name in LABELS
        ]
    )
    sims = v @ lab.T
    e = np.exp(sims / 0.1)
    probs = e / e.sum(1, keepdims=True)
    got = classify(TEXTS, LABELS, templates=TEMPLATES, temperature=0.1, encoder=tiny_encoder)
    for row, g in zip(probs, got, strict=True):
        np.testing.assert_allclose([g.scores[name] for name in LABELS], row, rtol=1e-4)
        assert g.label == LABELS[int(np.argmax(row))]
    multi = classify(
        TEXTS, LABELS, templates=TEMPLATES, multi_label=True, threshold=0.5, encoder=tiny_encoder
    )
    for row, g in zip(sims, multi, strict=True):
        np.testing.assert_allclose([g.scores[name] for name in LABELS], row, rtol=1e-4, atol=1e-6)
        assert set(g.labels) == {LABELS[j] for j in range(3) if row[j] >= 0.5}


def test_bad_arguments(tiny_encoder):
    with pytest.raises(SentvecError, match="template"):
        classify(TEXTS, LABELS, "no placeholder", encoder=tiny_encoder)
    with pytest.raises(SentvecError, match="two distinct"):
        classify(TEXTS, ["a", "a"], encoder=tiny_encoder)


@pytest.mark.slow
def test_default_model_gets_obvious_labels(default_encoder):
    got = classify(TEXTS[:3], LABELS, encoder=default_encoder)
    assert [g.label for g in got] == LABELS


def test_classify_cli(tmp_path, make_st_model):
    file = tmp_path / "t.jsonl"
    file.write_text(
        "".join(json.dumps({"id": f"x{i}", "text": t}) + "\n" for i, t in enumerate(TEXTS)),
        encoding="utf8",
    )
    model = str(make_st_model("mean", normalize=True))
    res = CliRunner().invoke(
        app, ["classify", str(file), "--labels", "sports, business,space", "-m", model]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["x0", "x1", "x2", "x3"]
    assert all(sum(r["scores"].values()) == pytest.approx(1, abs=1e-3) for r in rows)
    assert all(r["label"] == max(r["scores"], key=r["scores"].get) for r in rows)
    res = CliRunner().invoke(
        app,
        [
            "classify",
            str(file),
            "-l",
            "sports,business",
            "-m",
            model,
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    head = (tmp_path / "o.csv").read_text(encoding="utf8").splitlines()[0]
    assert head == "id,label,labels,text,score_sports,score_business"
