"""MkDocs hook: the README's sections become the guides, and their links keep working.

``--8<-- "README.md:NAME"`` on a line of a page takes the README's text between
``<!-- --8<-- [start:NAME] -->`` and its end marker (a file name alone takes the whole file).
Links to ``BENCHMARKS.md`` and ``CHANGELOG.md`` go to their pages on the site; a link to any
other file of the repository (``examples/faq.jsonl``, ``benchmarks/serve.py``) goes to it
on the repository's site.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"BENCHMARKS.md": "benchmarks.md", "CHANGELOG.md": "changelog.md"}
INCLUDE = re.compile(r'^--8<-- "([^":]+)(?::([\w-]+))?"$', re.M)
LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)\s]+)\)")


def include(m: re.Match[str]) -> str:
    """The included file, or its section between the start and end markers."""
    text = (ROOT / m.group(1)).read_text(encoding="utf-8")
    if not m.group(2):
        return text
    start, end = f"<!-- --8<-- [start:{m.group(2)}] -->", f"<!-- --8<-- [end:{m.group(2)}] -->"
    if start not in text or end not in text:
        raise ValueError(f"{m.group(1)} has no section {m.group(2)!r}")
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n")


def on_page_markdown(markdown: str, page, config, files) -> str:
    markdown = INCLUDE.sub(include, markdown)
    depth = page.file.src_uri.count("/")
    up = "../" * depth
    repo = config.get("repo_url", "").rstrip("/")

    def fix(m: re.Match[str]) -> str:
        target = m.group(1)
        path, _, anchor = target.partition("#")
        if path in PAGES:
            return f"]({up}{PAGES[path]}{'#' + anchor if anchor else ''})"
        if (ROOT / path).exists() and not (ROOT / "docs" / path).exists():
            return f"]({repo}/blob/main/{target})"
        return m.group(0)

    return LINK.sub(fix, markdown)
