"""Run model2vec's own distil and encode in its SEPARATE venv (never in ours); called by
benchmarks/static.py. Writes the distilled model, the vectors of the given texts and timings.

usage: /work/sidevenvs/model2vec/bin/python benchmarks/_model2vec_side.py TEACHER OUT TEXTS.json
       [vectors|speed|all]   (default all)
"""

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from model2vec import StaticModel
from model2vec.distill import distill


def main() -> None:
    teacher, out, texts_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    part = sys.argv[4] if len(sys.argv) > 4 else "all"
    payload = json.loads(texts_file.read_text())
    start = time.perf_counter()
    if (out / "model").exists():
        model = StaticModel.from_pretrained(str(out / "model"))
        distill_s = None
    else:
        model = distill(teacher)  # the library's defaults: PCA 256, SIF 1e-4
        distill_s = time.perf_counter() - start
        model.save_pretrained(str(out / "model"))
    info: dict[str, float | None] = {"distill_s": distill_s}
    if part in ("vectors", "all"):
        vectors = model.encode(payload["texts"])
        np.save(out / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    if part in ("speed", "all"):
        info["texts_per_s"] = speed(model, payload["speed_texts"])
    (out / "result.json").write_text(json.dumps(info))
    print(json.dumps(info))


def speed(model: StaticModel, texts: list[str]) -> float:
    """Median texts/s of three timed runs after a warm-up (batch 1024, the library default)."""
    model.encode(texts[:64])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        model.encode(texts, batch_size=1024)
        times.append(time.perf_counter() - t0)
    return len(texts) / statistics.median(times)


if __name__ == "__main__":
    main()
