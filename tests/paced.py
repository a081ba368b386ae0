"""The real `sentvec` command line with every `Encoder.encode` call slowed down, for the
tests that kill a run part-way: the run then lasts long enough on any machine (a fast one
once finished a whole ingest before the test's poll saw its first rows)."""

from __future__ import annotations

import sys


def paced_sentvec(delay: float) -> list[str]:
    """The argv prefix that runs ``python -m sentvec`` with ``delay`` seconds of sleep
    before each ``Encoder.encode`` call; append the command's own arguments."""
    code = (
        "import time, sentvec.encoder as e; encode = e.Encoder.encode; "
        f"e.Encoder.encode = lambda self, *a, **k: (time.sleep({delay!r}), "
        "encode(self, *a, **k))[1]; from sentvec.cli import main; main()"
    )
    return [sys.executable, "-c", code]
