"""HTML-to-text libraries on exported help-centre pages (``examples/help-centre/*.html``: an
article inside a site's header, navigation, related links, footer and cookie notice): share of
the article's sentences kept, boilerplate strings let through, lines, speed. The measurement
that picked trafilatura for a page's main content.

The others are not sentvec's dependencies; in a throwaway venv beside it:
    pip install html-text inscriptis beautifulsoup4 resiliparse
    python benchmarks/html_to_text.py
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOILERPLATE = [
    "All rights reserved",
    "Contact support",
    "Related articles",
    "Was this article helpful",
    "We use cookies",
    "Search the help centre",
    "Ledgerline Help Centre",
    "Updated 3 months ago",
    "dataLayer",
]


def norm(text: str) -> str:
    return re.sub(r"\s+([,.;:!?])", r"\1", " ".join(text.split()))


def article_sentences(html: str) -> list[str]:
    """The reference: every paragraph, item and heading of the page's <article> (lxml)."""
    import lxml.html

    article = lxml.html.fromstring(html).xpath("//article")[0]
    return [
        norm(el.text_content())
        for el in article.iter("p", "li", "h2")
        if "article-meta" not in (el.get("class") or "")
    ]


def trafilatura_text(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, favor_recall=True, include_tables=True) or ""


def html_text_page(html: str) -> str:
    import html_text

    return html_text.extract_text(html, guess_layout=True)


def html_text_article(html: str) -> str:
    import html_text
    import lxml.html

    tree = lxml.html.fromstring(html)
    root = (tree.xpath("//article") or tree.xpath("//main") or tree.xpath("//body"))[0]
    return html_text.extract_text(root, guess_layout=True)


def inscriptis_text(html: str) -> str:
    from inscriptis import get_text

    return get_text(html)


def soup_main(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "lxml")
    root = soup.find("main") or soup.find("article") or soup.body
    for tag in root.find_all(["script", "style", "nav", "aside", "footer", "header", "form"]):
        tag.decompose()
    return root.get_text("\n")


def resiliparse_main(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(
        HTMLTree.parse(html), main_content=True, links=False, list_bullets=True
    )


CANDIDATES: dict[str, Callable[[str], str]] = {
    "trafilatura": trafilatura_text,
    "html-text (whole page)": html_text_page,
    "html-text (<article> picked by hand)": html_text_article,
    "inscriptis": inscriptis_text,
    "BeautifulSoup (<main>, tags stripped by hand)": soup_main,
    "resiliparse (main_content)": resiliparse_main,
}


def main() -> None:
    pages = {
        p.name: p.read_text(encoding="utf8")
        for p in sorted((ROOT / "examples/help-centre").glob("*.html"))
    }
    print(f"{len(pages)} pages; {len(BOILERPLATE)} boilerplate strings each")
    print("| library | article sentences kept | boilerplate let through | ms/page |")
    print("|---|---|---|---|")
    for name, extract in CANDIDATES.items():
        try:
            extract(next(iter(pages.values())))
        except ImportError as e:
            print(f"| {name} | not installed ({e.name}) | | |")
            continue
        start = time.perf_counter()
        for _ in range(10):
            outs = {p: extract(h) for p, h in pages.items()}
        ms = (time.perf_counter() - start) / 10 / len(pages) * 1000
        kept, leaks = [], 0
        for p, html in pages.items():
            flat = norm(outs[p])
            wanted = article_sentences(html)
            kept.append(sum(s in flat for s in wanted) / len(wanted))
            leaks += sum(b in outs[p] for b in BOILERPLATE)
        share = 100 * sum(kept) / len(kept)
        print(f"| {name} | {share:.1f}% | {leaks}/{len(BOILERPLATE) * len(pages)} | {ms:.2f} |")


if __name__ == "__main__":
    main()
