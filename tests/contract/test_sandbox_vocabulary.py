"""No code names a vocabulary value the spec no longer has.

When the spec drops a block type, a template, a task type or a run status, `make generate`
removes its member from spine/_enums.py. A module that still names the member
(`BlockType.YOUTUBE`) then fails to import, and a sandbox that still lists the wire value
(`"yt-block"`) keeps a stale entry. These checks read the source (they do not import it, so
they report even when the import fails) and name each stale reference with the line to change.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._spec import ROOT, load_spec

SCHEMAS = load_spec()["components"]["schemas"]
VOCABULARIES = {name: s for name, s in SCHEMAS.items() if "x-enum-varnames" in s}
SPINE = ROOT / "spine"
SANDBOX = SPINE / "testing" / "_server"
_MEMBER = re.compile(r"\b(" + "|".join(VOCABULARIES) + r")\.([A-Z][A-Z0-9_]*)\b")
_BLOCK_VALUE = re.compile(r"[\"']([a-z][a-z0-9-]*-block)[\"']")


def _lines(path: Path) -> list[tuple[int, str]]:
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))


def stale_members(
    paths: list[Path], schemas: dict[str, dict[str, object]], root: Path = ROOT
) -> list[str]:
    problems = []
    for path in paths:
        for number, line in _lines(path):
            for match in _MEMBER.finditer(line):
                enum, member = match[1], match[2]
                names = schemas.get(enum, {}).get("x-enum-varnames", [])
                if member not in names:  # type: ignore[operator]
                    problems.append(
                        f"{path.relative_to(root)}:{number} names {enum}.{member}, which the "
                        f"spec's {enum} no longer has. Fix: drop or replace it there (the "
                        "sandbox names vocabulary values by their wire string, kept only while "
                        "the spec has them)."
                    )
    return problems


def stale_block_values(paths: list[Path], values: list[str]) -> list[str]:
    problems = []
    for path in paths:
        for number, line in _lines(path):
            for match in _BLOCK_VALUE.finditer(line):
                if match[1] not in values:
                    problems.append(
                        f"{path.relative_to(ROOT)}:{number} lists block type {match[1]!r}, which "
                        "the spec's BlockType does not have. Fix: remove it there (or add it to "
                        "the spec and run `make generate`)."
                    )
    return problems


def _python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_names_an_enum_member_the_spec_lacks() -> None:
    assert stale_members(_python_files(SPINE), VOCABULARIES) == []


def test_the_sandbox_lists_only_block_types_the_spec_has() -> None:
    assert stale_block_values(_python_files(SANDBOX), SCHEMAS["BlockType"]["enum"]) == []


def test_the_sandbox_template_lists_name_only_spec_templates() -> None:
    from spine.testing._server import _runs

    stale = sorted(set(_runs.TEMPLATE_BLOCK_VALUES) - set(SCHEMAS["Template"]["enum"]))
    assert stale == [], (
        f"TEMPLATE_BLOCK_VALUES in {Path(_runs.__file__).relative_to(ROOT)} lists template(s) "
        f"{stale} that the spec's Template does not have. Fix: remove their rows (the sandbox "
        "already ignores them)."
    )


# ----------------------------------------------------------------------------- the checks fail


def test_a_removed_block_type_is_named_with_the_line_to_change() -> None:
    runs = SANDBOX / "_runs.py"
    values = [v for v in SCHEMAS["BlockType"]["enum"] if v != "yt-block"]
    problems = stale_block_values([runs], values)
    assert problems, "the sandbox no longer lists yt-block: pick another block type here"
    first = next(n for n, line in _lines(runs) if '"yt-block"' in line)
    assert problems[0] == (
        f"spine/testing/_server/_runs.py:{first} lists block type 'yt-block', which the spec's "
        "BlockType does not have. Fix: remove it there (or add it to the spec and run `make "
        "generate`)."
    )


def test_a_removed_member_is_named_with_the_line_to_change(tmp_path: Path) -> None:
    source = tmp_path / "pkg" / "mod.py"
    source.parent.mkdir()
    source.write_text("x = 1\nif status == RunStatus.PAUSED:\n    pass\n")
    assert stale_members([source], VOCABULARIES, root=tmp_path) == [
        "pkg/mod.py:2 names RunStatus.PAUSED, which the spec's RunStatus no longer has. Fix: "
        "drop or replace it there (the sandbox names vocabulary values by their wire string, "
        "kept only while the spec has them)."
    ]
