"""Config files, `sentvec train`, the saved model and its card, and hard-negative mining."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("torch")

import sentvec
from sentvec.errors import SentvecError
from sentvec.train.config import load_config
from sentvec.train.mining import mine_hard_negatives
from toy_train_data import SCORED

TOML = """
model = "{model}"

[[data]]
path = "train.tsv"
kind = "scored_pairs"
header = false
columns = {{ sentence1 = 0, sentence2 = 1, score = 2 }}
score_scale = 5

[loss]
name = "cosine"

[evaluator]
kind = "sts"
path = "dev.tsv"

[training]
output_dir = "run"
epochs = 2
batch_size = 4
lr = 1e-3
show_progress = false
"""


def _files(tmp_path, model):
    rows = "\n".join(f"{a}\t{b}\t{5 * s}" for a, b, s in SCORED) + "\n"
    (tmp_path / "train.tsv").write_text(rows)
    (tmp_path / "dev.tsv").write_text(
        "\n".join(f"g\tf\ty\t{i}\t{5 * s}\t{a}\t{b}" for i, (a, b, s) in enumerate(SCORED)) + "\n"
    )
    (tmp_path / "c.toml").write_text(TOML.format(model=model))
    return tmp_path / "c.toml"


def test_toml_and_yaml_configs_map_to_dataclasses(tmp_path):
    cfg = load_config(_files(tmp_path, "m"))
    assert cfg.training.epochs == 2 and cfg.training.lr == 1e-3
    assert cfg.data[0].columns == {"sentence1": 0, "sentence2": 1, "score": 2}
    assert cfg.data[0].path == str(tmp_path / "train.tsv")  # relative to the config file
    assert cfg.loss[0].name == "cosine" and cfg.evaluator.kind == "sts"
    yml = tmp_path / "c.yaml"
    yml.write_text(
        "data:\n  - {path: train.tsv, kind: pairs}\nloss: {name: mnrl, options: "
        "{scale: 10}}\ntraining: {epochs: 3, warmup_ratio: 0}\n"
    )
    cfg = load_config(yml)
    assert cfg.loss[0].options == {"scale": 10} and cfg.training.epochs == 3
    assert cfg.training.warmup_ratio == 0.0 and isinstance(cfg.training.warmup_ratio, float)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[data]]\npath='x'\nkind='pairs'\n[training]\nepoch = 3\n", "unknown key.*epoch"),
        ("[[data]]\npath='x'\nkind='pairs'\n[training]\nepochs = 'three'\n", "expected int"),
        ("[[data]]\nkind='pairs'\n", "missing"),
        ("[training]\nepochs = 1\n", "no \\[\\[data\\]\\]"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(SentvecError, match=message):
        load_config(f)


@pytest.mark.slow
def test_sentvec_train_saves_a_loadable_model_with_card(tmp_path, make_st_model):
    from sentence_transformers import SentenceTransformer
    from typer.testing import CliRunner

    from sentvec.cli import app

    config = _files(tmp_path, make_st_model("mean"))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "run" / "model"
    card = (folder / "README.md").read_text()
    for needle in (
        "base_model:",
        "CosineSimilarityLoss",
        "scored_pairs",
        "| lr | 0.001 |",
        "sts_cosine_spearman",
    ):
        assert needle in card
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert sum("sts_cosine_spearman" in r for r in rows) == 2  # evaluated after each epoch
    texts = ["A man is eating food.", "The cat sits on the mat."]
    ours = sentvec.load(folder).encode(texts)
    theirs = SentenceTransformer(str(folder), device="cpu").encode(texts)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    base = sentvec.load(make_st_model("mean")).encode(texts)
    assert not np.allclose(ours, base, atol=1e-4)  # it did train


class TableEncoder:
    def __init__(self, table):
        self.table = {k: np.asarray(v, dtype=np.float32) for k, v in table.items()}
        self.spec = SimpleNamespace(similarity="cosine")

    def encode(self, texts, batch_size=32, **kw):
        return np.stack([self.table[t] for t in texts])


def _angle(deg):
    r = np.deg2rad(deg)
    return [np.cos(r), np.sin(r)]


def test_mining_skips_top_ranks_and_near_positive_scores():
    # anchor at 0 degrees, its positive at 20; candidates at 5, 25, 40, 60, 90 degrees
    table = {
        "a": _angle(0),
        "p": _angle(20),
        "c5": _angle(5),
        "c25": _angle(25),
        "c40": _angle(40),
        "c60": _angle(60),
        "c90": _angle(90),
    }
    enc = TableEncoder(table)
    corpus = ["p", "c5", "c25", "c40", "c60", "c90"]
    rows, dropped = mine_hard_negatives(enc, [("a", "p")], corpus, num_negatives=2, margin=None)
    assert rows[0].negatives == ["c5", "c25"] and dropped == 0  # the positive is never a negative
    rows, _ = mine_hard_negatives(
        enc, [("a", "p")], corpus, num_negatives=2, margin=None, skip_top=1
    )
    assert rows[0].negatives == ["c25", "c40"]
    pos = np.cos(np.deg2rad(20))
    margin = pos - np.cos(np.deg2rad(39))  # keeps only candidates farther than 39 degrees
    rows, _ = mine_hard_negatives(enc, [("a", "p")], corpus, num_negatives=2, margin=margin)
    assert rows[0].negatives == ["c40", "c60"]
    rows, _ = mine_hard_negatives(
        enc,
        [("a", "p")],
        corpus,
        num_negatives=1,
        margin=None,
        max_score=float(np.cos(np.deg2rad(50))),
    )
    assert rows[0].negatives == ["c60"]
    rows, dropped = mine_hard_negatives(enc, [("a", "p")], corpus, num_negatives=9)
    assert rows == [] and dropped == 1


def test_mine_negatives_cli(tmp_path, make_st_model):
    from typer.testing import CliRunner

    from sentvec.cli import app
    from sentvec.train.data import read_examples
    from toy_train_data import PAIRS

    f = tmp_path / "pairs.jsonl"
    f.write_text("\n".join(json.dumps({"anchor": a, "positive": p}) for a, p in PAIRS))
    out = tmp_path / "mined.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "mine-negatives",
            str(f),
            "-o",
            str(out),
            "--margin=-10",
            "-m",
            str(make_st_model("mean")),
        ],
    )
    assert result.exit_code == 0, result.output
    data = read_examples(out, "triplets")  # the output reads back as triplets
    assert len(data) == len(PAIRS)
    for ex in data.examples:
        assert ex.texts[2] not in (ex.texts[0], ex.texts[1])


def test_documented_config_example_parses(tmp_path):
    from sentvec.train import config as module

    doc = module.__doc__
    example = doc[doc.index("Example (TOML)::") + len("Example (TOML)::") : doc.index("Relative")]
    text = "\n".join(line[4:] for line in example.splitlines())
    f = tmp_path / "example.toml"
    f.write_text(text)
    cfg = load_config(f)
    assert cfg.data[0].columns == {"sentence1": 5, "sentence2": 6, "score": 4}
    assert cfg.training.epochs == 4 and cfg.evaluator.kind == "sts"
