# Development tasks. Every target creates .venv itself, so a fresh clone needs only Python >= 3.12 and PyPI.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A Python >= 3.12: PYTHON=... if given, else the first suitable one on PATH, else the newest pyenv version.
PYTHON ?= $(shell devkit/find-python.sh)

.PHONY: help venv test lint format demo package debug bench load clean

help:
	@echo "make demo     run the plugin as Dify's daemon does, against the bundled GigaChat emulator"
	@echo "make test     lint, format check and the whole test suite (what CI runs)"
	@echo "make package  validate the plugin and write dist/gigachat-<version>.difypkg"
	@echo "make debug    connect the plugin to a running Dify for remote debugging (.env, see .env.example)"
	@echo "make bench    benchmarks against the emulator (figures for docs/)"
	@echo "make load     long load and soak runs (figures for docs/)"

$(STAMP): requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: Python >= 3.12 not found on PATH or in pyenv; install it or run 'make PYTHON=/path/to/python3.12 ...'" >&2; \
		exit 1; \
	fi
	@"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 12))' || { \
		echo "error: $(PYTHON) is older than Python 3.12, which dify_plugin requires" >&2; exit 1; }
	"$(PYTHON)" -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .

format: $(STAMP)
	$(VENV_PY) -m ruff format .
	$(VENV_PY) -m ruff check --fix .

# Most of the suite waits (retry backoffs, timeouts), so workers run test files side by side, each with its own
# emulator and plugin process; a file stays on one worker, with its module fixtures and its order, and files start
# in collection order (e2e first, see tests/conftest.py). `.venv/bin/python -m pytest tests/...` uses one process.
PYTEST_WORKERS ?= 3

test: lint
	$(VENV_PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

demo: $(STAMP)
	$(VENV_PY) -m devkit.demo

package: $(STAMP)
	$(VENV_PY) -m devkit.package --root . --out dist

debug: $(STAMP)
	@test -f .env || { echo "error: copy .env.example to .env and fill in your Dify debugging key first" >&2; exit 1; }
	INSTALL_METHOD=remote $(VENV_PY) -m main

bench: $(STAMP)
	$(VENV_PY) -m devkit.bench

load: $(STAMP)
	$(VENV_PY) -m devkit.load

clean:
	rm -rf $(VENV) dist .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
