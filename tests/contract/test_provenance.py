"""Provenance: every element of openapi.yaml is documented by Spine or marked as ours, every
example says whether it is the docs', and docs/contract.md lists every element that is ours."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from ._spec import ROOT, load_spec

CONTRACT_DOC = ROOT / "docs" / "contract.md"
MARKS = ("x-spine-documented", "x-spine-ours")
DOCS_HOST = "https://docs.getspine.ai/"


def _escape(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _walk(node: Any, pointer: str = "#") -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{pointer}/{_escape(key)}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{i}")


def marked_elements(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Pointer -> element, for every element that says (part of) it is ours."""
    return {
        pointer: node
        for pointer, node in _walk(spec)
        if isinstance(node, dict) and any(mark in node for mark in MARKS)
    }


def examples(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Pointer -> Example Object, for every named example of a media type."""
    found: dict[str, dict[str, Any]] = {}
    for pointer, node in _walk(spec):
        if pointer.endswith("/examples") and isinstance(node, dict) and "/content/" in pointer:
            for name, example in node.items():
                found[f"{pointer}/{_escape(name)}"] = example
    return found


def listed_in_contract_doc() -> dict[str, str]:
    """Pointer -> the row's "if the real service behaves otherwise" cell."""
    rows: dict[str, str] = {}
    for line in CONTRACT_DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or "`#/" not in cells[0]:
            continue
        for pointer in re.findall(r"`(#/[^`]+)`", cells[0]):
            rows[pointer] = cells[2]
    return rows


def provenance_problems(spec: dict[str, Any], listed: dict[str, str]) -> list[str]:
    problems: list[str] = []
    marked = marked_elements(spec)
    for pointer, node in marked.items():
        if "x-spine-documented" in node and node["x-spine-documented"] is not False:
            problems.append(
                f"{pointer}: x-spine-documented may only be false (an unmarked element is "
                "documented by Spine)"
            )
        ours = node.get("x-spine-ours")
        if "x-spine-ours" in node and (
            not isinstance(ours, list) or not ours or not all(isinstance(o, str) for o in ours)
        ):
            problems.append(f"{pointer}: x-spine-ours must list the parts that are ours")
        basis = node.get("x-spine-basis")
        if not isinstance(basis, str) or not basis.strip() or "\n" in basis.strip():
            problems.append(f"{pointer}: needs a one-line x-spine-basis saying why it is there")
    for pointer, node in _walk(spec):
        if isinstance(node, dict) and "x-spine-basis" in node and pointer not in marked:
            problems.append(f"{pointer}: x-spine-basis without x-spine-documented/x-spine-ours")
    for pointer in sorted(marked):
        covered = any(pointer == p or pointer.startswith(p + "/") for p in listed)
        if not covered:
            problems.append(
                f"docs/contract.md has no row for {pointer}: add one saying what the SDK does "
                "if the real service behaves otherwise"
            )
    for pointer, otherwise in listed.items():
        if pointer not in marked:
            problems.append(
                f"docs/contract.md lists {pointer}, which the spec does not mark as ours: "
                "remove the row or mark the element"
            )
        elif not otherwise:
            problems.append(f"docs/contract.md: the row for {pointer} says nothing")
    return problems


def test_the_spec_and_docs_contract_md_agree_on_what_is_ours() -> None:
    assert provenance_problems(load_spec(), listed_in_contract_doc()) == []


def test_an_element_marked_in_the_spec_but_missing_from_the_doc_is_named() -> None:
    spec = load_spec()
    listed = listed_in_contract_doc()
    del listed["#/components/responses/Conflict"]
    assert provenance_problems(spec, listed) == [
        "docs/contract.md has no row for #/components/responses/Conflict: add one saying what "
        "the SDK does if the real service behaves otherwise"
    ]


def test_a_row_for_an_element_no_longer_marked_is_named() -> None:
    import copy

    spec = copy.deepcopy(load_spec())
    conflict = spec["components"]["responses"]["Conflict"]
    del conflict["x-spine-documented"], conflict["x-spine-basis"]
    assert provenance_problems(spec, listed_in_contract_doc()) == [
        "docs/contract.md lists #/components/responses/Conflict, which the spec does not mark "
        "as ours: remove the row or mark the element"
    ]


def test_a_mark_without_a_basis_is_named() -> None:
    import copy

    spec = copy.deepcopy(load_spec())
    del spec["components"]["parameters"]["IdempotencyKey"]["x-spine-basis"]
    assert provenance_problems(spec, listed_in_contract_doc()) == [
        "#/components/parameters/IdempotencyKey: needs a one-line x-spine-basis saying why it "
        "is there"
    ]


# What no Spine page documents, named so that a mark cannot silently disappear.
UNDOCUMENTED = [
    ("components", "parameters", "IdempotencyKey"),
    ("components", "responses", "Conflict"),
    ("components", "responses", "PayloadTooLarge"),
    ("components", "responses", "TooManyRequests"),
    ("components", "responses", "ServiceUnavailable"),
    ("components", "headers", "X-Request-ID"),
    ("components", "headers", "Retry-After"),
    ("components", "schemas", "OpenRunStatus"),
    ("components", "schemas", "CreateRunFields"),
    ("paths", "/v1/run", "post", "requestBody", "content", "application/x-www-form-urlencoded"),
    ("paths", "/v1/run", "post", "requestBody", "content", "multipart/form-data", "encoding",
     "files"),
]
PARTLY_OURS = [
    (("components", "responses", "BadRequest"), {"unsupported file", "unknown form field"}),
    (("components", "schemas", "CreateRunRequest"), {"additionalProperties"}),
    (("components", "schemas", "CreateRunRequest", "properties", "prompt"), {"pattern"}),
    (
        ("components", "schemas", "CreateRunRequest", "properties", "files"),
        {"400 for other files", "413 over a size limit"},
    ),
    (("paths", "/v1/run", "post", "responses", "200"), {"status code"}),
]


def _at(spec: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = spec
    for part in path:
        node = node[part]
    return node  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", UNDOCUMENTED, ids="/".join)
def test_known_undocumented_elements_are_marked(path: tuple[str, ...]) -> None:
    node = _at(load_spec(), path)
    assert node.get("x-spine-documented") is False, "/".join(path)


@pytest.mark.parametrize(("path", "parts"), PARTLY_OURS, ids=lambda p: "/".join(p))
def test_known_parts_of_ours_are_marked(path: tuple[str, ...], parts: set[str]) -> None:
    node = _at(load_spec(), path)
    assert parts <= set(node.get("x-spine-ours", [])), "/".join(path)


def test_every_example_says_whether_it_is_the_docs() -> None:
    problems = []
    for pointer, example in examples(load_spec()).items():
        kind = example.get("x-spine-example")
        summary = str(example.get("summary", ""))
        if kind == "docs":
            source = str(example.get("x-spine-source", ""))
            if not source.startswith(DOCS_HOST):
                problems.append(f"{pointer}: a docs example needs the page in x-spine-source")
            if "docs example" not in summary:
                problems.append(f"{pointer}: its summary should say '(docs example)'")
        elif kind == "illustration":
            if "docs example" in summary:
                problems.append(f"{pointer}: an illustration must not claim to be the docs'")
            if "x-spine-source" in example:
                problems.append(f"{pointer}: an illustration has no docs source")
        else:
            problems.append(f"{pointer}: x-spine-example must be 'docs' or 'illustration'")
    assert problems == []
    assert len(examples(load_spec())) >= 15  # the walk really finds them


def test_descriptions_promise_nothing_undocumented_about_deduplication() -> None:
    """The spec's prose about the Idempotency-Key never states, unqualified, that Spine
    deduplicates."""
    key = load_spec()["components"]["parameters"]["IdempotencyKey"]["description"]
    assert "Spine does not document" in key
    assert "return the same run instead" not in key
