# Two commands set up a fresh machine: `make run` (the service on the embedded SQLite default) and `make test`.
# Both create and reuse the virtual environment .venv; it is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1

.PHONY: run test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/grader serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/grader rubrics validate
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/embedding.py
	$(BIN)/python bench/judge.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/batch.py
