# The menu. Every target sets up what it needs (through nox), so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
NOX := $(VENV)/bin/nox

.PHONY: help setup demo test lint typecheck check generate check-generated spec-diff contract-live bench clean

help:
	@echo "make demo             end-to-end run through the SDK against the local sandbox"
	@echo "make test             lint, typecheck and the test suite (installs everything it needs)"
	@echo "make lint             ruff"
	@echo "make typecheck        mypy --strict on spine/"
	@echo "make check            check-generated + test"
	@echo "make generate         regenerate generated/, spine/_enums.py members and the blocks pattern from openapi.yaml"
	@echo "make check-generated  fail if generated/ is not what the generator makes"
	@echo "make spec-diff        openapi.yaml against BASE (default: last v* tag, else merge base with main);"
	@echo "                      fails on a breaking change without a version bump and a CHANGELOG entry"
	@echo "make contract-live    check the live API's answers against openapi.yaml (needs SPINE_API_KEY and a run"
	@echo "                      id: RUN_ID=... or SPINE_CONTRACT_RUN_ID; SANDBOX=1 for a local stand-in)"

$(NOX):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "nox==2026.10.20"

setup: $(NOX)

demo: $(NOX)
	$(NOX) -s demo

test: $(NOX)
	$(NOX) -s lint typecheck tests spec-diff

lint: $(NOX)
	$(NOX) -s lint

typecheck: $(NOX)
	$(NOX) -s typecheck

generate: $(NOX)
	$(NOX) -s generate

check-generated: $(NOX)
	$(NOX) -s check-generated

check: check-generated test

spec-diff: $(NOX)
	$(NOX) -s spec-diff -- $(if $(BASE),--base $(BASE))

contract-live: $(NOX)
	$(NOX) -s contract-live -- $(RUN_ID) $(if $(SANDBOX),--sandbox) $(if $(ALLOW_CREATE),--allow-create)

bench: $(NOX)
	$(NOX) -s bench

clean:
	rm -rf .nox build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
