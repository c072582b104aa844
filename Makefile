# Two commands do all set-up on a fresh machine (Python 3.11, no GPU): `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# this machine's pip configuration names local indexes that lack most packages: hide those warnings
QUIET := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Verified pins (shared/DESIGN.md): torch and torchvision install together from the same index.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
DEMO_DIR ?= demo_data
FLAGS ?=

.PHONY: install demo test check nbtest pytest lab clean

$(STAMP): settings.ini setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel $(QUIET)
	$(BIN)/python -m pip install -q $(TORCH_PINS) $(QUIET)
	$(BIN)/python -m pip install -q -e ".[dev,sent]" $(TORCH_PINS) $(QUIET)
	touch $(STAMP)

install: $(STAMP)

RUN_DIR ?= runs/tiny

# the whole pipeline on the embedded default: generate the benchmark, filter overlapping source classes and
# train the tiny preset (a finished run is only summarised again), extract features, choose (tau, K, rho)
# by cross-validation and print the zero-shot results table for both target sets
demo: install
	$(BIN)/rest_synth $(DEMO_DIR)
	if [ -f $(RUN_DIR)/last.pt ]; then $(BIN)/rest_train --out $(RUN_DIR) --resume; \
	else $(BIN)/rest_train --preset tiny --data $(DEMO_DIR) --out $(RUN_DIR); fi
	$(BIN)/rest_eval $(RUN_DIR) $(DEMO_DIR) --cv --out $(RUN_DIR)/results.json

# the nbdev invariants: library in sync with notebooks, notebooks clean, README generated
check: install
	PATH="$(BIN):$$PATH" bash tools/check_nbdev.sh

nbtest: install
	$(BIN)/nbdev_test --n_workers 2 --timing $(if $(FLAGS),--flags "$(FLAGS)",)

pytest: install
	$(BIN)/python -m pytest tests -q

test: check nbtest pytest

lab: install
	$(BIN)/jupyter lab --notebook-dir=nbs

clean:
	rm -rf $(VENV) _proc _docs *.egg-info
