"""``/openapi.json`` that tells the truth: the limits the routes enforce (texts per request,
characters per text, queued texts, label and template rules, collection names) are written
into the generated schema from the server's settings, so a client (or a fuzzer) generating
requests from the schema gets what the schema promises.

The routes keep their own checks (their messages name the fix); this module only describes
them. Token arrays in ``/v1/embeddings`` are left out of the schema: the route refuses them
(422, saying why), so they are not valid input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sentvec.server.settings import Settings

# JSON Schema (ECMA) reading of sentvec.store.columns.check_name: matched in full
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"
TEMPLATE_PATTERN = r"^[^{}]*\{\}[^{}]*$"  # exactly one {}, no other braces


def describe(app: FastAPI, settings: Settings) -> None:
    """Make ``app.openapi()`` write the enforced limits into the schema (once, then cached)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            st = app.state.sentvec
            _limits(schema, settings, [m.encoder.dim for m in st.models.values()])
            if not st.ready:  # the models' sizes are not known yet: write it again later
                return schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _limits(schema: dict[str, Any], settings: Settings, dims: list[int]) -> None:
    from sentvec.server.routes.core import MAX_LABEL_CHARS
    from sentvec.store.search import MAX_QUERY_CHARS

    comps = schema.get("components", {}).get("schemas", {})
    text = {"type": "string", "minLength": 1, "maxLength": settings.max_chars}
    most = min(settings.max_items, settings.max_queued)
    texts = {"type": "array", "items": text, "minItems": 1, "maxItems": most}

    def prop(model: str, field: str) -> dict[str, Any] | None:
        return comps.get(model, {}).get("properties", {}).get(field)

    if dims and (p := prop("EmbeddingRequest", "dimensions")) is not None:
        p["anyOf"] = [{"type": "integer", "minimum": 1, "maximum": min(dims)}, {"type": "null"}]
    if (p := prop("EmbeddingRequest", "input")) is not None:
        keep = {k: v for k, v in p.items() if k not in ("anyOf", "type", "items")}
        p.clear()
        p.update(keep, anyOf=[dict(text), dict(texts)])
    for model, field in (("SimilarityRequest", "a"), ("SimilarityRequest", "b")):
        if (p := prop(model, field)) is not None:
            p.update(texts)
    if (p := prop("ClassifyRequest", "texts")) is not None:
        p.update(texts)
    if (p := prop("ClassifyRequest", "labels")) is not None:
        p["items"] = {"type": "string", "minLength": 1, "maxLength": MAX_LABEL_CHARS}
        p["uniqueItems"] = True
        # two labels at least, unless multi_label (JSON Schema: if / then)
        comps["ClassifyRequest"].update(
            {
                "if": {"properties": {"multi_label": {"const": True}}, "required": ["multi_label"]},
                "else": {"properties": {"labels": {"minItems": 2}}},
            }
        )
    if (p := prop("ClassifyRequest", "template")) is not None:
        p["pattern"] = TEMPLATE_PATTERN
    if (p := prop("SearchRequest", "query")) is not None:
        limit = min(settings.max_chars, MAX_QUERY_CHARS)
        p["anyOf"] = [{"type": "string", "maxLength": limit}, {"type": "null"}]
    if (p := prop("Document", "text")) is not None:
        p.update(text)
    if (p := prop("AddRequest", "documents")) is not None:
        p.update(minItems=1, maxItems=most)
    for path, item in schema.get("paths", {}).items():
        if not path.startswith("/collections/{name}"):
            continue
        for op in item.values():
            for param in op.get("parameters", []) if isinstance(op, dict) else []:
                if param.get("name") == "name" and param.get("in") == "path":
                    param["schema"] = {"type": "string", "pattern": NAME_PATTERN, "title": "Name"}
    metrics = schema.get("paths", {}).get("/metrics", {}).get("get")
    if metrics is not None:
        metrics["responses"]["200"]["content"] = {"text/plain": {"schema": {"type": "string"}}}


__all__ = ["NAME_PATTERN", "describe"]
