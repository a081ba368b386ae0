"""The package as users get it: ``python -m build`` makes an sdist and a wheel (the wheel
from the sdist, so a file missing from the sdist fails here); the wheel with its
torch-free extras is installed into a brand-new virtual environment.

``pip install 'sentvec[onnx,store,server]'`` (with the project's constraints) must be enough to
load an exported model, add a file to a collection twice, upsert and search, run the
knowledge-base demo and serve the page with its assets, with no torch anywhere.
This is what a fresh production machine gets; a dependency that only the test venv happens to
have (as ``pylance`` once was) fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

DOCS = [
    {"id": "d1", "text": "Reset your password from the sign-in page.", "category": "account"},
    {"id": "d2", "text": "Invoices are listed under Settings, Billing.", "category": "billing"},
    {"id": "d3", "text": "The cat sits on the mat.", "category": "misc"},
    {"id": "d4", "text": "A man is riding a horse.", "category": "misc"},
]

SCRIPT = r"""
import json, os, subprocess, sys
from pathlib import Path

try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    sys.exit("torch is installed in the deployment venv")

import sentvec

model, work = sys.argv[1], Path(sys.argv[2])
enc = sentvec.load(model, backend="onnx")
vecs = enc.encode([line.strip() for line in open(work / "queries.txt", encoding="utf8")])
json.dump(vecs.tolist(), open(work / "deploy_vectors.json", "w"))

cli = [str(Path(sys.executable).with_name("sentvec"))]
common = ["--model", model, "--backend", "onnx"]
def run(*args):
    out = subprocess.run(cli + list(args), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{args} failed ({out.returncode}): {out.stderr}")
    return out

run("index", "add", "kb", str(work / "docs.jsonl"), *common)
run("index", "add", "kb", str(work / "docs.jsonl"), *common)    # again: skips stored ids
run("index", "upsert", "kb", str(work / "changed.jsonl"), *common)
hits = run("index", "search", "kb", "forgot my password", "-k", "4", "--json").stdout
info = run("index", "info", "kb", "--json").stdout
demo = run("search", "reset my password", *common).stdout  # the shipped knowledge base

import socket, time, urllib.request
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen(cli + ["serve", "--port", str(port), *common])
pages = {}
try:
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    for path in ("/", "/static/app.js", "/static/style.css"):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            pages[path] = [r.status, len(r.read())]
finally:
    server.terminate()
    server.wait(30)
json.dump({"hits": [json.loads(x) for x in hits.splitlines() if x.strip()],
           "info": json.loads(info), "demo": demo, "pages": pages},
          open(work / "deploy_result.json", "w"))
"""


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf8")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_onnx_store_deployment_in_a_clean_venv(tmp_path, make_st_model):
    import sentvec
    from sentvec.backends.onnx.export import export_folder

    model = export_folder(make_st_model("mean", normalize=True), tmp_path / "model-onnx")
    _write_jsonl(tmp_path / "docs.jsonl", DOCS)
    changed = {**DOCS[2], "text": "Forgot my password? Use the reset link."}
    _write_jsonl(tmp_path / "changed.jsonl", [changed])
    queries = ["forgot my password", "where are my invoices"]
    (tmp_path / "queries.txt").write_text("\n".join(queries) + "\n", encoding="utf8")

    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (sdist,) = dist.glob("sentvec-*.tar.gz")
    (wheel,) = dist.glob("sentvec-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for packaged in (
        "sentvec/py.typed",
        "sentvec/data/knowledge_base.jsonl",
        "sentvec/server/static/index.html",
        "sentvec/server/static/app.js",
        "sentvec/server/static/style.css",
        "sentvec/data/int8_calibration.jsonl",
    ):
        assert packaged in names, f"{packaged} is not in the wheel"
    with tarfile.open(sdist) as t:
        assert any(n.endswith("/constraints.txt") or n.endswith("/README.md") for n in t.getnames())

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)  # no system site-packages
    py = env_dir / "bin" / "python"
    install = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    constraints = ROOT / "constraints.txt"
    if constraints.stat().st_size:
        install += ["--constraint", str(constraints)]
    subprocess.run([*install, f"{wheel}[onnx,store,server]"], check=True, timeout=800)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SENTVEC_HOME"] = str(tmp_path / "home")
    script = tmp_path / "deploy.py"
    script.write_text(SCRIPT, encoding="utf8")
    done = subprocess.run(
        [str(py), str(script), str(model), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    # Reference: the same model through the torch backend in this (test) environment.
    reference = sentvec.load(make_st_model("mean", normalize=True))
    deployed = np.array(json.loads((tmp_path / "deploy_vectors.json").read_text()))
    np.testing.assert_allclose(deployed, reference.encode(queries), atol=1e-4)

    result = json.loads((tmp_path / "deploy_result.json").read_text())
    # the shipped knowledge base is in the wheel (a tiny random model: which entry comes first
    # is not the point here; tests/test_cli.py checks the demo's answer with the real model)
    assert result["demo"].startswith("Query: reset my password") and " kb-0" in result["demo"]
    assert all(status == 200 and size > 500 for status, size in result["pages"].values())
    assert result["info"]["documents"] == len(DOCS)  # added twice, upserted once: one per id
    stored = [*DOCS[:2], changed, DOCS[3]]
    scores = (
        reference.encode(stored_texts := [d["text"] for d in stored])
        @ reference.encode([queries[0]])[0]
    )
    expected = [stored[i]["id"] for i in np.argsort(-scores, kind="stable")]
    hits = result["hits"]
    assert [h["id"] for h in hits] == expected
    assert [h["text"] for h in hits] == [stored_texts[i] for i in np.argsort(-scores)]
    np.testing.assert_allclose([h["score"] for h in hits], np.sort(scores)[::-1], atol=1e-3)
