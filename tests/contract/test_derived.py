"""Whatever repeats the spec is derived from it or checked against it here, so that adding a
block type is one spec edit plus `make generate`, and any other vocabulary change names the
place that must follow."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest

from spine import _enums
from spine.testing._server import _app, _runs

from ._spec import ROOT, load_spec

sys.path.insert(0, str(ROOT / "codegen"))
import derive

SCHEMAS = load_spec()["components"]["schemas"]
VOCABULARIES = {name: s for name, s in SCHEMAS.items() if "enum" in s}


def source_of(module: ModuleType) -> str:
    """The module's file, relative to the project (for messages that name the file to edit)."""
    return Path(str(module.__file__)).resolve().relative_to(ROOT).as_posix()


def test_every_spec_vocabulary_is_a_spine_enum_with_the_same_members() -> None:
    for name, schema in VOCABULARIES.items():
        enum = getattr(_enums, name, None)
        assert enum is not None, f"spine/_enums.py has no {name}: run `make generate`"
        assert [m.value for m in enum] == schema["enum"], f"{name}: run `make generate`"
        assert [m.name for m in enum] == schema["x-enum-varnames"], f"{name}: `make generate`"


def _blocks_schemas() -> list[dict[str, object]]:
    return [SCHEMAS[n]["properties"]["blocks"] for n in ("CreateRunRequest", "CreateRunFields")]


def test_the_blocks_pattern_is_the_one_derived_from_block_type() -> None:
    expected = derive.blocks_pattern(SCHEMAS["BlockType"]["enum"])
    for schema in _blocks_schemas():
        assert schema["pattern"] == expected, "the blocks pattern is stale: run `make generate`"


@pytest.mark.parametrize("value", SCHEMAS["BlockType"]["enum"])
def test_the_blocks_pattern_accepts_every_block_type(value: str) -> None:
    for schema in _blocks_schemas():
        jsonschema.validate(f'["{value}"]', schema)
        jsonschema.validate(f'[ "prompt-block" ,\n"{value}" ]', schema)


@pytest.mark.parametrize("raw", ['["no-such-block"]', "[]", '"prompt-block"', "prompt-block"])
def test_the_blocks_pattern_refuses_what_the_docs_refuse(raw: str) -> None:
    for schema in _blocks_schemas():
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(raw, schema)


BLOCKS = SCHEMAS["BlockType"]["enum"]
# A block type the spec does not have yet (whatever it has by then).
NEW_BLOCK = next(f"unlisted{i}-block" for i in range(100) if f"unlisted{i}-block" not in BLOCKS)
NEW_MEMBER = NEW_BLOCK.removesuffix("-block").upper()


def _with_new_block(spec_text: str, *, member: bool = True) -> str:
    last_value, last_member = BLOCKS[-1], SCHEMAS["BlockType"]["x-enum-varnames"][-1]
    grown = spec_text.replace(
        f"        - {last_value}\n      x-enum-varnames:",
        f"        - {last_value}\n        - {NEW_BLOCK}\n      x-enum-varnames:",
    )
    if member:
        grown = grown.replace(
            f"        - {last_member}\n    RunStatus:",
            f"        - {last_member}\n        - {NEW_MEMBER}\n    RunStatus:",
        )
    assert grown.count(NEW_BLOCK) == 1 and (not member or NEW_MEMBER in grown)
    return grown


