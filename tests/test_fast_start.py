"""Fast start: the CLI's default backend is the cached ONNX graph, loaded without torch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import sentvec
from sentvec.cli import _options

pytest.importorskip("onnxruntime")

SRC = str(Path(sentvec.__file__).parents[1])
BLOCK_TORCH = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "transformers", "sentence_transformers"):
                raise ImportError(f"{name} is blocked for this test")
            return None
    sys.meta_path.insert(0, _Block())
""")


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.slow
def test_cli_default_loads_cached_onnx_without_torch(make_st_model, tmp_path):
    from sentence_transformers import SentenceTransformer

    folder = make_st_model("mean", dense=24, normalize=True)
    a, b = "A man is eating food.", "Someone is having a meal in a small cafe."
    env = {**os.environ, "PYTHONPATH": SRC, "SENTVEC_HOME": str(tmp_path / "home")}
    first = _run(["-m", "sentvec", "similarity", a, b, "--model", str(folder)], env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert list(folder.glob(".sentvec-onnx/*/model.onnx")), "first use exports beside the model"
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_TORCH)
    blocked = {**env, "PYTHONPATH": f"{site}{os.pathsep}{SRC}"}
    second = _run(["-m", "sentvec", "similarity", a, b, "--model", str(folder)], blocked)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == first.stdout.strip()
    v = SentenceTransformer(str(folder), device="cpu").encode([a, b])
    want = float(v[0] @ v[1] / np.linalg.norm(v[0]) / np.linalg.norm(v[1]))
    assert abs(float(second.stdout.strip()) - want) < 1e-4
    # the Python API with backend="onnx": vectors within 1e-4 of sentence-transformers, no torch
    script = textwrap.dedent(f"""
        import json, sys, sentvec
        vecs = sentvec.load({str(folder)!r}, backend="onnx").encode({[a, b]!r})
        assert not any(m.split(".")[0] in ("torch", "transformers") for m in sys.modules)
        print(json.dumps(vecs.tolist()))
    """)
    proc = _run(["-c", script], blocked)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = np.asarray(__import__("json").loads(proc.stdout.strip().splitlines()[-1]))
    assert np.abs(got - v).max() < 1e-4


def test_backend_default_and_explicit_choice(monkeypatch):
    from sentvec.cli import app, encode

    seen: list[str | None] = []

    def spy(model, backend=None):
        seen.append(backend)
        raise SystemExit(0)

    monkeypatch.setattr(encode, "load_encoder", spy)
    runner = CliRunner()
    runner.invoke(app, ["similarity", "a", "b"])
    runner.invoke(app, ["similarity", "a", "b", "--backend", "torch"])
    runner.invoke(app, ["similarity", "a", "b", "--backend", "onnx-int8"])
    assert seen == [None, "torch", "onnx-int8"]  # None: load_encoder picks default_backend()
    assert _options.default_backend() == "onnx"


def test_default_falls_back_to_torch(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnxruntime" else real(name, *a),
    )
    assert _options.default_backend() == "torch"
    calls: list[str] = []

    def fake_load(model, backend):
        calls.append(backend)
        if backend == "onnx":
            raise RuntimeError("unsupported architecture")
        return "encoder"

    monkeypatch.setattr("sentvec.encoder.load", fake_load)
    monkeypatch.setattr(_options, "default_backend", lambda: "onnx")
    assert _options.load_encoder(None) == "encoder"
    assert calls == ["onnx", "torch"]
