"""Running a knowledge base over HTTP: uploads with per-line errors and a diff, background
ingest that resumes after a kill, collection details and drop, facets, judgments. Each
outcome is checked against the store itself (what `Collection` holds), both backends."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from sentvec.server import Settings, create_app
from sentvec.store import open_collection

from store_backends import location, pg_server  # noqa: F401  (fixtures)

NAME = "tiny"
ROOT = Path(__file__).resolve().parent.parent
HELP_CENTRE = ROOT / "examples" / "help-centre"


@pytest.fixture()
def client(tiny_encoder, location):  # noqa: F811
    app = create_app(
        Settings(models={NAME: None}, collections=location), encoders={NAME: tiny_encoder}
    )
    with TestClient(app) as c:
        c.location = location
        yield c


def wait_job(client, job_id, states=("review", "done", "failed"), timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job['status']}")


def jsonl(rows):
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def upload(client, name, body, filename, **params):
    r = client.post(
        f"/collections/{name}/uploads", params={"filename": filename, **params}, content=body
    )
    assert r.status_code == 202, r.text
    return r.json()


ROWS = [
    {
        "id": f"d{i}",
        "title": f"Article {i}",
        "text": f"How to do task number {i}. " * 20,
        "category": ["billing", "account", "security"][i % 3],
    }
    for i in range(30)
]


def test_upload_with_a_broken_line_stores_the_rest_and_lists_the_error(client):
    body = jsonl(ROWS[:10]) + b'{"id": "bad", "text": \n' + jsonl(ROWS[10:20])
    job = upload(client, "kb", body, "kb.jsonl")
    job = wait_job(client, job["id"])
    assert job["status"] == "review", job
    assert job["error_count"] == 1
    assert job["errors"][0]["line"] == 11 and "not valid JSON" in job["errors"][0]["message"]
    assert job["diff"]["new"] == 20 and job["diff"]["collection_exists"] is False
    assert job["passages_total"] > 0
    r = client.post(f"/jobs/{job['id']}/apply", json={})
    assert r.status_code == 202
    job = wait_job(client, job["id"], ("done", "failed"))
    assert job["status"] == "done", job
    assert job["passages_done"] == job["passages_total"]
    col = open_collection(client.location, "kb")
    assert col.document_ids() == sorted(r["id"] for r in ROWS[:20])  # the store, not the job
    assert job["result"]["passages"] == col.count_passages()
    # a second apply of a finished job is refused
    assert client.post(f"/jobs/{job['id']}/apply", json={}).status_code == 409


def test_reupload_diff_updates_changed_and_removes_missing(client):
    first = wait_job(client, upload(client, "kb", jsonl(ROWS[:20]), "kb.jsonl", apply=True)["id"])
    assert first["status"] == "done", first
    changed = [dict(r) for r in ROWS[5:25]]
    changed[0]["text"] = "Completely new wording of article five."
    job = wait_job(client, upload(client, "kb", jsonl(changed), "kb.jsonl")["id"])
    d = job["diff"]
    assert (d["new"], d["changed"], d["unchanged"], d["removed"]) == (5, 1, 14, 5)
    assert d["changed_ids"] == ["d5"] and d["removed_ids"] == ["d0", "d1", "d2", "d3", "d4"]
    client.post(f"/jobs/{job['id']}/apply", json={"remove_missing": True})
    job = wait_job(client, job["id"], ("done", "failed"))
    assert job["status"] == "done", job
    assert job["result"]["removed"] == 5
    col = open_collection(client.location, "kb")
    assert col.document_ids() == sorted(r["id"] for r in changed)
    assert col.document("d5").text == "Completely new wording of article five."
    # the same upload again: nothing to do
    again = wait_job(client, upload(client, "kb", jsonl(changed), "kb.jsonl")["id"])
    assert again["diff"]["unchanged"] == 20 and again["todo"] == 0


def test_zip_of_articles_with_a_broken_one(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(HELP_CENTRE.iterdir()):
            z.write(f, f"help/{f.name}")
        z.writestr("help/broken.md", "---\ntitle: x\ncategory: [a, b\n---\nbody\n")
    job = wait_job(
        client,
        upload(client, "hc", buf.getvalue(), "help.zip", apply=True)["id"],
        ("done", "failed"),
    )
    assert job["status"] == "done", job
    assert job["error_count"] == 1 and job["errors"][0]["file"] == "help/broken.md"
    col = open_collection(client.location, "hc")
    assert len(col) == len(list(HELP_CENTRE.iterdir()))
    facets = client.get("/collections/hc/facets").json()["facets"]
    assert [f["column"] for f in facets] == ["category"]  # url, title, source: one per doc
    cats = facets[0]
    want = {}
    for h in col.get(col.document_ids()):
        want[h.metadata["category"]] = want.get(h.metadata["category"], 0) + 1
    assert {v["value"]: v["count"] for v in cats["values"]} == want


def test_zip_member_outside_the_folder_is_refused(client):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../evil.md", "# x\n\nbody text here.\n")
    job = wait_job(client, upload(client, "hc", buf.getvalue(), "evil.zip")["id"])
    assert job["status"] == "failed" and "outside the folder" in job["message"]


def test_bad_upload_requests(client):
    r = client.post("/collections/kb/uploads", params={"filename": "kb.exe"}, content=b"x")
    assert r.status_code == 422 and ".jsonl" in r.json()["error"]["message"]
    r = client.post("/collections/kb%0A/uploads", params={"filename": "a.jsonl"}, content=b"x")
    assert r.status_code == 422
    r = client.post("/collections/kb/uploads", params={"filename": "a.jsonl"}, content=b"")
    assert r.status_code == 422
    assert client.get("/jobs/nothere").status_code == 404


def test_details_and_drop_with_confirmation(client):
    wait_job(client, upload(client, "kb", jsonl(ROWS[:6]), "kb.jsonl", apply=True)["id"], ("done",))
    body = client.get("/collections", params={"details": "true"}).json()
    assert body["collections"] == ["kb"]
    (d,) = body["details"]
    col = open_collection(client.location, "kb")
    assert d["documents"] == len(col) == 6 and d["passages"] == col.count_passages()
    assert d["model"] == col.meta["model"] and d["disk_bytes"] >= 0
    r = client.delete("/collections/kb", params={"confirm": "KB"})
    assert r.status_code == 422 and len(open_collection(client.location, "kb")) == 6
    assert client.delete("/collections/kb", params={"confirm": "kb"}).status_code == 200
    assert client.get("/collections").json()["collections"] == []


def test_judgments_append_and_refuse_bad_labels(client):
    wait_job(client, upload(client, "kb", jsonl(ROWS[:6]), "kb.jsonl", apply=True)["id"], ("done",))
    for label in (1, -1, 1):
        r = client.post(
            "/collections/kb/judgments", json={"query": " reset  it ", "id": "d1", "label": label}
        )
        assert r.status_code == 200, r.text
    assert r.json()["judgments"] == 3
    assert (
        client.post(
            "/collections/kb/judgments", json={"query": "q", "id": "d1", "label": 5}
        ).status_code
        == 422
    )
    bad = client.post(  # a lone surrogate escape, as a client may send it
        "/collections/kb/judgments",
        content=b'{"query": "\\ud800", "id": "d1", "label": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert bad.status_code == 422
    rows = client.get("/collections/kb/judgments").json()["judgments"]
    col = open_collection(client.location, "kb")
    assert [j["label"] for j in rows] == [1, -1, 1]
    assert {j["query"] for j in rows} == {"reset it"}
    assert {j["fingerprint"] for j in rows} == {col.meta["fingerprint"]}


# -- a killed server loses no acknowledged document ------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(root, port, delay):
    """`sentvec serve` with each encode call slowed by ``delay`` seconds."""
    code = (
        "import time, sentvec.encoder as e; encode = e.Encoder.encode; "
        f"e.Encoder.encode = lambda self, *a, **k: (time.sleep({delay!r}), "
        "encode(self, *a, **k))[1]; from sentvec.cli import main; main()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SENTVEC_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--store", str(root)], env=env
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        assert proc.poll() is None, "sentvec serve exited"
        time.sleep(0.2)
    raise AssertionError("server not ready")


@pytest.mark.slow
def test_kill_during_ingest_resumes_on_restart(tmp_path):
    rows = [
        {"id": f"d{i}", "text": f"Document number {i} about topic {i % 7}."} for i in range(160)
    ]
    port = _free_port()
    proc, url = _serve(tmp_path, port, delay=0.25)
    try:
        r = httpx.post(
            f"{url}/collections/kb/uploads",
            params={"filename": "kb.jsonl", "apply": "true"},
            content=jsonl(rows),
            timeout=60,
        )
        assert r.status_code == 202
        job_id = r.json()["id"]
        deadline = time.time() + 120
        while time.time() < deadline:
            job = httpx.get(f"{url}/jobs/{job_id}").json()
            if job["done"] > 0:
                break
            time.sleep(0.05)
        assert 0 < job["done"] < job["todo"], job
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(20)
    killed_at = len(open_collection(tmp_path, "kb"))
    assert killed_at < len(rows)
    proc, url = _serve(tmp_path, port, delay=0.0)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            job = httpx.get(f"{url}/jobs/{job_id}").json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.1)
        assert job["status"] == "done", job
    finally:
        proc.terminate()
        proc.wait(20)
    col = open_collection(tmp_path, "kb")
    assert col.document_ids() == sorted(r["id"] for r in rows)  # every acknowledged document
    assert col.count_passages() == len(rows)  # each stored once
