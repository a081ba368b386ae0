"""Bulk encoding on a local Ray cluster (2 CPUs, started here): the output equals one process's
vectors row for row, a finished job is skipped, a model change re-encodes, and a driver killed
with SIGKILL mid-run, run again, gives every row exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

import sentvec  # noqa: E402
from sentvec.bulk import encode_dataset, encode_to_shards, load_shards, read_output  # noqa: E402  # noqa: E402
from sentvec.errors import SentvecError  # noqa: E402
from sentvec.io import read_records  # noqa: E402

from conftest import CORPUS  # noqa: E402

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
SRC = str(Path(sentvec.__file__).resolve().parents[1])
TEXTS = [f"{t} ({i})" for i, t in enumerate(CORPUS * 4)]  # 68 distinct texts


@pytest.fixture(scope="module")
def cluster():
    """A local Ray with 2 CPUs and a small object store; workers import this checkout."""
    if ray.is_initialized():
        ray.shutdown()
    ctx = ray.init(
        num_cpus=2,
        object_store_memory=80 * 1024 * 1024,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": SRC}},
    )
    yield ctx.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "in.txt"
    lines = [*TEXTS[:30], "", "   ", *TEXTS[30:]]  # blank lines are skipped but keep numbering
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return path


def _reference(model, path):
    records = read_records(path)
    return sentvec.load(model).encode([r.text for r in records]), [r.id for r in records]


def test_equals_single_process_and_resumes(cluster, make_st_model, text_file, tmp_path):
    model = str(make_st_model("mean"))
    out = tmp_path / "out"
    first = encode_dataset(text_file, out, model=model, block_rows=9, show_progress=False)
    vectors, ids = read_output(out)
    ref, ref_ids = _reference(model, text_file)
    assert ids == ref_ids and len(ids) == len(TEXTS)
    np.testing.assert_allclose(vectors, ref, atol=1e-6, rtol=0)
    # the single-process shard command gives the same rows
    shard_vectors, shard_ids = load_shards(
        encode_to_shards(
            sentvec.load(model), text_file, tmp_path / "shards", show_progress=False
        ).folder
    )
    assert shard_ids == ids
    np.testing.assert_allclose(vectors, shard_vectors, atol=1e-6, rtol=0)
    assert (first.encoded, first.skipped, first.parts) == (len(TEXTS), 0, 8)

    again = encode_dataset(text_file, out, model=model, block_rows=9, show_progress=False)
    assert (again.encoded, again.skipped) == (0, len(TEXTS))

    other = str(make_st_model("cls"))  # another model: everything again, old parts removed
    changed = encode_dataset(text_file, out, model=other, block_rows=9, show_progress=False)
    assert (changed.encoded, changed.skipped) == (len(TEXTS), 0)
    assert changed.fingerprint == sentvec.load(other).fingerprint != first.fingerprint
    assert len(list((out / "parts").glob("part-*.parquet"))) == changed.parts
    vectors, ids = read_output(out)
    np.testing.assert_allclose(vectors, _reference(other, text_file)[0], atol=1e-6, rtol=0)


def test_folder_of_jsonl_and_parquet(cluster, make_st_model, tmp_path):
    """A folder is read file by file in name order: a JSONL file, then two Parquet files (their
    row groups are the blocks); ids come from the id field."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    model = str(make_st_model("mean"))
    rows = [{"id": f"doc-{i}", "body": t} for i, t in enumerate(TEXTS)]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows[:20]), encoding="utf8"
    )
    table = pa.table({"id": [r["id"] for r in rows], "body": TEXTS})
    pq.write_table(table.slice(20, 30), folder / "b.parquet", row_group_size=16)
    pq.write_table(table.slice(50), folder / "c.parquet", row_group_size=16)
    result = encode_dataset(
        folder, tmp_path / "out", model=model, normalize=True, block_rows=8, show_progress=False
    )
    assert result.parts == 3 + 2 + 2
    vectors, ids = read_output(tmp_path / "out")
    assert ids == [r["id"] for r in rows]
    ref = sentvec.load(model).encode(TEXTS, normalize=True)
    np.testing.assert_allclose(vectors, ref, atol=1e-6, rtol=0)


def test_cli_engine_ray(cluster, make_st_model, text_file, tmp_path):
    from typer.testing import CliRunner

    from sentvec.cli import app

    model = str(make_st_model("mean"))
    out = tmp_path / "cli"
    args = ["encode", str(text_file), "--out", str(out), "--engine", "ray", "-m", model]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert f"{len(TEXTS)} vectors" in res.output
    vectors, ids = read_output(out)
    ref, ref_ids = _reference(model, text_file)
    assert ids == ref_ids
    np.testing.assert_allclose(vectors, ref, atol=1e-6, rtol=0)
    bad = CliRunner().invoke(app, ["encode", str(text_file), "--out", str(out), "--engine", "x"])
    assert isinstance(bad.exception, SentvecError) and "--engine" in str(bad.exception)


def test_killed_job_rerun_gives_each_row_once(cluster, make_st_model, text_file, tmp_path):
    model = str(make_st_model("mean"))
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, str(HERE)])}
    cmd = [sys.executable, str(HERE / "ray_encode_worker.py"), cluster, model]
    proc = subprocess.Popen([*cmd, str(text_file), str(out), SRC], env=env)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "parts").glob("part-*.parquet"))) < 2:
            assert proc.poll() is None, "the worker ended before it could be killed"
            assert time.monotonic() < deadline, "no block finished within 120 s"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    done = len(list((out / "parts").glob("part-*.parquet")))
    assert not (out / "manifest.json").exists() and 2 <= done < 14  # 14 blocks of 5 rows

    result = encode_dataset(text_file, out, model=model, block_rows=5, show_progress=False)
    vectors, ids = read_output(out)
    ref, ref_ids = _reference(model, text_file)
    assert ids == ref_ids and len(set(ids)) == len(TEXTS)
    np.testing.assert_allclose(vectors, ref, atol=1e-6, rtol=0)
    assert result.skipped >= 2 * 5 and result.encoded + result.skipped == len(TEXTS)
    assert len(list((out / "parts").glob("*"))) == result.parts  # no leftovers, no temp files


README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Beyond one machine: Ray Data and multi-node training"


def _readme_blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block in this feature's README section."""
    text = README.read_text(encoding="utf8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    chunks = text.split("```")[1::2]
    return [(c.split("\n", 1)[0], c.split("\n", 1)[1]) for c in chunks]


def test_readme_examples_run(cluster, tmp_path, monkeypatch):
    """The local `--engine ray` command and the Python example, as written (run from a clone:
    the shipped knowledge base), on the test's Ray cluster; the default model."""
    from typer.testing import CliRunner

    from sentvec.cli import app

    root = README.parent
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").symlink_to(root / "src")  # the paths of a clone
    lines = [
        line.split("  #")[0].strip()
        for lang, code in _readme_blocks()
        if lang == "bash"
        for line in code.splitlines()
        if line.startswith("sentvec encode") and "--address" not in line
    ]
    assert lines
    for line in lines:
        res = CliRunner().invoke(app, line.split()[1:])
        assert res.exit_code == 0, (line, res.output, res.exception)
    python = [code for lang, code in _readme_blocks() if lang == "python"]
    assert len(python) == 1
    exec(python[0], {})  # same folder, other blocks: encoded again, the old part removed
    vectors, ids = read_output(tmp_path / "kb-vectors")
    records = read_records(root / "src/sentvec/data/knowledge_base.jsonl")
    assert ids == [r.id for r in records] and vectors.shape == (len(records), 384)
