"""Collection routes: list, info, search (vector / text / hybrid), add/upsert, delete, map."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from sentvec.server.errors import APIError
from sentvec.server.routes._common import check_texts, check_tokens, json_response, state

router = APIRouter(prefix="/collections", tags=["Collections"])
HYBRID_DEPTH = 50


class SearchRequest(BaseModel):
    """A query (text, or a vector for vector mode), k, and structured metadata filters."""

    query: str | None = Field(None, description="Query text.")
    vector: list[float] | None = Field(None, description="Query vector (vector mode only).")
    mode: Literal["vector", "text", "hybrid"] = "vector"
    k: int = Field(10, ge=1, le=1000)
    filters: dict[str, Any] | None = Field(
        None,
        description="Column -> value, list (any of) or null, or {operator: value} with "
        "$eq $ne $gt $gte $lt $lte $in $nin; several columns are ANDed. e.g. "
        '{"category": "billing", "year": {"$gte": 2020}, "tag": {"$in": ["a", "b"]}}. '
        "Values are bound as parameters, never pasted into a query.",
    )


class Document(BaseModel):
    """One row to store."""

    id: str = Field(min_length=1)
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class AddRequest(BaseModel):
    """Rows to add (stored ids skipped) or upsert (stored ids replaced)."""

    documents: list[Document]
    upsert: bool = False
    model: str | None = Field(None, description="Model of a new collection (default: the first).")


class DeleteRequest(BaseModel):
    """Delete by ids, or by a structured filter."""

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


def hit_json(h: Any) -> dict[str, Any]:
    """A search hit as JSON."""
    return {"id": h.id, "score": float(h.score), "text": h.text, "metadata": h.metadata}


@router.get("", summary="Names of the served collections")
async def list_all(request: Request) -> Response:
    """Collections under the served folder."""
    from sentvec.store import list_collections

    return json_response({"collections": list_collections(state(request).root)})


@router.get("/{name}", summary="A collection's size, model, filter columns and index")
async def info(name: str, request: Request) -> Response:
    """``Collection.info()``."""
    col = state(request).collection(name)
    return json_response(await run_in_threadpool(col.info))


@router.post("/{name}/search", summary="Search: vector, text (BM25) or hybrid")
async def search(name: str, body: SearchRequest, request: Request) -> Response:
    """Top-k hits; filters are checked against the filter columns and bound, never pasted."""
    from sentvec.store import rrf

    st = state(request)
    col = st.collection(name)
    filters = check_filters(col, body.filters)
    if body.vector is None and not body.query:
        raise APIError(422, "search needs a query (or a vector). Fix: pass query.", param="query")
    if body.vector is not None and body.mode != "vector":
        raise APIError(422, "a query vector only works with mode=vector.", param="vector")
    text = body.query or ""
    if body.mode == "text":
        hits = await run_in_threadpool(col.search, text, body.k, filters=filters, mode="text")
        return json_response({"hits": [hit_json(h) for h in hits]})
    if body.vector is not None:
        vector = np.asarray(body.vector, dtype=np.float32)
        if vector.shape != (col.meta["dim"],):
            raise APIError(
                422, f"vector has {len(vector)} values; the collection holds {col.meta['dim']}-d."
            )
    else:
        model = st.model_for(col)
        check_texts([text], st, "query")
        vectors, _ = await model.embed([text], model.named_prompt("query"))
        vector = vectors[0]
    if body.mode == "vector":
        hits = await run_in_threadpool(col.search, vector, body.k, filters=filters)
    else:
        depth = max(HYBRID_DEPTH, 5 * body.k)
        dense = await run_in_threadpool(col.search, vector, depth, filters=filters)
        sparse = await run_in_threadpool(col.search, text, depth, filters=filters, mode="text")
        hits = rrf([dense, sparse], body.k)
    return json_response({"hits": [hit_json(h) for h in hits]})


@router.post("/{name}/documents", summary="Add or upsert documents")
async def add(name: str, body: AddRequest, request: Request) -> Response:
    """Embed and store rows (the collection is made for the model if it does not exist)."""
    from sentvec.store import Collection

    st = state(request)
    texts = [d.text for d in body.documents]
    check_texts(texts, st, "documents")
    model = st.model(body.model)
    col = await run_in_threadpool(Collection.for_encoder, st.root, name, model.encoder)
    model = st.model_for(col)
    vectors, tokens = await model.embed(
        texts, model.named_prompt("document"), lambda n: check_tokens(n, st, "documents")
    )
    written = await run_in_threadpool(
        col.add_vectors,
        [d.id for d in body.documents],
        vectors,
        texts,
        [d.metadata for d in body.documents],
        upsert=body.upsert,
    )
    st.maps.clear()
    return json_response({"written": written, "rows": len(col), "tokens": tokens})


@router.post("/{name}/delete", summary="Delete documents by id or by filter")
async def delete(name: str, body: DeleteRequest, request: Request) -> Response:
    """Rows deleted (ids and filters together: rows matching both); filters are checked and
    bound like a search's."""
    st = state(request)
    col = st.collection(name)
    filters = check_filters(col, body.filters)
    if not body.ids and not filters:
        raise APIError(422, "delete needs ids or filters. Fix: pass one of them.", param="ids")
    deleted = await run_in_threadpool(col.delete, body.ids, None, filters)
    st.maps.clear()
    return json_response({"deleted": deleted, "rows": len(col)})


@router.get("/{name}/map", summary="2-D map of the collection, clustered, with keywords")
async def map_(name: str, request: Request) -> Response:
    """Points (id, x, y, cluster, text) and clusters (id, size, keywords, centre)."""
    from sentvec.server.mapping import collection_map

    st = state(request)
    col = st.collection(name)
    key = (name, len(col))  # writes through this service also clear st.maps
    if key not in st.maps:
        st.maps[key] = await run_in_threadpool(collection_map, col, st.settings.map_points)
    return json_response(st.maps[key])
