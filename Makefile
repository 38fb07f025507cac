# The menu. Every target sets up what it needs (through nox), so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
NOX := $(VENV)/bin/nox

.PHONY: help setup demo test lint typecheck check generate check-generated bench clean

help:
	@echo "make demo             end-to-end run through the SDK against the local sandbox"
	@echo "make test             lint, typecheck and the test suite (installs everything it needs)"
	@echo "make lint             ruff"
	@echo "make typecheck        mypy --strict on spine/"
	@echo "make check            check-generated + test"
	@echo "make generate         regenerate generated/, spine/_enums.py members and the blocks pattern from openapi.yaml"
	@echo "make check-generated  fail if generated/ is not what the generator makes"

$(NOX):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "nox==2026.10.20"

setup: $(NOX)

demo: $(NOX)
	$(NOX) -s demo

test: $(NOX)
	$(NOX) -s lint typecheck tests

lint: $(NOX)
	$(NOX) -s lint

typecheck: $(NOX)
	$(NOX) -s typecheck

generate: $(NOX)
	$(NOX) -s generate

check-generated: $(NOX)
	$(NOX) -s check-generated

check: check-generated test

bench: $(NOX)
	$(NOX) -s bench

clean:
	rm -rf .nox build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