def test_a_new_block_type_changes_the_derived_pattern_and_enum() -> None:
    """The derivation itself, on an in-memory spec with one more block type."""
    grown = _with_new_block((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    derived = derive.derive_spec_text(grown)
    assert derived.count(f"|{NEW_BLOCK})") == 4  # both blocks fields, both alternations
    enums_text = derive.derive_enums_text(
        (ROOT / "spine" / "_enums.py").read_text(encoding="utf-8"), derive.load_yaml(derived)
    )
    assert f'    {NEW_MEMBER} = "{NEW_BLOCK}"\n    # --- end generated: BlockType' in enums_text


def test_a_value_without_a_member_name_is_refused_with_the_fix() -> None:
    grown = _with_new_block((ROOT / "openapi.yaml").read_text(encoding="utf-8"), member=False)
    with pytest.raises(derive.DeriveError, match="give every value its member name"):
        derive.derive_spec_text(grown)


def test_the_urlencoded_fields_are_the_multipart_fields_without_files() -> None:
    multipart = dict(SCHEMAS["CreateRunRequest"]["properties"])
    del multipart["files"]
    assert SCHEMAS["CreateRunFields"]["properties"] == multipart
    assert SCHEMAS["CreateRunFields"]["required"] == SCHEMAS["CreateRunRequest"]["required"]


def test_the_sandbox_accepts_exactly_the_spec_form_fields() -> None:
    fields = set(SCHEMAS["CreateRunRequest"]["properties"])
    assert set(_app._FIELDS) == fields, (
        f"{source_of(_app)} _FIELDS must list the form fields of CreateRunRequest"
    )


def test_the_sandbox_judges_files_by_the_spec_media_types() -> None:
    encoding = load_spec()["paths"]["/v1/run"]["post"]["requestBody"]["content"][
        "multipart/form-data"
    ]["encoding"]["files"]["contentType"]
    spec_types = {t.strip() for t in encoding.split(",")}
    sandbox_types = set(_runs.IMAGE_MEDIA_TYPES | _runs.DOCUMENT_MEDIA_TYPES)
    assert sandbox_types == spec_types, (
        f"{source_of(_runs)} media types and the spec's files encoding differ: "
        f"only in the sandbox {sorted(sandbox_types - spec_types)}, "
        f"only in the spec {sorted(spec_types - sandbox_types)}"
    )


def test_the_sandbox_has_a_block_list_for_every_template() -> None:
    missing = [t.value for t in _enums.Template if t not in _runs.TEMPLATE_BLOCKS]
    assert missing == [], (
        f"the sandbox has no block list for template(s) {missing}: add them to "
        f"TEMPLATE_BLOCK_VALUES in {source_of(_runs)} (until then it lets them use every block "
        "type)"
    )
    assert _runs.TEMPLATE_BLOCKS[_enums.Template.AUTO] == tuple(_enums.BlockType)


def test_the_cli_lists_the_spec_templates() -> None:
    from spine.cli import _main

    assert list(_main.TEMPLATES) == SCHEMAS["Template"]["enum"]
    row = next(
        line for line in (ROOT / "docs" / "cli.md").read_text().splitlines()
        if line.startswith("| `-t, --template T`")
    )
    listed = re.findall(r"`([a-z_]+)`", row.split("|")[2])
    assert listed[: len(SCHEMAS["Template"]["enum"])] == SCHEMAS["Template"]["enum"], (
        "docs/cli.md lists other templates than the spec: update the --template row"
    )


def test_the_sandbox_error_texts_list_the_spec_vocabularies() -> None:
    assert ", ".join(sorted(SCHEMAS["Template"]["enum"])) == _app._VALID_TEMPLATES
    assert ", ".join(sorted(SCHEMAS["BlockType"]["enum"])) == _app._VALID_BLOCKS


# A count of a vocabulary stated in prose goes stale when the vocabulary grows.
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}  # fmt: skip
_COUNTED = {
    "block types": len(SCHEMAS["BlockType"]["enum"]),
    "templates": len(SCHEMAS["Template"]["enum"]),
    "run statuses": len(SCHEMAS["RunStatus"]["enum"]),
    "task types": len(SCHEMAS["TaskType"]["enum"]),
    "endpoints": sum(
        1 for item in load_spec()["paths"].values() for m in item if m in {"get", "post"}
    ),
    "operations": sum(
        1 for item in load_spec()["paths"].values() for m in item if m in {"get", "post"}
    ),
}
_COUNT = re.compile(
    r"\b(?P<n>\d+|" + "|".join(_NUMBERS) + r")\s+(?:documented\s+|public\s+|api\s+|known\s+)?"
    r"(?P<what>" + "|".join(_COUNTED) + r")\b",
    re.IGNORECASE,
)
_PROSE = [
    ROOT / "openapi.yaml",
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "spine").rglob("*.py")),
    *sorted((ROOT / "spine").rglob("*.md")),
]


def stated_counts(text: str) -> list[tuple[str, int, str]]:
    found = []
    for match in _COUNT.finditer(text):
        raw = match["n"].lower()
        n = int(raw) if raw.isdigit() else _NUMBERS[raw]
        found.append((match["what"].lower(), n, match.group(0)))
    return found


def test_no_text_states_a_count_the_spec_does_not_have() -> None:
    problems = []
    for path in _PROSE:
        text = path.read_text(encoding="utf-8")
        for what, n, said in stated_counts(text):
            if n != _COUNTED[what]:
                problems.append(
                    f"{path.relative_to(ROOT)} says {said!r} but the spec has {_COUNTED[what]} "
                    f"{what}: drop the number or correct it"
                )
    assert problems == []


def test_the_count_check_can_fail() -> None:
    assert stated_counts("the API documents these 17 block types") == [
        ("block types", 17, "17 block types")
    ]
    assert stated_counts("The five API operations") == [("operations", 5, "five API operations")]
    assert stated_counts("retries up to 3 times; 17 blocks") == []
    assert stated_counts("the five public endpoints") == [
        ("endpoints", 5, "five public endpoints")
    ]


# A file a test message names must exist, or the message sends the reader nowhere.
_SPINE_PATH = re.compile(r"(?<![\w/.])spine/[\w/]+\.py\b")


def test_every_spine_file_a_test_names_exists() -> None:
    missing = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for named in _SPINE_PATH.findall(line):
                if not (ROOT / named).is_file():
                    missing.append(f"{path.relative_to(ROOT)}:{number} names {named}")
    assert missing == [], (
        "these tests name files that do not exist (moved?); derive the path from the module, "
        f"e.g. source_of(module) in tests/contract/test_derived.py: {missing}"
    )
