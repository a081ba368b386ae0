"""Bulk encoding into shards: contents, manifest, checksums, resume after a real kill."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sentvec
from sentvec.bulk import ShardError, encode_to_shards, load_shards, read_manifest

from conftest import CORPUS
from paced import paced_sentvec

SRC = str(Path(sentvec.__file__).parents[1])


def _corpus(path: Path, n: int) -> list[str]:
    """n distinct lines recombined from the tiny corpus (a blank line is skipped by the reader)."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        a, b = rng.choice(len(CORPUS), 2)
        lines.append(f"{CORPUS[a]} {i} {CORPUS[b].lower()}")
    path.write_text("\n".join(lines[:5]) + "\n\n" + "\n".join(lines[5:]) + "\n", encoding="utf8")
    return lines


def test_shards_equal_one_shot_encode(tiny_encoder, tmp_path):
    lines = _corpus(tmp_path / "in.txt", 230)
    result = encode_to_shards(
        tiny_encoder, tmp_path / "in.txt", tmp_path / "out", shard_size=50, show_progress=False
    )
    assert (result.rows, result.shards, result.resumed_from) == (230, 5, 0)
    vectors, ids = load_shards(tmp_path / "out")
    np.testing.assert_allclose(vectors, tiny_encoder.encode(lines), atol=1e-6)
    assert ids[:6] == ["1", "2", "3", "4", "5", "7"]  # line numbers; line 6 was blank
    manifest = read_manifest(tmp_path / "out")
    assert manifest["complete"] and manifest["rows"] == 230
    assert manifest["model"]["fingerprint"] == tiny_encoder.fingerprint
    ranges = [(s["start"], s["stop"]) for s in manifest["shards"]]
    assert ranges == [(0, 50), (50, 100), (100, 150), (150, 200), (200, 230)]
    for shard in manifest["shards"]:
        digest = hashlib.sha256((tmp_path / "out" / shard["file"]).read_bytes()).hexdigest()
        assert digest == shard["sha256"]


def test_rerun_of_finished_folder_encodes_nothing(tiny_encoder, tmp_path):
    _corpus(tmp_path / "in.txt", 40)
    encode_to_shards(
        tiny_encoder, tmp_path / "in.txt", tmp_path / "out", shard_size=16, show_progress=False
    )
    again = encode_to_shards(
        tiny_encoder, tmp_path / "in.txt", tmp_path / "out", shard_size=16, show_progress=False
    )
    assert (again.rows, again.resumed_from, again.shards) == (40, 40, 3)


def test_folder_of_another_run_is_refused(tiny_encoder, tmp_path):
    _corpus(tmp_path / "in.txt", 20)
    encode_to_shards(
        tiny_encoder, tmp_path / "in.txt", tmp_path / "out", shard_size=8, show_progress=False
    )
    with pytest.raises(ShardError, match="shard_size"):
        encode_to_shards(
            tiny_encoder, tmp_path / "in.txt", tmp_path / "out", shard_size=9, show_progress=False
        )
    (tmp_path / "out" / "shard-00001.npy").write_bytes(b"garbage")
    with pytest.raises(ShardError, match="checksum"):
        load_shards(tmp_path / "out")


@pytest.mark.slow
def test_resume_after_kill(make_st_model, tiny_encoder, tmp_path):
    """Kill a real `sentvec encode --out DIR` mid-run, run it again, compare to one shot."""
    model = make_st_model("mean", normalize=True)  # the model behind tiny_encoder
    lines = _corpus(tmp_path / "in.txt", 1500)
    out = tmp_path / "shards"
    args = ["encode", str(tmp_path / "in.txt"), "--out", str(out), "--model", str(model)]
    args += ["--shard-size", "50", "--batch-size", "4"]
    cmd = [*paced_sentvec(0.1), *args]  # 30 shards of 50 rows, one encode call each: >= 3 s
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}  # no spin-waits on 2 cores
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    rows = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            rows = json.loads((out / "manifest.json").read_text())["rows"]
        except (OSError, ValueError):  # not written yet
            rows = 0
        if rows >= 150:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = read_manifest(out)["rows"]
    assert 150 <= killed_at < len(lines), "the run finished before it could be killed"
    # the batch size does not change the vectors, so resume unpaced with big batches
    cmd = [sys.executable, "-m", "sentvec", *args[:-1], "64"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{killed_at} resumed" in done.stderr
    vectors, ids = load_shards(out)
    assert len(ids) == len(set(ids)) == len(lines)  # every row exactly once
    np.testing.assert_allclose(vectors, tiny_encoder.encode(lines), atol=1e-5)
    assert not list(out.glob(".*.tmp"))


def test_cli_max_tokens_gives_the_same_vectors(make_st_model, tiny_encoder, tmp_path):
    from typer.testing import CliRunner

    from sentvec.cli import app

    lines = _corpus(tmp_path / "in.txt", 60)
    out = tmp_path / "v.npy"
    args = [
        "encode",
        str(tmp_path / "in.txt"),
        "--out",
        str(out),
        "--max-tokens",
        "40",
        "--model",
        str(make_st_model("mean", normalize=True)),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(out), tiny_encoder.encode(lines), atol=1e-6)


def test_resume_refuses_an_input_edited_past_its_first_mib(tiny_encoder, tmp_path):
    """The manifest keeps a hash of every shard's input rows, not of the file's first MiB."""
    f = tmp_path / "in.txt"
    rows = [f"row {i} " + "x" * 2000 for i in range(1200)]  # ~2.4 MB: shard 2 starts past 1 MiB
    f.write_text("".join(r + "\n" for r in rows))
    args = dict(shard_size=500, show_progress=False)
    first = encode_to_shards(tiny_encoder, f, tmp_path / "out", **args)
    assert first.rows == 1200
    rows[900] = "row 900 edited " + "y" * 1992  # same length, past the first MiB
    f.write_text("".join(r + "\n" for r in rows))
    with pytest.raises(ShardError, match="rows 501-1000"):
        encode_to_shards(tiny_encoder, f, tmp_path / "out", **args)


@pytest.mark.parametrize(
    "text",
    ["{not json", "[]", '{"rows": 1, "shards": [{"file": 3}]}', '{"rows": -1, "shards": []}'],
)
def test_corrupt_manifest_is_a_clear_error(tiny_encoder, tmp_path, text):
    _corpus(tmp_path / "in.txt", 5)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text(text)
    with pytest.raises(ShardError, match=r"manifest\.json"):
        encode_to_shards(tiny_encoder, tmp_path / "in.txt", tmp_path / "out", show_progress=False)
    with pytest.raises(ShardError, match=r"manifest\.json"):
        load_shards(tmp_path / "out")
