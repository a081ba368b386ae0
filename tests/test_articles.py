"""Help-centre exports as documents: Markdown with front matter and HTML pages with a site's
navigation around the article; a broken file is `file:line` and nothing of the folder is
stored. References: the articles are written here, so their text and fields are known."""

from __future__ import annotations

import json

import pytest

from sentvec.errors import SentvecError
from sentvec.io import count_records, iter_records, read_records

from sentvec_cli_runner import run_cli

MD = """---
title: Refunds and cancellations
url: https://help.example/refunds
category: billing
updated: 2026-03-01
---

# Refunds and cancellations

Annual plans have a **30-day** money-back guarantee.

## How long a refund takes

- Cards: 5 to 10 business days.
- Bank transfers: 3 to 5 business days.
"""

HTML = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Deleting your account – Example Help Centre</title>
<meta name="category" content="account">
<link rel="canonical" href="https://help.example/delete">
</head><body>
<header><nav><a href="/">Home</a> <a href="/contact">Contact support</a></nav></header>
<main><article><h1>Deleting your account</h1>
<p>Deleting your account removes your books and every file you uploaded.</p>
<p>Only the <strong>account owner</strong> can delete the account, under Settings &gt; Privacy.</p>
<ol><li>Your team loses access at once.</li><li>Backups are cleared within 35 days.</li></ol>
</article></main>
<footer><p>All rights reserved. We use cookies to improve your experience.</p></footer>
</body></html>"""


@pytest.fixture()
def centre(tmp_path):
    folder = tmp_path / "centre"
    (folder / "billing").mkdir(parents=True)
    (folder / "billing" / "refunds.md").write_text(MD, encoding="utf8")
    (folder / "delete.html").write_text(HTML, encoding="utf8")
    (folder / ".drafts").mkdir()
    (folder / ".drafts" / "wip.md").write_text("# Not ready\n\nHidden.", encoding="utf8")
    (folder / "notes.txt").write_text("not an article", encoding="utf8")
    return folder


def test_markdown_and_html_articles(centre):
    records = {r.id: r for r in iter_records(centre)}
    assert sorted(records) == ["billing/refunds", "delete"]  # hidden and other files left out
    assert count_records(centre) == 2
    md = records["billing/refunds"]
    assert md.metadata["title"] == "Refunds and cancellations"
    assert md.metadata["url"] == "https://help.example/refunds"
    assert md.metadata["category"] == "billing" and md.metadata["updated"] == "2026-03-01"
    assert md.text.split("\n\n") == [
        "Annual plans have a 30-day money-back guarantee.",
        "How long a refund takes",
        "- Cards: 5 to 10 business days.",
        "- Bank transfers: 3 to 5 business days.",
    ]  # no markup, a block per paragraph, heading or item; the title not repeated
    html = records["delete"]
    assert html.metadata["title"] == "Deleting your account"  # the site's name left out
    assert html.metadata["url"] == "https://help.example/delete"
    assert html.metadata["category"] == "account"
    assert "Only the account owner can delete the account, under Settings > Privacy." in html.text
    assert "Backups are cleared within 35 days." in html.text
    for boilerplate in ("Contact support", "All rights reserved", "cookies", "Home"):
        assert boilerplate not in html.text
    assert read_records(centre / "delete.html")[0].text == html.text  # one file alone


def test_first_heading_is_the_title_without_front_matter(tmp_path):
    (tmp_path / "a.md").write_text("# Dark mode\n\nOpen Settings > Appearance.\n", encoding="utf8")
    (r,) = read_records(tmp_path)
    assert (r.id, r.metadata["title"], r.text) == ("a", "Dark mode", "Open Settings > Appearance.")


def test_broken_files_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: x\ncategory: [a, b\n---\nbody\n", encoding="utf8")
    with pytest.raises(SentvecError, match=r"bad\.md:\d+: broken front matter"):
        read_records(bad)
    latin = tmp_path / "latin.html"
    latin.write_bytes(b"<html><body><p>ok</p>\n<p>caf\xe9</p></body></html>")
    with pytest.raises(SentvecError, match=r"latin\.html:2: not UTF-8"):
        read_records(latin)
    empty = tmp_path / "empty.html"
    empty.write_text("<html><head><title>T</title></head><body></body></html>", encoding="utf8")
    with pytest.raises(SentvecError, match=r"empty\.html:1: no article text found"):
        read_records(empty)
    (tmp_path / "sub").mkdir()
    with pytest.raises(SentvecError, match=r"is a folder with no \.md"):
        read_records(tmp_path / "sub")


@pytest.mark.slow
def test_index_add_of_a_folder_with_a_broken_article_stores_nothing(centre, tmp_path, tiny_encoder):
    store, model = str(tmp_path / "db"), str(tiny_encoder.spec.transformer_path)
    args = ["index", "add", "help", str(centre), "--store", store, "--model", model, "--json"]
    code, out = run_cli(args)
    assert code == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert report["added"] == 2 and report["documents"] == 2
    (centre / "zz-broken.md").write_text("---\ntitle: [\n---\ntext\n", encoding="utf8")
    (centre / "new.md").write_text("# New\n\nA new article.\n", encoding="utf8")
    code, out = run_cli(args)
    assert code == 2 and "zz-broken.md:" in out and "Traceback" not in out
    from sentvec.store import open_collection

    col = open_collection(store, "help")
    assert len(col) == 2 and col.document("new") is None  # the failed add was undone whole
    hits = col.search("refund", 1, mode="text")
    assert hits[0].title == "Refunds and cancellations" and hits[0].url.endswith("/refunds")
