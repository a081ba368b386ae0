"""ONNX backend: parity with sentence-transformers, export caching, the torch-free path, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import sentvec
from sentvec.backends import BACKENDS, create_backend
from sentvec.backends.onnx import runtime as ob
from sentvec.errors import InvalidChoiceError, SentvecError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

SENTENCES = [
    "A man is eating food.",
    "The girl is carrying a baby.",
    "a",
    "",
    "Café naïve résumé — unicode text! 東京 is a city.",
    "Someone in a gorilla costume is playing a set of drums while a monkey watches closely.",
    "How do I reset my password?",
    "zebras giraffes lions elephants " * 4,
]
SRC = str(Path(sentvec.__file__).parents[1])


def _st_encode(folder: Path, texts: list[str]) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu").encode(texts, convert_to_numpy=True)


@pytest.mark.parametrize(
    ("pooling", "dense", "normalize"),
    [
        ("mean", None, False),
        ("cls", None, True),
        ("max", None, False),
        ("mean_sqrt_len_tokens", None, False),
        ("weightedmean", None, False),
        ("lasttoken", None, False),
        ("mean", 24, True),
    ],
)
def test_fp32_matches_sentence_transformers(make_st_model, tmp_path, pooling, dense, normalize):
    folder = make_st_model(pooling, dense=dense, normalize=normalize)
    enc = sentvec.load(folder, backend="onnx", cache_dir=tmp_path)
    got = enc.encode(SENTENCES, batch_size=3)
    want = _st_encode(folder, SENTENCES)
    assert got.shape == want.shape == (len(SENTENCES), dense or 32)
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("lanes", [1, 2])
def test_lanes_run_batches_at_once_in_input_order(make_st_model, tmp_path, lanes):
    folder = make_st_model("mean", normalize=True)
    enc = sentvec.load(folder, backend="onnx", cache_dir=tmp_path, threads=2, lanes=lanes)
    embed, active, most, gave_up = enc.backend.embed, [0], [0], [False]
    changed = threading.Condition()

    def waiting_embed(*args: np.ndarray) -> np.ndarray:
        with changed:  # wait (once, up to 10 s) until as many calls as lanes run at once
            active[0] += 1
            most[0] = max(most[0], active[0])
            changed.notify_all()
            if not gave_up[0] and not changed.wait_for(lambda: most[0] >= lanes, timeout=10):
                gave_up[0] = True
        try:
            return embed(*args)
        finally:
            with changed:
                active[0] -= 1

    enc.backend.embed = waiting_embed  # type: ignore[method-assign]
    texts = [f"{t} {i}" for i, t in enumerate(SENTENCES * 6)]
    want = _st_encode(folder, texts)
    for batch_size in (1, 4, 64):  # 64: one batch, cut into one part per lane
        got = enc.encode(texts, batch_size=batch_size)
        assert np.abs(got - want).max() < 1e-4, batch_size
    assert most[0] == lanes
    assert enc.backend._opened == lanes


def test_a_query_or_two_stays_on_one_session(make_st_model, tmp_path):
    enc = sentvec.load(
        make_st_model("mean"), backend="onnx", cache_dir=tmp_path, threads=2, lanes=2
    )
    enc.encode(["How do I reset my password?", "I forgot my password"])
    assert enc.backend._opened == 1  # a second session would cost start-up time for nothing


def test_more_lanes_than_threads_is_refused(make_st_model, tmp_path):
    with pytest.raises(SentvecError, match="lanes must be between 1 and the threads"):
        sentvec.load(make_st_model("mean"), backend="onnx", cache_dir=tmp_path, threads=2, lanes=3)


def test_export_is_cached_and_reused(make_st_model, tmp_path, monkeypatch):
    from sentvec.backends.onnx import export as onnx_export

    folder = make_st_model("mean")
    first = sentvec.load(folder, backend="onnx", cache_dir=tmp_path)
    files = list(tmp_path.glob("*/model.onnx"))
    assert len(files) == 1 and first.backend.path == files[0]

    def boom(*args, **kwargs):
        raise AssertionError("exported again instead of using the cache")

    monkeypatch.setattr(onnx_export, "export_onnx", boom)
    second = sentvec.load(folder, backend="onnx", cache_dir=tmp_path)
    assert second.backend.path == files[0]
    # A setting baked into the graph gets its own cache entry.
    monkeypatch.undo()
    third = sentvec.load(folder, backend="onnx", cache_dir=tmp_path, pooling="cls")
    assert third.backend.path != files[0]
    assert len(list(tmp_path.glob("*/model.onnx"))) == 2


def test_cache_location_rules(make_st_model, tmp_path, monkeypatch):
    from sentvec.model_format import read_spec

    spec = read_spec(make_st_model("mean"))
    assert ob.cache_folder(spec).parent.parent == spec.transformer_path  # beside the model
    monkeypatch.setenv("SENTVEC_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(ob, "_writable_model_folder", lambda folder: False)
    assert ob.cache_folder(spec).parent == tmp_path / "home" / "onnx"
    monkeypatch.undo()
    assert not ob._writable_model_folder(tmp_path / "lib" / "site-packages" / "pkg" / "model")
    assert not ob._writable_model_folder(tmp_path / "hub" / "models--org--name" / "snapshots")
    assert ob._writable_model_folder(tmp_path)
    assert ob.cache_key(spec) != ob.cache_key(_with(spec, normalize=True))


def _with(spec, **changes):
    import dataclasses

    return dataclasses.replace(spec, **changes)


def test_invalid_backend_names_valid_choices(make_st_model):
    with pytest.raises(InvalidChoiceError) as err:
        create_backend("tensorrt", None)  # type: ignore[arg-type]
    assert all(name in str(err.value) for name in BACKENDS)


def test_cli_rejects_unknown_backend():
    proc = subprocess.run(
        [sys.executable, "-m", "sentvec", "similarity", "a", "b", "--backend", "onnxx"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=60,
    )
    assert proc.returncode == 2
    assert "invalid --backend 'onnxx'" in proc.stderr and "onnx-int8" in proc.stderr


BLOCK_TORCH = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
            raise ImportError(f"{name} is blocked for this test")
        return None
sys.meta_path.insert(0, _Block())
"""


