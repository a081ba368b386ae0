"""The web page in a real browser: Playwright driving Debian's chromium against a real
``sentvec serve`` (started through the CLI) on an empty store, used as a support team would:
upload a help centre, review and apply it, search with the answer highlighted, expand the
article, narrow by a facet, judge a hit and score the judgments, switch collections, and a
420 px wide window. Every check compares the page with the API or the store. Screenshots land
in out/screenshots/."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sentvec.io import read_records

ROOT = Path(__file__).resolve().parent.parent
HELP_CENTRE = ROOT / "examples" / "help-centre"
KB = ROOT / "src" / "sentvec" / "data" / "knowledge_base.jsonl"
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUERY = "how long does a card refund take"
pytestmark = pytest.mark.slow


def ensure_chromium() -> str:
    """Debian's chromium (Playwright's own browser download cannot work offline)."""
    if not Path(CHROMIUM).exists() and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"], check=True, capture_output=True
        )
    assert Path(CHROMIUM).exists(), "install Debian's chromium: apt-get install -y chromium"
    return CHROMIUM


def help_centre_jsonl(path: Path) -> int:
    """The help-centre articles as JSONL (title, url, category, text) with one broken line
    in the middle; returns the line number of the broken one."""
    lines = []
    for r in read_records(HELP_CENTRE):
        lines.append(json.dumps({"id": r.id, "text": r.text, **r.metadata}))
    broken = 4
    lines.insert(broken - 1, '{"id": "broken", "text": "unterminated')
    path.write_text("\n".join(lines) + "\n", encoding="utf8")
    return broken


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`sentvec serve` with the packaged model over an empty store."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp_path_factory.mktemp("collections")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SENTVEC_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentvec", "serve", "--port", str(port), "--store", str(root)],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "sentvec serve exited"
            time.sleep(0.3)
        yield url, root
    finally:
        proc.terminate()
        proc.wait(20)


def boxes_overlap(a, b):
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_a_support_team_runs_its_help_centre_from_the_page(served, tmp_path):
    from playwright.sync_api import sync_playwright

    url, root = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    upload = tmp_path / "helpcentre.jsonl"
    broken_line = help_centre_jsonl(upload)
    articles = len(list(HELP_CENTRE.iterdir()))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(url)
        page.locator("#manage").wait_for(state="visible")  # an empty store opens the manager

        # upload with one broken line: the error is listed, the rest is offered as new
        page.locator("#upload-name").fill("helpcentre")
        page.locator("#upload-file").set_input_files(str(upload))
        page.locator("#upload-form button[type=submit]").click()
        card = page.locator(".job[data-status=review]")
        card.wait_for(timeout=60_000)
        errors = card.locator(".job-errors li").all_text_contents()
        assert len(errors) == 1 and f"helpcentre.jsonl:{broken_line}" in errors[0]
        assert f"{articles} new" in card.locator(".job-diff").inner_text()
        page.screenshot(path=str(SHOTS / "upload-review.png"), full_page=True)

        second = context.new_page()  # another tab sees the same job
        second.goto(url)
        job_id = card.get_attribute("data-id")
        if second.locator("#manage").is_hidden():
            second.locator("#manage-toggle").click()
        second.locator(f".job[data-id='{job_id}']").wait_for()

        card.locator("button.apply").click()
        page.locator(f".job[data-id='{job_id}'][data-status=done]").wait_for(timeout=120_000)
        second.locator(f".job[data-id='{job_id}'][data-status=done]").wait_for(timeout=30_000)
        second.close()
        page.wait_for_function("document.querySelector('#collection').value === 'helpcentre'")
        row = page.locator("#collections-table tr[data-name=helpcentre] td").all_text_contents()
        info = httpx.get(f"{url}/collections/helpcentre").json()
        assert row[1] == str(info["documents"]) == str(articles)
        assert row[2] == str(info["passages"])
        page.screenshot(path=str(SHOTS / "upload-done.png"), full_page=True)
        page.locator("#manage-toggle").click()

        # the map of the collection: labels inside the frame and apart
        api_map = httpx.get(f"{url}/collections/helpcentre/map", timeout=300).json()
        page.wait_for_function(
            f"document.querySelectorAll('#map circle').length === {len(api_map['points'])}"
        )
        frame = page.locator("#map").bounding_box()
        labels = [t.bounding_box() for t in page.locator("#map text.label").all()]
        assert len(labels) == len(api_map["clusters"]) >= 2
        for b in labels:
            assert (
                frame["x"] - 1 <= b["x"] and b["x"] + b["width"] <= frame["x"] + frame["width"] + 1
            )
            assert (
                frame["y"] - 1 <= b["y"]
                and b["y"] + b["height"] <= frame["y"] + frame["height"] + 1
            )
        assert not any(boxes_overlap(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :])

        # search as you type: the right article, the answer highlighted as the API found it
        want = httpx.post(
            f"{url}/collections/helpcentre/search", json={"query": QUERY, "mode": "hybrid", "k": 5}
        ).json()["hits"]
        page.locator("#query").press_sequentially(QUERY, delay=15)
        page.wait_for_function(
            f"document.querySelector('#results').dataset.query === {QUERY!r} && "
            f"document.querySelectorAll('#results li.hit').length === {len(want)}"
        )
        got = page.locator("#results li.hit").evaluate_all("els => els.map(e => e.dataset.id)")
        assert got == [h["id"] for h in want]
        assert want[0]["id"] == "refunds-and-cancellations"
        first = page.locator("#results li.hit").first
        mark = first.locator("mark.answer").inner_text()
        assert mark == want[0]["answer"]
        assert "5 to 10 business days" in mark  # the sentence that answers the question
        title = first.locator("a.hit-title")
        assert title.get_attribute("href") == want[0]["url"]
        assert first.locator(".chip").inner_text() == "billing"
        assert first.locator(".hit-score").inner_text() == f"similarity {want[0]['score']:.2f}"
        page.screenshot(path=str(SHOTS / "search.png"))

        # show the whole article in place, paragraphs kept, the answer still marked
        doc = httpx.get(f"{url}/collections/helpcentre/documents/{want[0]['id']}").json()
        first.locator("button.expand").click()
        first.locator(".hit-text.whole").wait_for()
        paragraphs = first.locator(".hit-text.whole p").all_inner_texts()
        assert paragraphs == [s.strip() for s in doc["text"].split("\n\n") if s.strip()]
        assert first.locator(".hit-text.whole mark.answer").inner_text() == mark
        page.screenshot(path=str(SHOTS / "article.png"), full_page=True)
        first.locator("button.copy-answer").click()  # what lands on the clipboard
        page.wait_for_function(
            "document.querySelector('#results li.hit button.copy-answer').dataset.copied === "
            f"{want[0]['answer']!r}"
        )
        first.locator("button.copy-link").click()
        page.wait_for_function(
            "document.querySelector('#results li.hit button.copy-link').dataset.copied === "
            f"{want[0]['url']!r}"
        )

        # the search is in the URL: a shared link opens the same search
        assert "q=how+long" in page.url and "mode=hybrid" in page.url

        # a facet narrows the results to its value
        facet = page.locator("#facets select[data-column=category]")
        facet.select_option("account")
        page.wait_for_function(
            "[...document.querySelectorAll('#results li')].length > 0 && "
            "[...document.querySelectorAll('#results li.hit .chip')]"
            ".every(e => e.textContent === 'account') && "
            "location.search.includes('f.category=account')"
        )
        filtered = httpx.post(
            f"{url}/collections/helpcentre/search",
            json={"query": QUERY, "mode": "hybrid", "k": 5, "filters": {"category": "account"}},
        ).json()["hits"]
        shown = page.locator("#results li.hit").evaluate_all("els => els.map(e => e.dataset.id)")
        assert shown == [h["id"] for h in filtered]
        shared = context.new_page()
        shared.goto(page.url)
        shared.wait_for_function(
            f"document.querySelectorAll('#results li.hit').length === {len(filtered)}"
        )
        assert shared.locator("#query").input_value() == QUERY
        assert shared.locator("#facets select[data-column=category]").input_value() == "account"
        shared.close()
        facet.select_option("")

        # nonsense: the no-good-match state, not five weak hits
        page.locator("#query").fill("zqxv wplk jjrt")
        page.locator("#results li.no-match").wait_for()
        assert page.locator("#results li.hit").count() == 0
        assert "no good match" in page.locator("#results li.no-match").inner_text().lower()
        page.screenshot(path=str(SHOTS / "no-match.png"))

        # a thumbs up becomes a judgment that `sentvec eval judgments` scores
        page.locator("#query").fill(QUERY)
        page.wait_for_function(
            f"document.querySelector('#results').dataset.query === {QUERY!r} && "
            "document.querySelectorAll('#results li.hit').length > 0"
        )
        page.locator("#results li.hit").first.locator("button.judge.up").click()
        page.locator("#results li.hit button.judge.up.chosen").wait_for()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "sentvec",
                "eval",
                "judgments",
                "helpcentre",
                "--store",
                str(root),
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        (scores,) = json.loads(r.stdout)
        assert scores["queries"] == 1 and scores["judgments"] == 1
        assert scores["hit@1"] == 1.0  # the judged article is first for its query

        # a second collection: switching clears the old map at once, then draws the new one
        kb_docs = [json.loads(line) for line in KB.read_text(encoding="utf8").splitlines()]
        docs = [
            {
                "id": d["id"],
                "text": d["answer"],
                "title": d["question"],
                "metadata": {"category": d["category"]},
            }
            for d in kb_docs
        ]
        assert (
            httpx.post(
                f"{url}/collections/faq/documents", json={"documents": docs}, timeout=300
            ).status_code
            == 200
        )
        page.reload()
        page.wait_for_function(
            f"document.querySelectorAll('#map circle').length === {len(api_map['points'])}"
        )
        old_ids = set(page.locator("#map circle").evaluate_all("els => els.map(e => e.dataset.id)"))
        page.locator("#collection").select_option("faq")
        left = page.locator("#map circle").evaluate_all("els => els.map(e => e.dataset.id)")
        assert not old_ids & set(left)  # no stale point, even before the new map arrives
        assert page.locator("#cluster-list li").count() == 0
        page.wait_for_function(f"document.querySelectorAll('#map circle').length === {len(docs)}")
        page.screenshot(path=str(SHOTS / "switch.png"))

        # 420 px wide: the layout stacks and the map stays on screen
        narrow = context.new_page()
        narrow.set_viewport_size({"width": 420, "height": 900})
        narrow.goto(f"{url}/?c=faq")
        narrow.wait_for_function(f"document.querySelectorAll('#map circle').length === {len(docs)}")
        box = narrow.locator("#map").bounding_box()
        width = narrow.evaluate("document.documentElement.scrollWidth")
        assert box["x"] >= 0 and box["x"] + box["width"] <= 420 and width <= 420
        narrow.locator("#map").scroll_into_view_if_needed()
        narrow.screenshot(path=str(SHOTS / "narrow-420.png"), full_page=True)
        browser.close()
