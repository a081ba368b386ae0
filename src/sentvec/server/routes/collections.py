"""Collection routes: list, info, search (vector / text / hybrid), add/upsert documents,
delete, a whole document, map. Search calls :meth:`Collection.search` and nothing else ranks:
the same documents and scores as Python and the CLI."""

from __future__ import annotations

from typing import Any, Literal

from anyio import from_thread
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from sentvec.server.errors import APIError
from sentvec.server.routes._common import (
    StrictBody,
    check_documents,
    check_query,
    check_texts,
    check_tokens,
    check_vector,
    json_response,
    state,
)

router = APIRouter(prefix="/collections", tags=["Collections"])


class SearchRequest(StrictBody):
    """A query (text, or a vector for vector mode), k, and structured metadata filters."""

    query: str | None = Field(None, description="Query text.")
    vector: list[float] | None = Field(
        None,
        description="The query's vector, if encoded already (vector mode, or beside "
        "the text in hybrid mode).",
    )
    mode: Literal["vector", "text", "hybrid"] = "vector"
    k: int = Field(10, ge=1, le=1000)
    filters: dict[str, Any] | None = Field(
        None,
        description="Column -> value, list (any of) or null, or {operator: value} with "
        "$eq $ne $gt $gte $lt $lte $in $nin; several columns are ANDed. e.g. "
        '{"category": "billing", "year": {"$gte": 2020}, "tag": {"$in": ["a", "b"]}}. '
        "Values are bound as parameters, never pasted into a query.",
    )
    passages: bool = Field(False, description="Return passages instead of documents.")
    min_score: float | None = Field(
        None,
        description="Drop hits under this similarity and say 'no good match' when none is "
        "left (default: the collection's minimum; 0 keeps every hit).",
    )
    highlight: bool = Field(True, description="Find each hit's answering sentence.")


class Document(StrictBody):
    """One document to store (cut into passages)."""

    id: str = Field(min_length=1)
    text: str
    title: str | None = Field(None, description="Embedded with every passage; shown above it.")
    metadata: dict[str, Any] = Field(default_factory=dict)


class AddRequest(StrictBody):
    """Documents to add (stored ids skipped) or upsert (all passages of stored ids replaced)."""

    documents: list[Document]
    upsert: bool = False
    model: str | None = Field(None, description="Model of a new collection (default: the first).")
    chunk: bool = Field(True, description="Cut long documents into passages.")
    chunk_tokens: int | None = Field(None, description="Tokens per passage, title included.")
    overlap: int | None = Field(None, description="Tokens of sentences shared by passages.")


class DeleteRequest(StrictBody):
    """Delete documents by ids, or by a structured filter."""

    ids: list[str] | None = None
    filters: dict[str, Any] | None = None


