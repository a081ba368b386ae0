"""Running a knowledge base from the page: uploads as background jobs (with a diff before they
apply), collection details and drop, facets for the filters, and relevance judgments."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from sentvec.errors import SentvecError
from sentvec.server.errors import APIError
from sentvec.server.routes._common import StrictBody, json_response, state

router = APIRouter(tags=["Knowledge base"])
MAX_FACET_VALUES = 20  # a metadata column with more distinct values is not a facet
CHUNK = 1 << 20


def _user_error(e: SentvecError, status: int = 422, param: str | None = None) -> APIError:
    return APIError(status, str(e), param=param)


# -- collections: details and drop ----------------------------------------------------------


def collection_details(root: Any) -> list[dict[str, Any]]:
    """Name, documents, passages, model, disk size and "no good match" minimum of each
    collection at ``root`` (``GET /collections?details=true``)."""
    from sentvec.store import list_collections, open_collection

    out: list[dict[str, Any]] = []
    for name in list_collections(root):
        try:
            col = open_collection(root, name)
            info = col.info()
        except SentvecError as e:
            out.append({"name": name, "error": str(e)})
            continue
        keys = ("name", "documents", "passages", "model", "disk_bytes", "min_score")
        out.append({k: info.get(k) for k in keys} | {"backend": col.backend})
        col.close()
    return out


@router.delete("/collections/{name}", summary="Drop a collection (type its name to confirm)")
async def drop(name: str, request: Request, confirm: str = Query(...)) -> Response:
    """Delete the collection and its passages; ``confirm`` must repeat the name. Judgments are
    kept (re-index with another model and score it on them)."""
    st = state(request)
    if confirm != name:
        raise APIError(
            422,
            f"confirm={confirm!r} does not repeat the collection's name {name!r}: nothing "
            "dropped. Fix: pass confirm with the exact name.",
            param="confirm",
            code="not_confirmed",
        )
    col = st.collection(name)
    await run_in_threadpool(col.drop)
    st.maps.clear()
    return json_response({"dropped": name})


# -- facets ---------------------------------------------------------------------------------


@router.get("/collections/{name}/facets", summary="Metadata columns with few values, counted")
async def facets(name: str, request: Request) -> Response:
    """The page's filter dropdowns: each text metadata column with 2-20 distinct values
    shared by documents (at most 0.8 values per document carrying it: category, product,
    language; not a url or a title), its values by count."""
    st = state(request)
    col = st.collection(name)
    key = ("facets", name, await run_in_threadpool(col.state_token))
    if key not in st.maps:
        st.maps[key] = await run_in_threadpool(collection_facets, col)
    return json_response(st.maps[key])


def collection_facets(col: Any) -> dict[str, Any]:
    """The facets of a collection (see :func:`facets`)."""
    from collections import Counter

    columns = [c for c, kind in col.meta.get("columns", {}).items() if kind == "string"]
    counts: dict[str, Counter[str]] = {c: Counter() for c in columns if c != "title"}
    for h in col.get(col.document_ids()):
        for c, counter in counts.items():
            value = h.metadata.get(c)
            if isinstance(value, str) and value:
                counter[value] += 1
    out: list[dict[str, Any]] = []
    for c, counter in counts.items():
        # a facet groups documents: few values, each shared (not a url, title or source path)
        tagged = sum(counter.values())
        if 2 <= len(counter) <= min(MAX_FACET_VALUES, 0.8 * tagged):
            values = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
            out.append({"column": c, "values": [{"value": v, "count": n} for v, n in values]})
    return {"facets": out}


# -- judgments ------------------------------------------------------------------------------


class JudgmentRequest(StrictBody):
    """A thumbs up (1) or down (-1) on one hit of a query."""

    query: str = Field(description="The query as searched.")
    id: str = Field(description="The document id of the hit.")
    label: int = Field(description="1: the right answer; -1: not an answer.")
    passage: str | None = Field(None, description="The passage id shown.")
    mode: str | None = None
    rank: int | None = Field(None, ge=1)
    score: float | None = None


@router.post("/collections/{name}/judgments", summary="Record a thumbs up / down on a hit")
async def judge(name: str, body: JudgmentRequest, request: Request) -> Response:
    """Appended to the collection's judgments with its model's fingerprint and the time;
    ``sentvec eval judgments NAME`` scores the collection on them."""
    from sentvec.store.judgments import Judgment, add_judgment

    col = state(request).collection(name)
    judgment = Judgment(**body.model_dump())
    try:
        total = await run_in_threadpool(add_judgment, col, judgment)
    except SentvecError as e:
        raise _user_error(e) from None
    return json_response({"judgments": total})


@router.get("/collections/{name}/judgments", summary="The collection's judgments")
async def judgments(name: str, request: Request) -> Response:
    """Every judgment, oldest first."""
    from dataclasses import asdict

    from sentvec.store.judgments import iter_judgments

    col = state(request).collection(name)
    rows = await run_in_threadpool(lambda: [asdict(j) for j in iter_judgments(col)])
    return json_response({"judgments": rows})


# -- uploads --------------------------------------------------------------------------------


@router.post(
    "/collections/{name}/uploads",
    summary="Upload a knowledge base (JSONL, CSV, or a zip of Markdown/HTML articles)",
    status_code=202,
)
async def upload(
    name: str,
    request: Request,
    filename: str = Query(..., description="The file's name; its suffix says how to read it."),
    apply: bool = Query(False, description="Apply without waiting for the diff review."),
    remove_missing: bool = Query(
        False, description="With apply: delete stored documents the upload does not have."
    ),
    model: str | None = Query(None, description="Model of a new collection."),
    chunk_tokens: int | None = Query(None, ge=16, le=8192),
    overlap: int | None = Query(None, ge=0, le=8192),
    title_field: str | None = Query(None),
) -> Response:
    """The request body is the file itself (``curl --data-binary @kb.zip``), streamed to disk.
    Answers 202 with the job once the file is safely stored; the job then reads it in the
    background (``GET /jobs/ID``): bad lines are listed, the rest diffed against the
    collection, then ingested (``POST /jobs/ID/apply``, or at once with ``apply=true``)."""
    from sentvec.server.jobs import check_upload_name
    from sentvec.store import check_name

    st = state(request)
    try:
        check_name(name)
        shown = check_upload_name(filename)
    except SentvecError as e:
        raise _user_error(e, param="name") from None
    if model is not None:
        st.model(model)  # 404 naming the served ones
    runner = st.start_jobs() if st.ready else None
    if runner is None:
        raise APIError(503, "the models are still loading. Fix: retry when /ready says so.")
    options = {
        "apply": apply,
        "remove_missing": remove_missing,
        "chunk_tokens": chunk_tokens,
        "overlap": overlap,
        "title_field": title_field,
    }
    job = await run_in_threadpool(runner.store.create, name, shown, model=model, options=options)
    target = runner.store.upload_file(job)
    limit = st.settings.max_upload_bytes
    size = 0
    f = await run_in_threadpool(open, target, "wb")
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise APIError(
                    413,
                    f"the upload is over the limit of {limit} bytes. Fix: split it, or start "
                    "the server with a larger max_upload_bytes.",
                    code="upload_too_large",
                )
            await run_in_threadpool(f.write, chunk)
        await run_in_threadpool(f.flush)
        await run_in_threadpool(os.fsync, f.fileno())
    except BaseException:
        f.close()
        job.status, job.message = "failed", "the upload did not arrive whole"
        await run_in_threadpool(runner.store.save, job)
        raise
    f.close()
    if size == 0:
        job.status, job.message = "failed", "the upload was empty"
        await run_in_threadpool(runner.store.save, job)
        raise APIError(422, "the upload is empty. Fix: send the file as the request body.")
    job.bytes, job.status = size, "parsing"
    await run_in_threadpool(runner.store.save, job)  # acknowledged from here on
    runner.submit(job, "parse")
    return json_response(job.to_dict(), 202)


def _runner(request: Request) -> Any:
    st = state(request)
    if not st.ready:
        raise APIError(503, "the models are still loading. Fix: retry when /ready says so.")
    return st.start_jobs()


@router.get("/jobs", summary="Upload jobs, newest first")
async def list_jobs(request: Request, collection: str | None = None) -> Response:
    """Every job (or one collection's), with its status, progress, errors and diff."""
    runner = _runner(request)
    jobs = await run_in_threadpool(runner.store.all)
    return json_response(
        {"jobs": [j.to_dict() for j in jobs if collection in (None, j.collection)]}
    )


@router.get("/jobs/{job_id}", summary="One upload job")
async def get_job(job_id: str, request: Request) -> Response:
    """Status, progress (passages done / total), errors, diff, result."""
    runner = _runner(request)
    try:
        job = await run_in_threadpool(runner.store.load, job_id)
    except SentvecError as e:
        raise APIError(404, str(e), param="job_id", code="job_not_found") from None
    return json_response(job.to_dict())


class ApplyRequest(StrictBody):
    """Apply a reviewed upload."""

    remove_missing: bool = Field(
        False, description="Also delete the stored documents the upload no longer has."
    )


@router.post("/jobs/{job_id}/apply", summary="Apply a reviewed upload", status_code=202)
async def apply_job(job_id: str, body: ApplyRequest, request: Request) -> Response:
    """Ingest the upload's new and changed documents in the background (and delete the
    missing ones when asked)."""
    runner = _runner(request)
    try:
        job = await run_in_threadpool(runner.store.load, job_id)
    except SentvecError as e:
        raise APIError(404, str(e), param="job_id", code="job_not_found") from None
    if job.status != "review":
        raise APIError(
            409,
            f"job {job_id} is {job.status}, not waiting for review: nothing to apply. "
            "Fix: apply a job whose status is review.",
            code="job_not_in_review",
        )
    job.options["remove_missing"] = body.remove_missing
    job.status = "queued"
    await run_in_threadpool(runner.store.save, job)
    runner.submit(job, "ingest")
    return json_response(job.to_dict(), 202)
