"""Run by tests/test_distributed_encode.py as a separate driver that the test kills with SIGKILL:
join the test's Ray cluster and encode with an encoder that sleeps before every block."""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import Any


def slow_encoder(model: str, delay: float) -> Any:
    """The tiny model, sleeping ``delay`` seconds before each encode call (one call a block)."""
    import sentvec

    enc = sentvec.load(model)
    plain = enc.encode

    def encode(texts: Any, **kwargs: Any) -> Any:
        time.sleep(delay)
        return plain(texts, **kwargs)

    enc.encode = encode  # type: ignore[method-assign]
    return enc


if __name__ == "__main__":
    import ray

    from sentvec.bulk import encode_dataset

    address, model, source, out, src = sys.argv[1:6]
    ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": src}}, log_to_driver=False)
    encode_dataset(
        Path(source),
        Path(out),
        block_rows=5,
        num_actors=2,
        encoder_factory=functools.partial(slow_encoder, model, 1.0),
        show_progress=False,
    )