def check_filters(col: Any, filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """The structured filters, checked against the collection's columns and types before any
    work; the store binds their values as parameters (never pasted into a query string).

    :raises APIError: 422 naming the unknown column or operator, or the value that does not fit.
    """
    from sentvec.store import FilterError

    try:
        col.filter_node(None, filters)
    except FilterError as e:
        raise APIError(422, str(e), param="filters", code="invalid_filter") from None
    return filters or None


class _QueueEncoder:
    """The served model as a search's encoder, from the worker thread a search runs in:
    texts go through the model's batching queue on the event loop."""

    def __init__(self, model: Any) -> None:
        self.model, self.name = model, model.encoder.name
        self.fingerprint = model.fingerprint

    def encode(self, texts: Any, *, role: Any = None) -> Any:
        """Vectors of ``texts``; the passages' sentences come from the model's cache when
        they were encoded before, the rest go through the queue in one request."""
        import numpy as np

        prefix = self.model.encoder.role_prefix(role) if role else ""
        texts = list(texts)
        cache = self.model.sentences
        found = cache.get([prefix + t for t in texts])
        missing = [i for i, v in enumerate(found) if v is None]
        if missing:
            fresh, _ = from_thread.run(self.model.embed, [texts[i] for i in missing], prefix)
            cache.put([prefix + texts[i] for i in missing], fresh)
            for i, v in zip(missing, fresh):
                found[i] = v
        if not found:
            return np.zeros((0, self.model.encoder.dim), dtype=np.float32)
        return np.stack(found)


@router.get("", summary="Names of the served collections (with details=true: sizes, models)")
async def list_all(request: Request, details: bool = False) -> Response:
    """Collections under the served folder; ``details`` adds documents, passages, model and
    disk size of each."""
    from sentvec.server.routes.kb import collection_details
    from sentvec.store import list_collections

    root = state(request).root
    body: dict[str, Any] = {"collections": await run_in_threadpool(list_collections, root)}
    if details:
        body["details"] = await run_in_threadpool(collection_details, root)
    return json_response(body)


@router.get("/{name}", summary="A collection's size, model, chunking, filter columns and index")
async def info(name: str, request: Request) -> Response:
    """``Collection.info()``."""
    col = state(request).collection(name)
    return json_response(await run_in_threadpool(col.info))


@router.post("/{name}/search", summary="Search: vector, text (BM25) or hybrid")
async def search(name: str, body: SearchRequest, request: Request) -> Response:
    """Top-k documents, each with its best passage and answering sentence; ``reason`` says
    why the list is empty. Filters are checked against the filter columns and bound."""
    st = state(request)
    col = st.collection(name)
    filters = check_filters(col, body.filters)
    if body.vector is None and not body.query:
        raise APIError(422, "search needs a query (or a vector). Fix: pass query.", param="query")
    if body.mode != "vector" and not body.query:
        raise APIError(
            422, f"{body.mode} search needs the query text. Fix: pass query.", param="query"
        )
    text = body.query or ""
    if text:
        check_query(text, st)
    model = st.model_for(col) if text or body.highlight else None
    vector = body.vector
    if vector is not None:
        check_vector(vector, col.meta["dim"])
    if vector is None and body.mode != "text":
        vectors, _ = await model.embed([text], model.encoder.role_prefix("query"))  # type: ignore[union-attr]
        vector = vectors[0]
    hits = await run_in_threadpool(
        lambda: col.search(
            text or None,
            body.k,
            vector=vector,
            mode=body.mode,
            filters=filters,
            encoder=_QueueEncoder(model) if model is not None and body.highlight else None,
            passages=body.passages,
            min_score=body.min_score,
            highlight=body.highlight,
        )
    )
    return json_response({"hits": [h.to_dict() for h in hits], "reason": hits.reason})


@router.get("/{name}/documents/{doc_id}", summary="One stored document, whole")
async def document(name: str, doc_id: str, request: Request) -> Response:
    """The document's id, title, url, text and metadata (404 when it is not stored)."""
    col = state(request).collection(name)
    hit = await run_in_threadpool(col.document, doc_id)
    if hit is None:
        raise APIError(
            404,
            f"collection {name!r} has no document {doc_id!r}. Fix: check the id (search "
            "results carry it).",
            param="doc_id",
            code="document_not_found",
        )
    return json_response(
        {
            "id": hit.id,
            "title": hit.title,
            "url": hit.url,
            "text": hit.text,
            "metadata": hit.metadata,
        }
    )


@router.post("/{name}/documents", summary="Add or upsert documents")
async def add(name: str, body: AddRequest, request: Request) -> Response:
    """Cut documents into passages, embed them through the model's queue and store them (the
    collection is made for the model if it does not exist, and removed again when the add
    is refused: a refused request leaves the store as it was)."""
    from sentvec.store import check_name, collection_exists, open_collection

    st = state(request)
    check_name(name)
    existed = await run_in_threadpool(collection_exists, st.root, name)
    try:
        return await _add(name, body, request)
    except BaseException:
        if not existed and await run_in_threadpool(collection_exists, st.root, name):
            col = await run_in_threadpool(open_collection, st.root, name)
            if await run_in_threadpool(len, col) == 0:
                await run_in_threadpool(col.drop)
        raise


async def _add(name: str, body: AddRequest, request: Request) -> Response:
    """Cut documents into passages, embed them through the model's queue and store them (the
    collection is made for the model if it does not exist)."""
    from sentvec.documents import Chunking
    from sentvec.io import Record
    from sentvec.store import check_name, for_encoder

    st = state(request)
    check_name(name)
    texts = [d.text for d in body.documents]
    check_texts(texts, st, "documents")
    check_documents(body.documents)
    model = st.model(body.model)
    col = await run_in_threadpool(for_encoder, st.root, name, model.encoder)
    model = st.model_for(col)
    spec = Chunking(body.chunk, body.chunk_tokens, body.overlap)
    chunker = await run_in_threadpool(col.chunker, model.encoder, spec)
    records = []
    for d in body.documents:
        meta = dict(d.metadata)
        if d.title is not None:
            meta["title"] = d.title
        records.append(Record(d.text, d.id, meta))
    unique: dict[str, Record] = {}  # one per id: the last for upsert, else the first
    for r in records:
        if body.upsert or r.id not in unique:
            unique[r.id] = r
    records = list(unique.values())
    stored = set()
    if not body.upsert:
        stored = {h.id for h in await run_in_threadpool(col.get, [r.id for r in records])}
    todo = [r for r in records if r.id not in stored]
    passages = [p for r in todo for p in chunker.passages(r)]
    added = updated = tokens = 0
    if passages:
        vectors, tokens = await model.embed(
            [p.embed_text for p in passages],
            model.encoder.role_prefix("document"),
            lambda n: check_tokens(n, st, "documents"),
        )
        added, updated = await run_in_threadpool(
            lambda: col.add_passages(passages, vectors, upsert=body.upsert)
        )
    st.maps.clear()
    return json_response(
        {
            "added": added,
            "updated": updated,
            "skipped": len(body.documents) - added - updated,
            "passages": len(passages),
            "documents": len(col),
            "tokens": tokens,
        }
    )


@router.post("/{name}/delete", summary="Delete documents by id or by filter")
async def delete(name: str, body: DeleteRequest, request: Request) -> Response:
    """Documents deleted, every passage of each (ids and filters together: documents matching
    both); filters are checked and bound like a search's."""
    st = state(request)
    col = st.collection(name)
    filters = check_filters(col, body.filters)
    if not body.ids and not filters:
        raise APIError(422, "delete needs ids or filters. Fix: pass one of them.", param="ids")
    deleted = await run_in_threadpool(col.delete, body.ids, None, filters)
    st.maps.clear()
    return json_response({"deleted": deleted, "documents": len(col)})


@router.get("/{name}/map", summary="2-D map of the collection, clustered, with keywords")
async def map_(name: str, request: Request) -> Response:
    """Points (id, x, y, cluster, text), one per document, and clusters (id, size, keywords,
    centre)."""
    from sentvec.server.mapping import collection_map

    st = state(request)
    col = st.collection(name)
    # keyed by the collection's state (writes through this service also clear the cache)
    key = (name, await run_in_threadpool(col.state_token))
    if key not in st.maps:
        st.maps[key] = await run_in_threadpool(collection_map, col, st.settings.map_points)
    return json_response(st.maps[key])
