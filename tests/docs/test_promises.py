"""The user-facing texts promise nothing about the real service that Spine does not document.

Spine documents no deduplication of ``POST /v1/run``: every text that says what the
``Idempotency-Key`` does also says that Spine does not document it, or that it is the sandbox's
behaviour, or that it holds for a server that honours the key (docs/contract.md). Merely
naming the key (a stored value, a column) is fine.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from spine import SpineConnectionError, SpineTimeoutError

ROOT = Path(__file__).resolve().parents[2]
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Phrases that state, as the real service's behaviour, what only a server honouring the key does.
PROMISES = [
    r"returns the same run instead",
    r"returns the run it created",
    r"without paying twice",
    r"provably did not act",
    r"makes a create safe to retry(?! here)",
]
QUALIFIERS = ("does not document", "sandbox", "server that honours", "server honours", "ours")
# Words that say what the key does (as opposed to naming it).
EFFECTS = ("safe", "returns", "dedup", "same run", "instead of", "paying", "twice")


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs; every table row and list item on its own."""
    parts: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        parts.extend(re.split(r"\n(?=\||- |\* )", block))
    return parts


def promise_problems(name: str, text: str) -> list[str]:
    problems = []
    for paragraph in _paragraphs(text):
        flat = " ".join(paragraph.split())
        qualified = any(q in flat.lower() for q in QUALIFIERS)
        if qualified:
            continue
        for phrase in PROMISES:
            if re.search(phrase, flat, re.IGNORECASE):
                problems.append(f"{name}: promises {phrase!r}: {flat[:120]}")
        if re.search(r"idempoten", flat, re.IGNORECASE) and any(
            e in flat.lower() for e in EFFECTS
        ):
            problems.append(f"{name}: says what the key does without saying whose: {flat[:120]}")
    return problems


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: p.name)
def test_user_docs_make_no_undocumented_promise(path: Path) -> None:
    assert promise_problems(path.name, path.read_text(encoding="utf-8")) == []


def test_cli_help_makes_no_undocumented_promise() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "spine", "run", "--help"],
        capture_output=True, text=True, check=True,
    )
    assert "Idempotency-Key" in proc.stdout
    assert promise_problems("spine run --help", proc.stdout) == []


def test_ambiguous_failure_messages_make_no_undocumented_promise() -> None:
    for exc in (
        SpineTimeoutError("read timed out", idempotency_key="k1", run_may_exist=True),
        SpineConnectionError("reset", run_may_exist=True),
    ):
        assert promise_problems(type(exc).__name__, str(exc)) == []


def test_the_check_finds_the_old_promise() -> None:
    old = (
        "After an ambiguous failure the exception has `run_may_exist=True` and the key; calling "
        "`create` again with that key returns the same run instead of paying for a second one."
    )
    assert promise_problems("old README", old) == [
        "old README: promises 'returns the same run instead': " + " ".join(old.split())[:120]
    ]
    unqualified = "Every create carries an Idempotency-Key, so retries are safe."
    assert len(promise_problems("x", unqualified)) == 1
    qualified = unqualified + " (for a server that honours it; Spine does not document it)"
    assert promise_problems("x", qualified) == []
    assert promise_problems("x", "| Key | the run's Idempotency-Key |") == []
