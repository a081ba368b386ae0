"""OpenAI-compatible routes: ``POST /v1/embeddings``, ``GET /v1/models``."""

from __future__ import annotations

import base64
import time
from typing import Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field, field_validator

from sentvec.server.errors import APIError
from sentvec.server.routes._common import (
    StrictBody,
    check_texts,
    check_tokens,
    json_response,
    state,
)

router = APIRouter(tags=["OpenAI-compatible"])
STARTED = int(time.time())


class EmbeddingRequest(StrictBody):
    """OpenAI's embeddings request (plus ``prompt``, sentvec's query/document prompt name)."""

    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="A text or a list of up to 2048 texts."
    )
    model: str = Field(description="A served model's name (GET /v1/models).")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(
        None, ge=1, description="Keep the first N dimensions (a whole number)."
    )
    user: str | None = None
    prompt: str | None = Field(
        None, description="sentvec extension: a prompt name of the model (query, document)."
    )

    @field_validator("dimensions", mode="before")
    @classmethod
    def _whole_number(cls, v: object) -> object:
        """A JSON number that is whole (8 or 8.0); true/false and text are refused (pydantic
        would read true as 1 and "8" as 8)."""
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError("must be a whole number, not true/false or text")
        if isinstance(v, float) and not v.is_integer():
            raise ValueError("must be a whole number")
        return int(v)


def texts_of(value: str | list[str] | list[int] | list[list[int]]) -> list[str]:
    """The input as a list of texts; token arrays are refused (another model's tokenizer)."""
    if isinstance(value, str):
        return [value]
    if value and not all(isinstance(v, str) for v in value):
        raise APIError(
            422,
            "input holds token ids; this server takes text only (token ids belong to "
            "another model's tokenizer). Fix: send strings (LangChain: "
            "OpenAIEmbeddings(check_embedding_ctx_length=False)).",
            param="input",
        )
    return list(value)  # type: ignore[arg-type]


def shorten(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Keep the first ``dimensions`` columns and re-normalise each row (OpenAI's semantics).

    :raises APIError: 422 when ``dimensions`` exceeds the model's size.
    """
    dim = vectors.shape[1]
    if dimensions is None or dimensions == dim:
        return vectors
    if dimensions > dim:
        raise APIError(
            422,
            f"dimensions={dimensions} but the model makes {dim}-d vectors. "
            f"Fix: pass at most {dim}.",
            param="dimensions",
        )
    cut = vectors[:, :dimensions]
    return cut / np.maximum(np.linalg.norm(cut, axis=1, keepdims=True), 1e-12)


@router.post("/v1/embeddings", summary="Create embeddings (OpenAI-compatible)")
async def embeddings(body: EmbeddingRequest, request: Request) -> Response:
    """Embed ``input`` with ``model``; ``encoding_format=base64`` gives little-endian float32."""
    st = state(request)
    model = st.model(body.model)
    texts = texts_of(body.input)
    check_texts(texts, st)
    vectors, tokens = await model.embed(
        texts, model.prompt_text(body.prompt), lambda n: check_tokens(n, st)
    )
    vectors = shorten(vectors, body.dimensions)
    if body.encoding_format == "base64":
        rows: list[object] = [
            base64.b64encode(np.ascontiguousarray(v, dtype="<f4").tobytes()).decode()
            for v in vectors
        ]
    else:
        rows = list(np.ascontiguousarray(vectors, dtype=np.float32))  # written by orjson
    st.metrics.tokens.labels(model.name).inc(tokens)
    return json_response(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(rows)
            ],
            "model": model.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


@router.get("/v1/models", summary="List the served models (OpenAI-compatible)")
async def models(request: Request) -> Response:
    """The served models, in OpenAI's list format (plus each model's dimension)."""
    st = state(request)
    return json_response(
        {
            "object": "list",
            "data": [
                {
                    "id": name,
                    "object": "model",
                    "created": STARTED,
                    "owned_by": "sentvec",
                    "dimensions": m.encoder.dim,
                    "max_input_tokens": m.encoder.max_seq_length,
                }
                for name, m in st.models.items()
            ],
        }
    )
