"""What ``make generate`` derives from the spec besides ``generated/``.

The spec states each vocabulary once (``components/schemas/<Name>``: ``enum`` and
``x-enum-varnames``). Two other places repeat it, and both are rewritten from it here, so that
adding a block type is one spec edit plus ``make generate``:

* the ``pattern`` of the ``blocks`` form field in ``openapi.yaml`` (a JSON-encoded, non-empty
  array of block-type strings), wherever it appears (the multipart and urlencoded bodies);
* the members of the public enums in ``spine/_enums.py``, between the lines
  ``# --- generated from openapi.yaml: <Name>`` and ``# --- end generated: <Name>``.

Each function takes the current text and returns the text it should be, so the generator can
write it and the check can compare it. Problems that need a person (an enum without member
names, a spine enum class without markers) raise :class:`DeriveError` with the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.yaml"
ENUMS = ROOT / "spine" / "_enums.py"

BLOCKS_ENUM = "BlockType"
# Every blocks pattern starts like this; the alternation after it lists the block types.
_BLOCKS_PATTERN_LINE = re.compile(r"^(?P<indent>[ ]*)pattern: '\^\\\[\[ \\t\\n\\r\]\*\"\(\?:.*'$")
_WS = r"[ \t\n\r]*"
_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VARNAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_REGEX_SPECIAL = set("\\^$.|?*+()[]{}/")


class DeriveError(Exception):
    """The spec (or spine/_enums.py) needs a person's fix before anything can be derived."""


def load_yaml(text: str) -> Any:
    from ruamel.yaml import YAML  # installed with the pinned generator

    return YAML(typ="safe", pure=True).load(text)


def enums(spec: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Every string enum schema of the spec: name -> [(member name, value), ...] in order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        if not isinstance(schema, dict) or "enum" not in schema:
            continue
        values = schema["enum"]
        names = schema.get("x-enum-varnames")
        if names is None or len(names) != len(values):
            raise DeriveError(
                f"openapi.yaml: components/schemas/{name} has {len(values)} enum values but "
                f"{0 if names is None else len(names)} x-enum-varnames. Fix: give every value "
                "its member name in x-enum-varnames, in the same order."
            )
        for value, member in zip(values, names, strict=True):
            if not isinstance(value, str) or not _VALUE.match(value):
                raise DeriveError(
                    f"openapi.yaml: {name} value {value!r} is not a plain token "
                    "(letters, digits, '.', '_', '-')."
                )
            if not isinstance(member, str) or not _VARNAME.match(member):
                raise DeriveError(
                    f"openapi.yaml: {name} member name {member!r} for {value!r} must be "
                    "UPPER_SNAKE_CASE."
                )
        if len(set(values)) != len(values) or len(set(names)) != len(names):
            raise DeriveError(f"openapi.yaml: {name} repeats a value or a member name.")
        found[name] = list(zip(names, values, strict=True))
    return found


def _escape(value: str) -> str:
    return "".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in value)


def blocks_pattern(values: list[str]) -> str:
    """The JSON Schema (ECMA-262) pattern of a JSON array of one or more of ``values``."""
    one = '"(?:' + "|".join(_escape(v) for v in values) + ')"'
    return rf"^\[{_WS}{one}(?:{_WS},{_WS}{one})*{_WS}\]$"


def derive_spec_text(text: str) -> str:
    """``openapi.yaml`` with every ``blocks`` pattern rewritten from ``BlockType``."""
    spec = load_yaml(text)
    vocab = enums(spec)
    if BLOCKS_ENUM not in vocab:
        raise DeriveError(f"openapi.yaml: components/schemas/{BLOCKS_ENUM} is missing.")
    pattern = blocks_pattern([value for _, value in vocab[BLOCKS_ENUM]])
    quoted = "'" + pattern.replace("'", "''") + "'"
    lines = text.splitlines(keepends=True)
    hits = 0
    for i, line in enumerate(lines):
        match = _BLOCKS_PATTERN_LINE.match(line.rstrip("\n"))
        if match:
            lines[i] = f"{match['indent']}pattern: {quoted}\n"
            hits += 1
    if hits == 0:
        raise DeriveError(
            "openapi.yaml: no blocks pattern found (a line `pattern: '^\\[[ \\t\\n\\r]*\"(?:...`)."
            " Fix: give the blocks field that pattern (any block type list); make generate"
            " fills it in."
        )
    return "".join(lines)


def derive_enums_text(text: str, spec: dict[str, Any]) -> str:
    """``spine/_enums.py`` with the members of each marked enum class rewritten from the spec."""
    vocab = enums(spec)
    out = text
    for name, members in vocab.items():
        begin = f"    # --- generated from openapi.yaml: {name}\n"
        end = f"    # --- end generated: {name}\n"
        if out.count(begin) != 1 or out.count(end) != 1:
            raise DeriveError(
                f"spine/_enums.py has no class for the spec's enum {name} (or its markers are "
                f"broken). Fix: add `class {name}(StrEnum)` with a docstring and the two lines\n"
                f"{begin}{end}inside it; make generate fills in the members."
            )
        head, rest = out.split(begin)
        _, tail = rest.split(end)
        body = "".join(f'    {member} = "{value}"\n' for member, value in members)
        out = head + begin + body + end + tail
    marked = set(re.findall(r"# --- generated from openapi\.yaml: (\w+)", out))
    stale = sorted(marked - set(vocab))
    if stale:
        raise DeriveError(
            f"spine/_enums.py derives {', '.join(stale)} from the spec, which has no such enum."
            " Fix: restore the enum in openapi.yaml or remove the class (a breaking change)."
        )
    return out


def derived_files() -> dict[Path, tuple[str, str]]:
    """Each derived file: (committed text, text it should have)."""
    spec_text = SPEC.read_text(encoding="utf-8")
    new_spec = derive_spec_text(spec_text)
    enums_text = ENUMS.read_text(encoding="utf-8")
    new_enums = derive_enums_text(enums_text, load_yaml(new_spec))
    return {SPEC: (spec_text, new_spec), ENUMS: (enums_text, new_enums)}
