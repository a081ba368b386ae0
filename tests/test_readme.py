"""Every `sentvec ...` line in the README's command-line section runs and exits 0."""

import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentvec.cli import app

from conftest import SHARED_DATA

README = Path(__file__).resolve().parents[1] / "README.md"


def _examples() -> list[str]:
    lines, inside, section = [], False, ""
    for line in README.read_text(encoding="utf8").splitlines():
        if line.startswith("## "):
            section = line
        if line.startswith("```"):
            inside = not inside
            continue
        if inside and section == "## Command line" and line.startswith("sentvec "):
            lines.append(line.split("  #")[0].strip())
    return lines


def test_readme_has_examples():
    assert len(_examples()) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("line", _examples())
def test_readme_example_runs(line, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs.jsonl").write_text(
        '{"id": "a", "text": "Refunds are possible within 14 days."}\n'
        '{"id": "b", "text": "Dark mode is in Settings."}\n'
    )
    (tmp_path / "sentences.txt").write_text("A man is eating.\nA cat sleeps.\n")
    args = shlex.split(line)[1:]
    args = [a.replace("../shared/data", str(SHARED_DATA)) for a in args]
    if any(str(SHARED_DATA) in a for a in args) and not SHARED_DATA.exists():
        pytest.skip("example reads ../shared/data, absent here")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, (line, result.output, result.exception)
