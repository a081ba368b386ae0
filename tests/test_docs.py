"""The documentation site builds with ``mkdocs build --strict`` (a broken link, a missing
section or a docstring mkdocstrings cannot read fails), and its guides are the README's
sections, whose code blocks tests/test_readme.py runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARK = re.compile(r"<!-- --8<-- \[start:([\w-]+)\] -->")
INCLUDE = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$', re.M)


def test_every_readme_section_is_a_page_and_every_include_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    sections = set(MARK.findall(readme))
    included = set()
    for page in (ROOT / "docs").rglob("*.md"):
        for file, section in INCLUDE.findall(page.read_text(encoding="utf8")):
            assert (ROOT / file).exists(), f"{page}: includes a missing file {file}"
            if section:
                assert f"[end:{section}]" in (ROOT / file).read_text(encoding="utf8"), section
                included.add(section)
    assert sections - included == set(), "README sections with no page in docs/"


@pytest.mark.slow
def test_site_builds_strict(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    site = tmp_path / "site"
    html = (site / "guides" / "help-centre" / "index.html").read_text(encoding="utf8")
    guide = re.sub(r"<[^>]+>", "", html)
    assert "sentvec index add" in guide  # the README's section, included
    ref = (site / "reference" / "store" / "index.html").read_text(encoding="utf8")
    assert "Collection" in ref and "search" in ref  # generated from the docstrings
