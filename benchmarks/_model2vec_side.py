"""Run model2vec's own distil and encode in its SEPARATE venv (never in ours); called by
benchmarks/static.py. Writes the distilled model, the vectors of the given texts and timings.

usage: /work/sidevenvs/model2vec/bin/python benchmarks/_model2vec_side.py TEACHER OUT TEXTS.json
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
    payload = json.loads(texts_file.read_text())
    start = time.perf_counter()
    if (out / "model").exists():
        model = StaticModel.from_pretrained(str(out / "model"))
        distill_s = None
    else:
        model = distill(teacher)  # the library's defaults: PCA 256, SIF 1e-4
        distill_s = time.perf_counter() - start
        model.save_pretrained(str(out / "model"))
    vectors = model.encode(payload["texts"])
    np.save(out / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    speed = payload["speed_texts"]
    model.encode(speed[:64])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        model.encode(speed, batch_size=1024)
        times.append(time.perf_counter() - t0)
    info = {"distill_s": distill_s, "texts_per_s": len(speed) / statistics.median(times)}
    (out / "result.json").write_text(json.dumps(info))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
