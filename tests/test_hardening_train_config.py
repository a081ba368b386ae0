"""Issue 21 defect 9: `sentvec train` configs with wrong types or values give one `error:` line
naming the key and the fix (exit 2), never "unexpected ... bug"; `epochs = true` is refused."""

from __future__ import annotations

import pytest

from sentvec_cli_runner import run_cli

BASE = """
[[data]]
path = "pairs.jsonl"
kind = "pairs"
{data}
[loss]
name = "mnrl"
{loss}
[training]
max_steps = 1
{training}
"""


@pytest.mark.parametrize(
    ("section", "line", "key"),
    [
        ("training", 'max_steps = "ten"', "max_steps"),
        ("training", 'warmup_steps = "5"', "warmup_steps"),
        ("training", 'max_grad_norm = "big"', "max_grad_norm"),
        ("training", "epochs = true", "epochs"),
        ("training", "lr = nan", "lr"),
        ("training", "lr = 0.0", "lr"),
        ("training", "lr = inf", "lr"),
        ("training", 'device = "cuda:7x"', "device"),
        ("training", 'device = "cuda:7"', "device"),
        ("training", 'device = "gpu"', "device"),
        ("training", "batch_size = 1.5", "batch_size"),
        ("training", "seed = true", "seed"),
        ("training", "bf16 = 1", "bf16"),
        ("data", 'limit = "x"', "limit"),
        ("data", "limit = 0", "limit"),
        ("data", 'columns = "sentence1"', "columns"),
        ("data", "score_scale = 0.0", "score_scale"),
        ("data", "score_scale = -5", "score_scale"),
        ("data", "label_map = { a = 'x' }", "label_map"),
        ("loss", 'matryoshka_dims = ["a", 0]', "matryoshka_dims"),
        ("loss", "matryoshka_dims = [64, 0]", "matryoshka_dims"),
        ("loss", "matryoshka_dims = 64", "matryoshka_dims"),
        ("loss", "options = 5", "options"),
    ],
)
def test_wrong_types_and_values_are_one_error_line(tmp_path, section, line, key):
    from sentvec.errors import SentvecError
    from sentvec.train.config import load_config

    (tmp_path / "pairs.jsonl").write_text('{"anchor": "a", "positive": "b"}\n', encoding="utf8")
    parts = {"data": "", "loss": "", "training": ""}
    parts[section] = line
    cfg = tmp_path / "train.toml"
    text = BASE.format(**parts)
    if line.startswith("max_steps"):
        text = text.replace("max_steps = 1\n", "", 1)
    cfg.write_text(text, encoding="utf8")
    with pytest.raises(SentvecError, match=key):
        load_config(cfg)
    code, out = run_cli(["train", str(cfg)])
    assert code == 2 and "Traceback" not in out and "unexpected" not in out, out
    assert key in out


def test_good_config_still_loads(tmp_path):
    from sentvec.train.config import load_config

    (tmp_path / "pairs.jsonl").write_text('{"anchor": "a", "positive": "b"}\n', encoding="utf8")
    cfg = tmp_path / "train.toml"
    cfg.write_text(
        BASE.format(
            data="limit = 10\nscore_scale = 5\ncolumns = { anchor = 'anchor' }",
            loss="matryoshka_dims = [32, 16]\noptions = { scale = 20.0 }",
            training='warmup_steps = 0\nmax_grad_norm = 1\ndevice = "cpu"\nlr = 1e-4',
        ),
        encoding="utf8",
    )
    c = load_config(cfg)
    assert c.data[0].limit == 10 and c.data[0].score_scale == 5.0
    assert c.loss[0].matryoshka_dims == [32, 16] and c.training.max_grad_norm == 1.0
    assert c.training.lr == 1e-4 and c.training.warmup_steps == 0 and c.training.max_steps == 1
