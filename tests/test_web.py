"""The web page in a real browser: Playwright driving Debian's chromium against a real
``sentvec serve`` (started through the CLI). Screenshots land in out/screenshots/."""

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

ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`sentvec serve` with the packaged model and the shipped knowledge base as a collection."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = tmp_path_factory.mktemp("collections")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SENTVEC_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sentvec", "serve", "--port", str(port), "--root", str(root)],
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
        docs = []
        for line in KB.read_text(encoding="utf8").splitlines():
            row = json.loads(line)
            docs.append(
                {
                    "id": row["id"],
                    "text": f"{row['question']} {row['answer']}",
                    "metadata": {"category": row["category"], "question": row["question"]},
                }
            )
        r = httpx.post(f"{url}/collections/kb/documents", json={"documents": docs}, timeout=300)
        assert r.status_code == 200, r.text
        yield url, len(docs)
    finally:
        proc.terminate()
        proc.wait(20)


def test_search_round_trip_and_map(served):
    from playwright.sync_api import sync_playwright

    url, rows = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    api_map = httpx.get(f"{url}/collections/kb/map", timeout=300).json()
    query = "I forgot my password"
    want = httpx.post(
        f"{url}/collections/kb/search", json={"query": query, "mode": "hybrid", "k": 5}
    ).json()["hits"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.wait_for_function(f"document.querySelectorAll('#map circle').length === {rows}")
        labels = page.locator("#map text.label")
        assert labels.count() == len(api_map["clusters"]) >= 2
        texts = labels.all_text_contents()
        assert texts == [c["label"] for c in api_map["clusters"]]
        assert all(t and t.strip() for t in texts)
        page.screenshot(path=str(SHOTS / "map.png"))

        page.locator("#query").press_sequentially(query, delay=20)  # search as you type
        page.wait_for_function(  # the answer to the whole query, not to a prefix typed earlier
            f"document.querySelector('#results').dataset.query === {query!r} && "
            "document.querySelectorAll('#results li').length === 5"
        )
        got = page.locator("#results li").evaluate_all("els => els.map(e => e.dataset.id)")
        assert got == [h["id"] for h in want]
        assert query.split()[-1] in page.locator("#results li").first.inner_text().lower()
        hits = page.locator("#map circle.hit").evaluate_all("els => els.map(e => e.dataset.id)")
        assert sorted(hits) == sorted(h["id"] for h in want)  # the hits light up on the map
        page.screenshot(path=str(SHOTS / "search.png"))

        page.locator("#filters").fill('{"category": "billing"}')
        page.locator("#filters").dispatch_event("change")
        page.wait_for_function(
            "[...document.querySelectorAll('#results .hit-meta')].length > 0 && "
            "[...document.querySelectorAll('#results .hit-meta')]"
            ".every(e => JSON.parse(e.textContent).category === 'billing')"
        )

        first = page.locator("#map circle").first
        first.hover()
        tip = page.locator("#tooltip")
        tip.wait_for(state="visible")
        point = next(p for p in api_map["points"] if p["id"] == first.get_attribute("data-id"))
        assert tip.inner_text().strip()[:40] == point["text"][:40]

        cluster = api_map["clusters"][0]
        labels.first.click()
        page.wait_for_function(
            f"document.querySelectorAll('#cluster-list li').length === {cluster['size']}"
        )
        page.screenshot(path=str(SHOTS / "cluster.png"), full_page=True)
        browser.close()
