"""Help-centre articles: Markdown or HTML files, or a folder of them, as records.

What help desks export (Zendesk, Intercom, Freshdesk, a docs site): one file per article,
Markdown with YAML front matter, or HTML pages with the site's navigation and footer around
the article. Each becomes one :class:`~sentvec.io.Record`:

- **id**: the front matter's ``id``, else the file's path under the folder without its suffix
  (``billing/refunds``), so re-reading the folder gives the same ids.
- **title**: the front matter's ``title``, else the first heading (Markdown) or the page's
  title (HTML, the site's name after a dash or bar left out).
- **url**, **category** and any other front matter field: from the front matter; for HTML
  from ``<link rel="canonical">`` and ``<meta>`` tags (``category``, ``article:section``).
- **text**: the article without markup, one paragraph (heading, list item) per block,
  separated by blank lines.

Parsing is done by libraries picked by measurement (BENCHMARKS.md, "Documents and
passages"): python-frontmatter for the front matter, markdown-it-py for Markdown, and
trafilatura for an HTML page's main content (100% of the article's sentences and none of the
site's navigation, footer or cookie notice on exported pages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sentvec.extras import import_extra
from sentvec.records import InputFileError, Record

MARKDOWN = (".md", ".markdown")
ARTICLE_SUFFIXES = (*MARKDOWN, ".html", ".htm")
_SITE_SUFFIX = re.compile(r"\s+[-–—|·:]\s+[^-–—|·:]{2,60}$")  # "Title – Site name"
_META = {
    "category": ("category", "article:section", "og:article:section"),
    "description": ("description", "og:description"),
}


def article_files(path: Path) -> list[Path]:
    """The article files (``.md``, ``.markdown``, ``.html``, ``.htm``) under a folder, sorted;
    hidden files and folders are left out."""
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in ARTICLE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def iter_articles(
    path: str | Path, on_error: Callable[[InputFileError], None] | None = None
) -> Iterator[Record]:
    """Each article of a folder (or one article file) as a record, in path order.

    :param on_error: given, a broken file is passed to it and skipped instead of raised.
    :raises InputFileError: ``file:line`` of a broken file (undecodable bytes, broken front
        matter, no article text); nothing is yielded for it.
    """
    path = Path(path)
    files = article_files(path) if path.is_dir() else [path]
    for file in files:
        default_id = (
            file.relative_to(path).with_suffix("").as_posix() if path.is_dir() else file.stem
        )
        try:
            record = read_article(file, default_id)
        except InputFileError as e:
            if on_error is None:
                raise
            on_error(e)
            continue
        yield record


def read_article(file: Path, default_id: str | None = None) -> Record:
    """One Markdown or HTML article as a record (see the module docstring).

    :param file: the article. :param default_id: its id when the front matter has none.
    """
    raw = _read_text(file)
    if file.suffix.lower() in MARKDOWN:
        meta, title, text = _markdown(file, raw)
    else:
        meta, title, text = _html(file, raw)
    text = _drop_leading_title(text, title)
    if not text.strip():
        raise InputFileError(
            file, 1, "no article text found. Fix: check the file holds the article's body"
        )
    rid = str(meta.pop("id", None) or default_id or file.stem)
    if title:
        meta["title"] = title
    meta.setdefault("source", file.name)
    return Record(text, rid, meta)


def _read_text(file: Path) -> str:
    """The file as text: UTF-8 (a byte-order mark allowed), else ``file:line`` of the bad byte."""
    data = file.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputFileError(
            file,
            line,
            f"not UTF-8: byte {data[e.start : e.start + 1]!r} at byte offset {e.start}. "
            "Fix: re-save the file as UTF-8",
        ) from None


def _markdown(file: Path, raw: str) -> tuple[dict[str, Any], str, str]:
    frontmatter = import_extra("frontmatter", "articles", "python-frontmatter")
    MarkdownIt = import_extra("markdown_it", "articles", "markdown-it-py").MarkdownIt
    import yaml

    try:
        post = frontmatter.loads(raw)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1: 0-based, +1: the opening ---
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputFileError(
            file, line, f"broken front matter ({problem}). Fix: correct the YAML between the ---"
        ) from None
    meta = {str(k): _plain(v) for k, v in post.metadata.items()}
    title = str(meta.pop("title", "") or "").strip()
    md = MarkdownIt("commonmark")
    tokens = md.parse(post.content)
    if not title:
        title = next(
            (
                tokens[i + 1].content.strip()
                for i, t in enumerate(tokens)
                if t.type == "heading_open" and i + 1 < len(tokens)
            ),
            "",
        )
    html = md.renderer.render(tokens, md.options, {})
    return meta, title, _main_text(f"<html><body><article>{html}</article></body></html>")


def _html(file: Path, raw: str) -> tuple[dict[str, Any], str, str]:
    trafilatura = import_extra("trafilatura", "articles")
    lxml_html = import_extra("lxml.html", "articles", "lxml")
    meta: dict[str, Any] = {}
    tree = lxml_html.fromstring(raw) if raw.strip() else None
    if tree is not None:
        for key, names in _META.items():
            for name in names:
                found = tree.xpath(f'//meta[@name="{name}" or @property="{name}"]/@content')
                if found and str(found[0]).strip():
                    meta[key] = str(found[0]).strip()
                    break
        canonical = tree.xpath('//link[@rel="canonical"]/@href')
        if canonical:
            meta["url"] = str(canonical[0]).strip()
    info = trafilatura.extract_metadata(raw) if raw.strip() else None
    title = (info.title or "").strip() if info is not None else ""
    if not title and tree is not None:
        found = tree.xpath("//title/text()") or tree.xpath("//h1//text()")
        title = _SITE_SUFFIX.sub("", " ".join(str(found[0]).split())) if found else ""
    if info is not None and info.url and "url" not in meta:
        meta["url"] = info.url
    return meta, title, _main_text(raw)


def _main_text(html: str) -> str:
    """The page's main content as plain text, blocks separated by blank lines."""
    import trafilatura

    text = trafilatura.extract(
        html, favor_recall=True, include_tables=True, include_comments=False, deduplicate=False
    )
    blocks = [" ".join(b.split()) for b in (text or "").split("\n")]
    return "\n\n".join(b for b in blocks if b)


def _drop_leading_title(text: str, title: str) -> str:
    """The text without a first block that only repeats the title (it is embedded anyway)."""
    first, _, rest = text.partition("\n\n")
    if title and " ".join(first.split()).lower() == " ".join(title.split()).lower():
        return rest
    return text


def _plain(value: Any) -> Any:
    """A front matter value as JSON (dates as ISO text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


__all__ = ["ARTICLE_SUFFIXES", "article_files", "iter_articles", "read_article"]
