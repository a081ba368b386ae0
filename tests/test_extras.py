"""Missing extras name the install line: one helper, the CLI's exit code and message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentvec.errors import MissingExtraError
from sentvec.extras import import_extra

ROOT = Path(__file__).resolve().parent.parent


def test_import_extra_returns_the_module():
    import json

    assert import_extra("json", "core") is json


def test_missing_module_names_package_and_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn raises ModuleNotFoundError
    with pytest.raises(
        MissingExtraError, match=r"'scikit-learn' package\. Fix: pip install 'sentvec\[apps\]'"
    ):
        import_extra("sklearn", "apps", "scikit-learn")


def test_a_broken_dependency_is_quoted(tmp_path, monkeypatch):
    """The package is there but its own import fails (as trafilatura did without
    lxml_html_clean): the message says so instead of claiming the package is missing."""
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text("import not_there_at_all\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MissingExtraError) as e:
        import_extra("brokenpkg", "articles")
    assert "importing it failed: No module named 'not_there_at_all'" in str(e.value)
    assert "pip install 'sentvec[articles]'" in str(e.value)


def test_serve_without_the_server_extra_prints_the_install_line():
    code = (
        "import sys; sys.modules['uvicorn'] = None; "
        "sys.argv = ['sentvec', 'serve', '--port', '8765'];"
        "from sentvec.cli import main; main()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert r.returncode == 2, r.stderr
    assert "error:" in r.stderr and "pip install 'sentvec[server]'" in r.stderr
    assert "bug" not in r.stderr and "Traceback" not in r.stderr
