"""The user-facing texts promise nothing about the real service that Spine does not document.

Spine documents no deduplication of ``POST /v1/run``: every text that says what the
``Idempotency-Key`` does also says that Spine does not document it, or that it is the sandbox's
behaviour, or that it holds for a server that honours the key (docs/contract.md). Merely
naming the key (a stored value, a column) is fine.

Other kinds of claim the reference does not support, each caught per sentence unless the
sentence hedges it (may, if, whether...):

* what Spine's rate limit is or whom it applies to (the reference documents no rate limit);
* that Spine documents a message or text for a status it does not (the reference gives texts
  for 400, 401, 404 and a 500 on create only: none for 409, 413, 429, 502, 503, 504);
* that reading a run again gives fresh download links (the reference says only that links
  expire after a short window).

The texts checked: README.md, docs/*.md, spine/testing/README.md, the help of every ``spine``
command, and every string of the command-line modules (what they print at run time).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from spine import SpineConnectionError, SpineTimeoutError

ROOT = Path(__file__).resolve().parents[2]
USER_DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "spine" / "testing" / "README.md",
]
CLI_MODULES = [
    *sorted((ROOT / "spine" / "cli").glob("*.py")),
    ROOT / "spine" / "ledger" / "_cli.py",
]
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


# A sentence that hedges says what may be, not what is.
HEDGES = (" may ", " might ", " if ", "whether", " could ", "perhaps", "does not document",
          "not documented", "undocumented")  # fmt: skip
# Claims about the service, each with the reason it is unsupported.
CLAIMS = [
    (
        re.compile(
            r"(rate.?limit|whatever it is)[^.]*"
            r"(applies|apply|per (api )?key|per account|of their own|your api key|shared)"
            r"|(applies|apply) to your api key|limits? of their own",
            re.IGNORECASE,
        ),
        "states what Spine's rate limit is or applies to (the reference documents none)",
    ),
    (
        re.compile(
            r"(?<!un)documented (message|text|error)s?\b[^.;]*\b(409|413|429|502|503|504)\b"
            r"|\b(409|413|429|502|503|504)\b[^.;]*(?<!un)documented (message|text)",
            re.IGNORECASE,
        ),
        "calls a text documented for a status the reference gives no text for",
    ),
    (
        re.compile(
            r"\b(fresh|new) (download )?links?\b|\blinks?\b[^.]*\brefreshed\b"
            r"|\brefresh(es|ed)? (the )?(download )?links?\b",
            re.IGNORECASE,
        ),
        "says reading the run again gives fresh links (the reference says only that they "
        "expire)",
    ),
]
_NEGATED = ("not document", "undocumented", "documents no", "no spine page", "none for")


def _sentences(paragraph: str) -> list[str]:
    return re.split(r"(?<=[.!?;])\s+(?=[A-Z`(*])", paragraph)


def claim_problems(name: str, text: str) -> list[str]:
    problems = []
    for paragraph in _paragraphs(text):
        for sentence in _sentences(" ".join(paragraph.split())):
            lowered = f" {sentence.lower()} "
            for pattern, why in CLAIMS:
                if not pattern.search(sentence):
                    continue
                hedges = HEDGES if "documented" not in pattern.pattern else _NEGATED
                if why.startswith("states what") and "but" in lowered:
                    hedges = tuple(h for h in hedges if "document" not in h)
                if any(h in lowered for h in hedges):
                    continue
                problems.append(f"{name}: {why}: {sentence[:160]}")
    return problems


def promise_problems(name: str, text: str) -> list[str]:
    problems = claim_problems(name, text)
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


def _commands() -> list[str]:
    from spine.cli import _main

    parser = _main.build_parser()
    actions = [a for a in parser._actions if a.choices and isinstance(a.choices, dict)]
    return sorted({name for action in actions for name in action.choices})


@pytest.mark.parametrize("command", _commands())
def test_every_command_help_makes_no_undocumented_claim(command: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "spine", *command.split(), "--help"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert promise_problems(f"spine {command} --help", proc.stdout) == []


def _strings(path: Path) -> list[tuple[int, str]]:
    """Every string of a module, adjacent literals joined and f-string fields shown as {}."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }  # not printed: the help texts are checked through --help above
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                v.value if isinstance(v, ast.Constant) else "{}" for v in node.values
            )
            found.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
    return found


@pytest.mark.parametrize("path", CLI_MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_what_the_command_line_prints_makes_no_undocumented_claim(path: Path) -> None:
    problems = []
    for line, text in _strings(path):
        problems += promise_problems(f"{path.relative_to(ROOT)}:{line}", text)
    assert problems == []


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


@pytest.mark.parametrize(
    "text",
    [
        # the run ledger's resume message
        "ambiguous create (key k1): it may have made a run; create it again with that "
        "--idempotency-key to get it without paying twice",
        # docs/runs.md on the rate limit
        "The limit you meet first is the service's: Spine does not document its rate limit, but "
        "whatever it is, it applies to your API key, so more processes sharing that key do not "
        "create runs faster once it binds.",
        "Keys of different accounts have limits of their own.",
        # spine/testing/README.md on fault texts
        "| `status` | the answer has that status and an error envelope (the documented message "
        "for 429, 500 on create, 503) |",
        # spine download --help
        "Save every artifact. Links that expired are refreshed once automatically.",
        "the command fetches the run once more for fresh links and retries.",
    ],
)
def test_the_check_finds_each_kind_of_unsupported_claim(text: str) -> None:
    assert promise_problems("x", text), "the check misses it"


@pytest.mark.parametrize(
    "text",
    [
        "Spine does not document a rate limit; a 429 pauses every create of the batch.",
        "The docs' message for a 500 on create; for 429 and 503 texts of the sandbox's own.",
        "It reads the run again; whether that gives new links is not documented.",
        "If the server answers with new links, the download is tried once more.",
        "Spine documents no 409.",
    ],
)
def test_hedged_or_true_statements_pass(text: str) -> None:
    assert promise_problems("x", text) == []
