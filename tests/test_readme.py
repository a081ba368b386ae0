"""The README runs as written: every `sentvec` command line and every Python block.

Commands run in README order in one workspace (a copy of ``examples/`` and an empty
``$SENTVEC_HOME``), so ``index add`` comes before ``index search`` just as a reader types them.
Install commands (``make``, ``pip``) are what ``.ci/run`` itself executes; ``make demo`` also
runs here. Lines that need several machines are listed in ``ELSEWHERE`` with the test that
covers them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Lines a single test process cannot run as written, and the test that runs their equivalent.
ELSEWHERE = {
    "torchrun": "tests/test_train_distributed.py (2 processes, and 2 nodes on 127.0.0.1)",
    "pip install": ".ci/run (installs through the Makefile, which runs these lines)",
    "python3 -m venv": ".ci/run (makes a brand-new venv every run)",
    "make test": ".ci/run (runs exactly this)",
    "make lint": "developers' check (ruff and mypy, configured in pyproject.toml)",
    "make bench": "benchmarks need ../shared/data (BENCHMARKS.md)",
    "make docs": "tests/test_docs.py (mkdocs build --strict)",
    "make lock": "re-pins constraints.txt; changes the repo",
    "sentvec serve": "tests/test_web.py and tests/test_server_api.py (a real server process)",
    "SENTVEC_API_KEY=": "tests/test_server_api.py (401 without the key, non-loopback refused)",
    "curl ": "tests/test_server_api.py (the same requests through an HTTP client)",
    "--engine ray": "tests/test_distributed_encode.py (a local Ray cluster; runs this section)",
    "sentvec.bulk": "tests/test_distributed_encode.py (a local Ray cluster)",
    "sentvec distill": "tests/test_static.py (the same command on a tiny model; minutes on MiniLM)",
    "minilm-static": "tests/test_static.py, tests/test_static_cascade.py (a distilled model)",
    "sentvec.integrations": "tests/test_integrations.py (each adapter against its library)",
    "my-reranker": "tests/test_cross*.py (the same commands and calls on a tiny cross-encoder)",
    "sentvec augment": "tests/test_cross_augment.py (the same command on tiny models)",
}


def _blocks() -> list[tuple[str, str, int]]:
    """(language, code, line number) of every fenced block."""
    blocks, lang, start, body = [], None, 0, []
    for n, line in enumerate(README.read_text(encoding="utf8").splitlines(), 1):
        if line.startswith("```"):
            if lang is None:
                lang, start, body = line[3:].strip() or "text", n, []
            else:
                blocks.append((lang, "\n".join(body), start))
                lang = None
            continue
        if lang is not None:
            body.append(line)
    return blocks


def _commands() -> list[tuple[int, str]]:
    out = []
    for lang, code, start in _blocks():
        if lang not in ("bash", "sh", "shell", "console"):
            continue
        pending, first = "", 0
        for i, line in enumerate(code.splitlines()):
            cmd = re.split(r"\s+#", line, maxsplit=1)[0].strip()
            if not cmd or cmd.startswith("#"):
                continue
            first = first if pending else start + 1 + i
            if cmd.endswith("\\"):  # a continued line
                pending += cmd[:-1] + " "
                continue
            out.append((first, pending + cmd))
            pending = ""
    return out


def _python_blocks() -> list[tuple[int, str]]:
    return [(start, code) for lang, code, start in _blocks() if lang == "python"]


def _elsewhere(code: str) -> str | None:
    """The test that runs this command or block instead, if a single process cannot."""
    return next((why for key, why in ELSEWHERE.items() if key in code), None)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", ws / "examples")
    shutil.copytree(ROOT / "src" / "sentvec" / "data", ws / "src" / "sentvec" / "data")
    (ws / "home").mkdir()
    return ws


def _env(ws: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SENTVEC_HOME"] = str(ws / "home")
    env.pop("SENTVEC_STORE", None)
    return env


def test_readme_has_runnable_examples():
    commands = [c for _, c in _commands()]
    assert sum(c.startswith("sentvec ") for c in commands) >= 10
    assert len(_python_blocks()) >= 2
    assert any(c.startswith("make demo") for c in commands)


@pytest.mark.slow
@pytest.mark.parametrize("line,command", _commands(), ids=[f"L{n}" for n, _ in _commands()])
def test_readme_command(line, command, workspace, monkeypatch):
    skip = _elsewhere(command)
    if skip:
        pytest.skip(f"README line {line} runs in {skip}")
    if command.startswith("make demo"):
        args = [*shlex.split(command), f"VENV={sys.prefix}"]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Query:" in done.stdout and "1. [" in done.stdout
        return
    assert command.startswith("sentvec "), f"README line {line}: no runner for {command!r}"
    from sentvec_cli_runner import run_cli

    monkeypatch.chdir(workspace)
    for key, value in _env(workspace).items():
        monkeypatch.setenv(key, value)
    code, output = run_cli(shlex.split(command)[1:])
    assert code == 0, f"README line {line}: {command}\n{output[-3000:]}"
    assert "Traceback" not in output


@pytest.mark.slow
@pytest.mark.parametrize("line,code", _python_blocks(), ids=[f"L{n}" for n, _ in _python_blocks()])
def test_readme_python_block(line, code, workspace, monkeypatch):
    skip = _elsewhere(code)
    if skip:
        pytest.skip(f"README block at line {line} runs in {skip}")
    monkeypatch.chdir(workspace)
    for key, value in _env(workspace).items():
        monkeypatch.setenv(key, value)
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})
