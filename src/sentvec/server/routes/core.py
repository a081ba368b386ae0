"""``/similarity``, ``/classify``, ``/health``, ``/ready``, ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from sentvec.server.errors import APIError
from sentvec.server.routes._common import (
    StrictBody,
    check_texts,
    check_tokens,
    check_unicode,
    json_response,
    state,
)

router = APIRouter()
probes = APIRouter(tags=["Operations"])


class SimilarityRequest(StrictBody):
    """Two lists of texts; the answer is the (len(a), len(b)) score matrix."""

    a: list[str] = Field(description="First texts.")
    b: list[str] = Field(description="Second texts.")
    model: str | None = Field(None, description="Served model (default: the first).")


MAX_LABELS = 1000
MAX_LABEL_CHARS = 200
MAX_TEMPLATE_CHARS = 1000


class ClassifyRequest(StrictBody):
    """Zero-shot classification of texts into labels."""

    texts: list[str]
    labels: list[str] = Field(
        min_length=1,
        max_length=MAX_LABELS,
        description=f"Label names, at most {MAX_LABELS} of at most {MAX_LABEL_CHARS} characters.",
    )
    template: str = Field(
        "This text is about {}.",
        max_length=MAX_TEMPLATE_CHARS,
        description="A sentence with one '{}' where the label goes (plain substitution).",
    )
    multi_label: bool = False
    threshold: float = 0.3
    temperature: float = Field(0.05, gt=0)
    model: str | None = None


@router.post("/similarity", tags=["Library"], summary="Similarity matrix of two lists of texts")
async def similarity(body: SimilarityRequest, request: Request) -> Response:
    """Scores with the model's similarity function (cosine by default)."""
    st = state(request)
    model = st.model(body.model)
    check_texts(body.a, st, "a")
    check_texts(body.b, st, "b")
    vectors, tokens = await model.embed(
        [*body.a, *body.b], model.prompt_text(None), lambda n: check_tokens(n, st, "a+b")
    )
    scores = model.encoder.similarity(vectors[: len(body.a)], vectors[len(body.a) :])
    return json_response({"model": model.name, "scores": scores.tolist(), "tokens": tokens})


@router.post("/classify", tags=["Library"], summary="Zero-shot classification")
async def classify(body: ClassifyRequest, request: Request) -> Response:
    """Each text takes the label whose templated sentence is closest in meaning."""
    from sentvec.apps.classify import classify as run

    st = state(request)
    model = st.model(body.model)
    check_texts(body.texts, st, "texts")
    check_labels(body.labels, body.template)
    vectors, _ = await model.embed(
        body.texts, model.prompt_text(None), lambda n: check_tokens(n, st, "texts")
    )
    results = await run_in_threadpool(
        run,
        None,
        body.labels,
        body.template,
        temperature=body.temperature,
        multi_label=body.multi_label,
        threshold=body.threshold,
        encoder=model.encoder,
        vectors=vectors,
    )
    return json_response(
        {
            "model": model.name,
            "results": [
                {"label": r.label, "labels": r.labels, "scores": r.scores} for r in results
            ],
        }
    )


def check_labels(labels: list[str], template: str) -> None:
    """Labels and template within their limits, valid text, one ``{}`` in the template.

    :raises APIError: 422 (or 413 past a size limit) naming the fix.
    """
    from sentvec.apps.classify import check_template
    from sentvec.errors import SentvecError

    check_unicode(template, "template")
    try:
        check_template(template)
    except SentvecError as e:
        raise APIError(422, str(e), param="template", code="invalid_template") from None
    for i, label in enumerate(labels):
        if not label:
            raise APIError(422, f"labels[{i}] is empty. Fix: drop it.", param="labels")
        if len(label) > MAX_LABEL_CHARS:
            raise APIError(
                413,
                f"labels[{i}] has {len(label)} characters; the limit is {MAX_LABEL_CHARS}. "
                "Fix: use a short label name (put a description in the template).",
                param="labels",
                code="text_too_long",
            )
        check_unicode(label, f"labels[{i}]", "labels")


@probes.get("/health", summary="Liveness: answers while the model works")
async def health() -> Response:
    """Always 200 while the process serves HTTP."""
    return json_response({"status": "ok"})


@probes.get("/ready", summary="Readiness: 200 once every model is loaded")
async def ready(request: Request) -> Response:
    """503 while models load; then 200 with the queue depth of each model."""
    st = state(request)
    if not st.ready:
        return json_response({"status": "loading"}, 503)
    return json_response(
        {"status": "ready", "models": {n: {"queued": m.queue.depth} for n, m in st.models.items()}}
    )


@router.get("/metrics", tags=["Operations"], summary="Prometheus metrics (behind the API key)")
async def metrics(request: Request) -> Response:
    """Requests, latency histograms, queue depth, batch sizes and tokens. They name the served
    models, so with an API key set they need it like every API route."""
    st = state(request)
    for name, m in st.models.items():
        st.metrics.queue_depth.labels(name).set(m.queue.depth)
    body, ctype = st.metrics.render()
    return Response(body, media_type=ctype)
