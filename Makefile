# Two commands do all set-up on a fresh machine (Python 3.11, no GPU): `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# this machine's pip configuration names local indexes that lack most packages: hide those warnings
QUIET := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Verified pins: torch and torchvision install together from the same index (PyPI's torchvision does not import beside the CPU-only torch wheel).
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
FLAGS ?=

.PHONY: install demo test check browser nbtest pytest outputs ablations lab clean

$(STAMP): settings.ini setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel $(QUIET)
	$(BIN)/python -m pip install -q $(TORCH_PINS) $(QUIET)
	$(BIN)/python -m pip install -q -e ".[dev,sent]" $(TORCH_PINS) $(QUIET)
	touch $(STAMP)

install: $(STAMP)

DEMO_DRAW ?= 0

# the whole pipeline on the embedded default (rest_demo): generate the benchmark into the cache, filter overlapping
# source classes, train the tiny preset (once per cache: the notebooks reuse the run), extract features, choose
# (tau, K, rho) by cross-validation, print the zero-shot results, the demo's promises and the time of each stage.
# `make demo DEMO_DRAW=1` draws another benchmark.
demo: install
	$(BIN)/rest_demo --draw $(DEMO_DRAW)

# the nbdev invariants: library in sync with notebooks, notebooks clean, README generated
check: install
	PATH="$(BIN):$$PATH" bash tools/check_nbdev.sh

# The notebooks that need a trained model share the short demo run of the tests: train it first on both cores,
# then run the notebooks two at a time with one torch thread each (two processes of two threads on two cores
# oversubscribe them and run several times slower).
nbtest: install
	$(BIN)/python -c "from rest_nb.demo import demo_run; print('demo run (tests):', demo_run(quick=True))"
	REST_NB_QUICK=1 OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing $(if $(FLAGS),--flags "$(FLAGS)",) $(NBTEST_SKIP)

# `make test` does not run twice the notebooks that the browser test runs with JupyterLab's Run All (NOTEBOOKS in
# tests/test_browser.py, which checks that this list is the same): nbdev_test leaves them out when chromium is there
BROWSER_NBS := ^(05_train|09_explore_transfer|10_explore_relatedness|11_explore_prototypes|12_explore_confusion|13_predict)[.]ipynb$$
test: NBTEST_SKIP = $(if $(shell command -v chromium),--skip_file_re '^[_.]|$(BROWSER_NBS)',)

# two test files at a time (pytest-xdist: a file's tests in one worker, as they share its fixtures; the files in the
# order tests/conftest.py gives, the longest first), one torch thread each
pytest: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -q -n 2 --dist loadfile --no-loadscope-reorder --durations=15

# Debian's chromium, for the browser test (tests/test_browser.py drives it with Playwright); installing it needs root
browser:
	@command -v chromium >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "the browser test needs chromium: sudo apt-get install chromium" >&2; fi; }

test: check browser nbtest pytest

# The outputs stored in the notebooks and README (what a reader sees without running anything), computed on the full
# demo run (trained first if the cache lacks it). `make outputs SLOW=1` also reruns the slow cells (benchmarks, and
# 05_train's recipe study: about 40 minutes); otherwise they keep the outputs they have.
NOTEBOOKS ?= $(sort $(wildcard nbs/[0-9]*.ipynb)) nbs/index.ipynb
outputs: install
	$(BIN)/python tools/run_nb.py $(NOTEBOOKS) $(if $(SLOW),--slow,)

# The paper's ablations over seeds (nbs/15_ablations.ipynb): trains what the cache lacks (36 runs of tiny as shipped, one at a time),
# evaluates them, writes nbs/ablations.json and stores the tables; then README's tables are rendered from that file.
ablations: install
	$(BIN)/python tools/run_nb.py nbs/15_ablations.ipynb --slow
	$(BIN)/python tools/run_nb.py nbs/index.ipynb
	$(BIN)/python tools/make_readme.py
	$(BIN)/nbdev_clean
	$(BIN)/python tools/make_readme.py

lab: install
	$(BIN)/jupyter lab --notebook-dir=nbs

clean:
	rm -rf $(VENV) _proc _docs *.egg-info
