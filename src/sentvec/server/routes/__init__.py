"""Thin route modules: validate with pydantic, call the library, shape the answer."""
