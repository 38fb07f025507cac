"""The fenced code blocks of the project's Markdown, with the directive that says how to run each.

A directive is an HTML comment on the line just before the opening fence (invisible once
rendered)::

    <!-- doc-test: skip needs a real API key -->
    <!-- doc-test: setup sandbox -->          a Python fragment run after a prelude
    <!-- doc-test: pytest -->                 a Python test module, run by pytest
    <!-- doc-test: conftest -->               a conftest.py, run by pytest with a probe test
    <!-- doc-test: pyproject -->              a pyproject.toml, run by pytest with a probe test
    <!-- doc-test: sandbox-config -->         a sandbox TOML config file
    <!-- doc-test: server -->                 a shell command that serves in the foreground
    <!-- doc-test: file NAME -->              the content of a file the other examples use

Without one, a ``python`` block is a script and a ``sh`` / ``bash`` / ``console`` block is run
by bash (for ``console``, the lines after ``$ ``), and each line of a ``json`` block must parse
as JSON. Blocks in ``text``, ``mermaid`` or without a language are not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "docs/*.md", "spine/testing/README.md")

CODE_LANGUAGES = frozenset({"python", "sh", "bash", "console", "toml", "json"})
PROSE_LANGUAGES = frozenset({"", "text", "mermaid"})
KINDS = frozenset(
    {"skip", "setup", "pytest", "conftest", "pyproject", "sandbox-config", "server", "file"}
)

_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
_DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*([\w-]+)\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository root
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    kind: str | None  # the directive's kind, if any
    argument: str  # the directive's text after the kind

    @property
    def id(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def first_line(self) -> str:
        return self.code.strip().splitlines()[0] if self.code.strip() else ""

    def shell_script(self) -> str:
        """The commands of a shell block (for ``console``: the ``$ `` lines, continued)."""
        if self.language != "console":
            return self.code
        lines: list[str] = []
        continuing = False
        for line in self.code.splitlines():
            if line.startswith("$ "):
                lines.append(line[2:])
            elif continuing:
                lines.append(line)
            else:
                continue
            continuing = line.rstrip().endswith("\\")
        return "\n".join(lines) + "\n"


def documents() -> list[Path]:
    found: list[Path] = []
    for pattern in DOCUMENTS:
        found.extend(sorted(ROOT.glob(pattern)))
    return found


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        directive = _DIRECTIVE.search(before)
        kind = argument = None
        if directive is not None:
            kind, argument = directive.group(1), directive.group(2)
        found.append(
            Block(
                path=str(path.relative_to(ROOT)),
                line=line,
                language=match.group(1).lower(),
                code=match.group(2),
                kind=kind,
                argument=argument or "",
            )
        )
    return found


def all_blocks() -> list[Block]:
    return [block for path in documents() for block in blocks(path)]
