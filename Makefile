# Two commands set everything up on a fresh machine with Python 3.11-3.13, Node 20+ and make:
#   make demo   installs what is missing, then runs the main job
#   make test   installs what is missing, then runs lint and the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# jsii's Node 20 end-of-life banner on every synth is noise; the cdktf CLI's update check is
# a network call this repository never needs.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CHECKPOINT_DISABLE := 1

.PHONY: help install demo test test-fast lint format bench figures clean synth policy tfdv-reference tfdv-compare

help:
	@echo "make demo    install, then run the promotion pipeline on the local backend"
	@echo "make test    install, then lint and run the whole test suite"
	@echo "make test-fast  the pure tests only (no process, server or pipeline): under a minute"
	@echo "make synth   synthesize all env stacks (envs/<env>/cdktf.out)"
	@echo "make policy  synthesize, then run the policy gate on every env"
	@echo "make bench   run the benchmarks in bench/, then quote their figures in the docs"
	@echo "make figures quote the figures in bench/results/ in README.md and docs/"
	@echo "make format  format the code with ruff"
	@echo "make tfdv-reference  TFDV's own distances for the monitor's fixtures (own venv)"

# uv's version and hashes live in uv-requirements.txt, shared with the Dockerfile.
$(UV): uv-requirements.txt
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes -r uv-requirements.txt
	touch $@

$(PY_STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked
	touch $@

# The cdktf CLI and jsii need Node 20 or later (package.json "engines"): say so before npm does.
NODE_MAJOR := 20
$(NODE_STAMP): package.json package-lock.json
	@found=$$(node --version 2>/dev/null); major=$${found#v}; major=$${major%%.*}; \
	  [ -n "$$major" ] && [ "$$major" -ge $(NODE_MAJOR) ] || { \
	  echo "Node $(NODE_MAJOR) or later is needed for synth (found: $${found:-no node on PATH})" >&2; \
	  exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(PY_STAMP) $(NODE_STAMP)

demo: install
	$(BIN)/mlops run --local

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Debian's Chromium and ChromeDriver: the on-device app's test drives a real browser.
BROWSER := /usr/bin/chromium
DRIVER := /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

test: lint $(BROWSER) $(DRIVER)
	$(BIN)/pytest

# The inner loop: tests that start no process (tests/conftest.py refuses one), no lint.
test-fast: install
	MLOPS_TEST_TIER=fast $(BIN)/pytest -m "not slow"

$(BROWSER) $(DRIVER):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver \
	  || { $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	       apt-get install -y -q chromium chromium-driver; }

synth: install
	$(BIN)/mlops synth

policy: install
	$(BIN)/mlops policy

# Every bench records its figures in bench/results/; `make figures` copies them into the docs.
BENCHES := $(filter-out bench/figures.py,$(wildcard bench/*.py))
bench: install
	@for script in $(BENCHES); do echo "== $$script"; $(BIN)/python $$script || exit 1; done
	$(BIN)/python bench/figures.py write

figures: install
	$(BIN)/python bench/figures.py write

# TFDV's own distances for the monitor's fixtures, in TFDV's own environment (not for CI).
TFDV_PY := reference/tfdv/.venv/bin/python
TFDV_STAMP := reference/tfdv/.venv/.installed
$(TFDV_STAMP): reference/tfdv/requirements.txt reference/tfdv/setup.sh $(UV)
	reference/tfdv/setup.sh
	touch $@

tfdv-reference: install $(TFDV_STAMP)
	$(BIN)/python reference/tfdv/cases.py
	$(TFDV_PY) reference/tfdv/expected.py

tfdv-compare: install
	$(BIN)/python reference/tfdv/compare.py

clean:
	rm -rf build .mlops .pytest_cache .ruff_cache envs/*/cdktf.out
