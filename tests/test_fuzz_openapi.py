"""A standing fuzz suite (issue 21): schemathesis generates requests from the running server's
own ``/openapi.json`` (valid and invalid ones, a bounded number per route, a fixed seed) and
checks every answer: no 5xx, the status code, content type and body documented in the schema
(so the schema tells the truth), OpenAI's error envelope on every 4xx. The server runs for
real (uvicorn on a free loopback port) with its collections in LanceDB and in PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

from store_backends import BACKENDS, fresh_database, pg_server  # noqa: E402, F401

NAME = "tiny"
# examples per route and mode (valid, invalid); SENTVEC_FUZZ_EXAMPLES raises it for a soak run
EXAMPLES = int(os.environ.get("SENTVEC_FUZZ_EXAMPLES", "40"))
SEED = 21
DOCS = [
    {"id": "1", "text": "How do I reset my password?", "metadata": {"category": "account"}},
    {"id": "2", "text": "Where can I download my invoices?", "metadata": {"category": "billing"}},
]


class Served:
    """A uvicorn server in a thread, on a free port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        level = os.environ.get("SENTVEC_FUZZ_LOG", "critical")  # "error": tracebacks
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level=level)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tiny_encoder, tmp_path_factory) -> Iterator[Served]:
    import httpx

    from sentvec.server import Settings, create_app

    if request.param == "lance":
        where: Any = tmp_path_factory.mktemp("fuzz-db")
    else:
        where = fresh_database(request.getfixturevalue("pg_server"))
    app = create_app(
        Settings(models={NAME: None}, collections=where, max_items=64, max_body_bytes=2_000_000),
        encoders={NAME: tiny_encoder},
    )
    server = Served(app)
    r = httpx.post(f"{server.url}/collections/faq/documents", json={"documents": DOCS})
    assert r.status_code == 200, r.text
    yield server
    server.stop()


# Where a schema-valid request may still be refused by what the collection holds (its vector
# length, its filter columns, the name typed to confirm a drop, the ids stored, an upload's
# format), "valid data is accepted" cannot be promised by a schema; every other check runs.
STATE_DEPENDENT = (
    "/collections/{name}",
    "/collections/{name}/search",
    "/collections/{name}/delete",
    "/collections/{name}/documents",
    "/collections/{name}/documents/{doc_id}",
    "/collections/{name}/uploads",
    "/collections/{name}/judgments",
    "/collections/{name}/facets",
    "/collections/{name}/map",
    "/jobs/{job_id}",
    "/jobs/{job_id}/apply",
)
CONFIG = {
    "checks": {
        # a request past a documented size limit is refused with 413
        "negative_data_rejection": {
            "expected-statuses": ["400", "401", "404", "405", "409", "413", "422", "429"]
        },
    }
}


def operations(url: str) -> list[Any]:
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict(CONFIG)
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)
    return [r.ok() for r in schema.get_all_operations()]


def envelope_on_errors(ctx: Any, response: Any, case: Any) -> None:
    """Every 4xx of the API is OpenAI's error envelope with a message saying the fix."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"error"}, body
        err = body["error"]
        assert set(err) == {"message", "type", "param", "code"}, err
        assert "Fix:" in err["message"] or response.status_code in (401, 404, 405), err


def fuzz(url: str, operation: Any, mode: Any, counter: list[int]) -> list[str]:
    """Run one operation's examples; the failures found (as text), not stopping at the first."""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    failures: list[str] = []
    excluded = [positive_data_acceptance] if operation.path in STATE_DEPENDENT else []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is printed as found
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case: Any, data: Any) -> None:
        counter[0] += 1
        try:
            case.call_and_validate(
                base_url=url,
                additional_checks=[envelope_on_errors],
                excluded_checks=excluded,
                timeout=30,
            )
        except (Exception, BaseExceptionGroup) as e:  # noqa: F821  (all reported together)
            text = f"{operation.label} [{mode.value}]: {type(e).__name__}: {str(e)[:700]}"
            if len(failures) < 2:
                failures.append(text)

    with contextlib.suppress(Unsatisfiable):  # no invalid request exists (no parameters)
        run()
    return failures


def test_openapi_fuzz(served: Served, fuzz_cases: list[int]) -> None:
    from schemathesis import GenerationMode

    failures: list[str] = []
    ops = operations(served.url)
    assert len(ops) >= 10
    for op in ops:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += fuzz(served.url, op, mode, fuzz_cases)
    assert not failures, "\n\n".join(failures)
