"""Issue 21 defect 8: a model folder whose weights do not fit the architecture its config
names (model_type changed, a cut weights file) is refused with the weight names, instead of
loading random weights; the CLI prints one `error:` line (exit 2)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import sentvec
from sentvec.errors import SentvecError

from sentvec_cli_runner import run_cli


def retyped(folder, tmp_path, model_type):
    copy = tmp_path / f"m-{model_type}"
    shutil.copytree(folder, copy)
    cfg_file = copy / "config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["model_type"] = model_type
    cfg_file.write_text(json.dumps(cfg))
    return copy


# (roberta is not listed: BERT's weight names and shapes fit it, so every weight is loaded)
@pytest.mark.parametrize("model_type", ["gpt2", "t5", "distilbert", "electra_x"])
def test_another_architecture_is_refused(make_st_model, tmp_path, model_type):
    folder = retyped(make_st_model("mean", normalize=True), tmp_path, model_type)
    with pytest.raises(SentvecError) as e:
        sentvec.load(folder)
    msg = str(e.value)
    assert "do not match" in msg or "could not load" in msg, msg
    code, out = run_cli(["encode", "hello", "--model", str(folder)])
    assert code == 2 and "Traceback" not in out and out.count("error:") == 1, out


def test_missing_weights_are_named(make_st_model, tmp_path):
    from safetensors.torch import load_file, save_file

    copy = tmp_path / "cut"
    shutil.copytree(make_st_model("mean", normalize=True), copy)
    weights = load_file(copy / "model.safetensors")
    gone = sorted(k for k in weights if "encoder.layer.1." in k)
    save_file({k: v for k, v in weights.items() if k not in gone}, copy / "model.safetensors")
    with pytest.raises(SentvecError, match="weights missing") as e:
        sentvec.load(copy)
    assert gone[0].removeprefix("bert.") in str(e.value) or "encoder.layer.1." in str(e.value)


def test_matching_folder_still_loads_the_same(make_st_model):
    folder = make_st_model("mean", normalize=True)
    a = sentvec.load(folder).encode(["a man eats food"])
    b = sentvec.load(folder).encode(["a man eats food"])
    np.testing.assert_array_equal(a, b)
