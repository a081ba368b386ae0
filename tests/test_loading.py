"""Loading: default, folders, hub ids via a local cache, and clear errors for broken input."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import sentvec
from sentvec import hub
from sentvec.errors import (
    BrokenModelError,
    InvalidChoiceError,
    ModelNotFoundError,
    OfflineModelError,
)


def test_default_is_the_packaged_minilm(default_encoder):
    assert default_encoder.dim == 384 and default_encoder.max_seq_length == 256
    assert default_encoder.spec.normalize
    assert "site-packages" in str(default_encoder.spec.transformer_path)
    assert hub.resolve("all-MiniLM-L6-v2") == hub.resolve(None) == hub.resolve(hub.DEFAULT_MODEL)


def test_missing_folder_names_the_path(tmp_path):
    path = tmp_path / "nope"
    with pytest.raises(ModelNotFoundError) as err:
        sentvec.load(path)
    assert str(path) in str(err.value) and "no such folder" in str(err.value)
    with pytest.raises(ModelNotFoundError):
        sentvec.load("./not/a/model/dir")


def test_folder_without_config_says_what_is_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError) as err:
        sentvec.load(tmp_path / "empty")
    assert "config.json" in str(err.value)


def test_folder_without_weights(tmp_path, tiny_hf_dir):
    folder = tmp_path / "noweights"
    shutil.copytree(tiny_hf_dir, folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelNotFoundError) as err:
        sentvec.load(folder)
    assert "weights" in str(err.value) and str(folder) in str(err.value)


def test_broken_json_and_bad_pooling(tmp_path, make_st_model):
    folder = tmp_path / "broken"
    shutil.copytree(make_st_model("mean"), folder)
    (folder / "modules.json").write_text("[{not json")
    with pytest.raises(BrokenModelError) as err:
        sentvec.load(folder)
    assert "modules.json" in str(err.value)
    folder2 = tmp_path / "badpool"
    shutil.copytree(make_st_model("mean"), folder2)
    (folder2 / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "median"}))
    with pytest.raises(InvalidChoiceError) as err2:
        sentvec.load(folder2)
    assert "'median'" in str(err2.value) and "weightedmean" in str(err2.value)


def _fake_hub_cache(cache: Path, repo_id: str, source: Path) -> None:
    """Lay out a Hugging Face hub cache entry exactly as huggingface_hub writes it."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(source, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


def test_hub_id_loads_from_the_cache_when_offline(tmp_path, monkeypatch, make_st_model):
    source = make_st_model("mean", normalize=True)
    _fake_hub_cache(tmp_path / "hub", "acme/tiny-embedder", source)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    enc = sentvec.load("acme/tiny-embedder")
    np.testing.assert_allclose(
        enc.encode(["a cat"]), sentvec.load(source).encode(["a cat"]), atol=1e-6
    )


def test_hub_id_offline_and_not_cached_names_id_and_fix(tmp_path, monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OfflineModelError) as err:
        sentvec.load("acme/not-cached-model")
    msg = str(err.value)
    assert "'acme/not-cached-model'" in msg and "HF_HUB_OFFLINE" in msg and "Fix:" in msg


def test_unknown_backend_lists_choices(make_st_model):
    with pytest.raises(InvalidChoiceError) as err:
        sentvec.load(make_st_model("mean"), backend="tensorflow")
    assert "'tensorflow'" in str(err.value) and "torch" in str(err.value)