@pytest.mark.slow
def test_exported_folder_loads_without_torch(make_st_model, tmp_path):
    from typer.testing import CliRunner

    from sentvec.cli import app

    folder = make_st_model("mean", dense=24, normalize=True)
    out = tmp_path / "exported"
    result = CliRunner().invoke(app, ["export", str(folder), "--out", str(out), "--int8"])
    assert result.exit_code == 0, result.output
    assert {"model.onnx", "model_int8.onnx", "tokenizer.json", "modules.json"} <= {
        p.name for p in out.iterdir()
    }
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_TORCH)
    script = textwrap.dedent(f"""
        import json, sys, numpy as np, sentvec
        try:
            import torch
        except ImportError:
            pass
        else:
            raise SystemExit("torch was importable")
        rows = {{}}
        for backend in ("onnx", "onnx-int8"):
            enc = sentvec.load({str(out)!r}, backend=backend)
            rows[backend] = enc.encode({SENTENCES!r}).tolist()
        assert not any(m.split(".")[0] in ("torch", "transformers") for m in sys.modules)
        print(json.dumps(rows))
    """)
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{SRC}", "SENTVEC_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    want = _st_encode(folder, SENTENCES)
    assert np.abs(np.asarray(rows["onnx"]) - want).max() < 1e-4
    int8 = np.asarray(rows["onnx-int8"])
    cos = (int8 * want).sum(1) / np.linalg.norm(int8, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.mean() > 0.95  # a random 32-wide model; the real-model bound is tested below
    assert not list(tmp_path.glob("onnx/*")), "the torch-free path must not export"


@pytest.mark.slow
def test_torch_free_without_export_says_how_to_fix(make_st_model, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_TORCH)
    script = (
        f"import sentvec\nsentvec.load({str(make_st_model('max'))!r}, backend='onnx', "
        f"cache_dir={str(tmp_path / 'c')!r})"
    )
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{SRC}"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode != 0
    assert "OnnxExportError" in proc.stderr and "sentvec export" in proc.stderr


@pytest.mark.slow
def test_int8_close_to_fp32_on_packaged_model(tmp_path_factory):
    cache = tmp_path_factory.mktemp("onnx-cache")
    texts = [t for t in SENTENCES if t] + [
        "The stock market fell sharply today after the announcement.",
        "Where can I download my invoices from last year?",
        "A woman is slicing an onion on a wooden board.",
        "The committee postponed the vote until next week.",
    ]
    fp32 = sentvec.load(backend="onnx", cache_dir=cache).encode(texts)
    torch_vecs = sentvec.load().encode(texts)
    assert np.abs(fp32 - torch_vecs).max() < 1e-4
    int8 = sentvec.load(backend="onnx-int8", cache_dir=cache).encode(texts)
    cos = (int8 * fp32).sum(1) / np.linalg.norm(int8, axis=1) / np.linalg.norm(fp32, axis=1)
    assert cos.mean() >= 0.99, cos
