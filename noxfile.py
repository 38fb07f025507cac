"""The engine behind the Makefile: each session sets up exactly what its job needs.

Virtual environments live in .nox/ and are reused between runs; every session (re)installs the
project, so a run always tests the code as it is now.
"""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests"]

PYTHON = "3.11"
CODEGEN_REQUIREMENTS = "codegen/requirements.txt"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The test suite against the installed distribution (not the source tree)."""
    session.install("-r", CODEGEN_REQUIREMENTS)
    session.install(".[test]")
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff on the hand-written code (generated/ is excluded in pyproject.toml)."""
    session.install("ruff==0.17.5")
    session.run(
        "ruff", "check", "spine", "tests", "codegen", "examples", "benchmarks", "noxfile.py"
    )


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on spine/."""
    session.install(".[lint]")
    session.run("mypy", "--strict", "spine")


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Regenerate generated/ from openapi.yaml with the pinned generator."""
    session.install("-r", CODEGEN_REQUIREMENTS)
    session.run("python", "codegen/generate.py", "generate")


@nox.session(name="check-generated", python=PYTHON)
def check_generated(session: nox.Session) -> None:
    """Fail with a diff when generated/ is not exactly what the generator makes."""
    session.install("-r", CODEGEN_REQUIREMENTS)
    session.run("python", "codegen/generate.py", "check")


@nox.session(name="spec-diff", python=PYTHON)
def spec_diff(session: nox.Session) -> None:
    """openapi.yaml against a base (posargs: --base REF): breaking changes need a version bump
    and a CHANGELOG.md entry."""
    session.install("-r", CODEGEN_REQUIREMENTS)
    session.run("python", "codegen/spec_diff.py", *session.posargs)


@nox.session(name="contract-live", python=PYTHON)
def contract_live(session: nox.Session) -> None:
    """The live API's answers against openapi.yaml (SPINE_API_KEY, SPINE_BASE_URL, a run id);
    recorded bodies land in tests/fixtures/recorded/. Without a key it says so and passes."""
    session.install(".[contract]")
    session.run(
        "spine", "contract-check", "--record", "tests/fixtures/recorded", *session.posargs
    )


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The README's main job: a real end-to-end run through the SDK against the sandbox."""
    session.install(".[sandbox]")
    session.run("python", "examples/demo.py", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """make bench: this SDK vs the official spine-sdk 0.2.0 vs raw httpx, one table.

    The official SDK also imports as ``spine``, so the benchmark installs it in a venv of its
    own (.bench/official); results land in .bench/results.json. See benchmarks/README.md.
    """
    session.install(".[sandbox]")
    session.run("python", "-m", "benchmarks", *session.posargs)
