"""Provenance: every element of openapi.yaml is documented by Spine or marked as ours, every
example says whether it is the docs', and docs/contract.md lists every element that is ours."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
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
    assert (
        "docs/contract.md has no row for #/components/responses/Conflict: add one saying what "
        "the SDK does if the real service behaves otherwise"
    ) in provenance_problems(spec, listed)


def test_a_row_for_an_element_no_longer_marked_is_named() -> None:
    import copy

    spec = copy.deepcopy(load_spec())
    conflict = spec["components"]["responses"]["Conflict"]
    del conflict["x-spine-documented"], conflict["x-spine-basis"]
    assert (
        "docs/contract.md lists #/components/responses/Conflict, which the spec does not mark "
        "as ours: remove the row or mark the element"
    ) in provenance_problems(spec, listed_in_contract_doc())


def test_a_mark_without_a_basis_is_named() -> None:
    import copy

    spec = copy.deepcopy(load_spec())
    del spec["components"]["parameters"]["IdempotencyKey"]["x-spine-basis"]
    assert (
        "#/components/parameters/IdempotencyKey: needs a one-line x-spine-basis saying why it "
        "is there"
    ) in provenance_problems(spec, listed_in_contract_doc())


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
    (
        ("components", "responses", "BadRequest"),
        {"unsupported file", "unknown form field", "invalid webhook_url"},
    ),
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


# ----------------------------------------------------------------------------- what needs a mark
#
# Some keywords state facts that the reference rarely gives: bounds and patterns, links between
# operations, an explicit `required: false`, the description's version, and error texts. Each
# must be marked as ours (covered by x-spine-documented: false on the element or an ancestor,
# or named in an x-spine-ours list there), or be listed below with the reference's section.

CONSTRAINTS = (
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "pattern", "minItems", "maxItems",
)  # fmt: skip
PARAMETER_PLACES = ("header", "query", "path", "cookie")
# Pointer/keyword -> where the reference documents it. Empty today: every bound is ours.
DOCUMENTED_CONSTRAINTS: dict[str, str] = {}


def _ancestors(spec: dict[str, Any], pointer: str) -> Iterator[dict[str, Any]]:
    """The element at ``pointer`` and every element above it, innermost first."""
    parts = pointer.split("/")[1:]
    nodes: list[Any] = [spec]
    for part in parts:
        node = nodes[-1]
        key = part.replace("~1", "/").replace("~0", "~")
        nodes.append(node[int(key)] if isinstance(node, list) else node[key])
    for node in reversed(nodes):
        if isinstance(node, dict):
            yield node


def is_ours(spec: dict[str, Any], pointer: str, part: str) -> bool:
    """Whether ``part`` of the element at ``pointer`` is marked as ours."""
    for node in _ancestors(spec, pointer):
        if node.get("x-spine-documented") is False or part in node.get("x-spine-ours", []):
            return True
    return False


def unmarked_facts(spec: dict[str, Any]) -> list[str]:
    problems = []
    fix = (
        "Fix: mark it (x-spine-ours: [{part}] and a one-line x-spine-basis, plus its row in "
        "docs/contract.md) or, if the reference documents it, list it in "
        "DOCUMENTED_CONSTRAINTS in tests/contract/test_provenance.py with its section."
    )
    for pointer, node in _walk(spec):
        if not isinstance(node, dict) or pointer.endswith("/properties"):
            continue
        for key in CONSTRAINTS:
            if key in node and not isinstance(node[key], dict):
                if f"{pointer}/{key}" in DOCUMENTED_CONSTRAINTS or is_ours(spec, pointer, key):
                    continue
                problems.append(
                    f"{pointer}: {key} {node[key]!r} is neither documented nor marked as ours. "
                    + fix.format(part=key)
                )
        optional = node.get("in") in PARAMETER_PLACES and node.get("required") is False
        if optional and not is_ours(spec, pointer, "required: false"):
            problems.append(
                f"{pointer}: the {node.get('name')} parameter says required: false, which no "
                "reference page states. " + fix.format(part='"required: false"')
            )
    for pointer, links in _walk(spec):
        if pointer.endswith("/links") and isinstance(links, dict):
            for name in links:
                link = f"{pointer}/{_escape(name)}"
                if not is_ours(spec, link, "link"):
                    problems.append(
                        f"{link}: an OpenAPI link, which the reference does not give. Fix: mark "
                        "it x-spine-documented: false with a one-line x-spine-basis (and its row "
                        "in docs/contract.md)."
                    )
    if not is_ours(spec, "#/info", "version"):
        problems.append(
            f"#/info: version {spec['info'].get('version')!r} is the description's, not Spine's. "
            + fix.format(part="version")
        )
    return problems


def test_every_bound_link_optional_header_and_the_version_is_documented_or_marked() -> None:
    assert unmarked_facts(load_spec()) == []


def test_an_unmarked_bound_link_or_optional_header_is_named() -> None:
    import copy

    spec = copy.deepcopy(load_spec())
    duration = spec["components"]["schemas"]["GetRunResponse"]["properties"]["duration_ms"]
    del duration["x-spine-ours"], duration["x-spine-basis"]
    duration["maximum"] = 86_400_000
    link = spec["paths"]["/v1/run"]["post"]["responses"]["200"]["links"]["GetRun"]
    del link["x-spine-documented"], link["x-spine-basis"]
    del spec["paths"]["/v1/run"]["post"]["responses"]["200"]["x-spine-ours"]
    header = spec["webhooks"]["runEvent"]["post"]["parameters"][1]
    del header["x-spine-ours"], header["x-spine-basis"]
    del spec["info"]["x-spine-ours"]
    found = unmarked_facts(spec)
    pointer = "#/components/schemas/GetRunResponse/properties/duration_ms"
    for expected in (
        f"{pointer}: minimum 0 is neither documented nor marked as ours.",
        f"{pointer}: maximum 86400000 is neither documented nor marked as ours.",
        "#/paths/~1v1~1run/post/responses/200/links/GetRun: an OpenAPI link",
        "#/webhooks/runEvent/post/parameters/1: the Spine-Event-Id parameter says required: "
        "false",
        "#/info: version '1.0.0' is the description's",
    ):
        assert any(p.startswith(expected) for p in found), (expected, found)


# ----------------------------------------------------------------------------- error texts
#
# Every error text the sandbox answers on a documented status is either the docs' (a docs
# example of that response begins with it, or an illustration that says it shows the docs'
# text) or named as ours in that response: by x-spine-documented: false, or by the part of its
# x-spine-ours given here. A new text fails until it is classified here and marked in the spec.

SANDBOX = ROOT / "spine" / "testing" / "_server"
DOCS = "docs"
NOT_API = "not an answer of an API operation"  # the sandbox's own routes
ERROR_TEXTS: dict[tuple[int, str], str] = {
    (400, "Invalid template: "): DOCS,
    (400, "Invalid block types: "): DOCS,
    (400, "Invalid run_id: must be a valid UUID"): DOCS,
    (401, "X-API-KEY header required"): DOCS,
    (404, "Run not found: "): DOCS,
    (500, "An internal error occurred while creating the run"): DOCS,
    (400, "Invalid canvas_id: must be a valid UUID"): "texts for a malformed canvas_id or task_id",
    (400, "Invalid task_id: must be a valid UUID"): "texts for a malformed canvas_id or task_id",
    (400, "Invalid blocks: must be a JSON-encoded array of block type strings"):
        "texts for malformed or empty blocks",
    (400, "Invalid blocks: must be a non-empty array of block types"):
        "texts for malformed or empty blocks",
    (400, "prompt is required"): "missing, empty or blank prompt",
    (400, "prompt must not be empty"): "missing, empty or blank prompt",
    (400, "Unknown field: "): "unknown form field",
    (400, "Unsupported file type: "): "unsupported file",
    (400, "Unexpected file field: "): "file parts other than files",
    (400, "files must be file uploads (parts with a filename)"): "file parts other than files",
    (400, "Malformed form body: expected UTF-8 application/x-www-form-urlencoded"):
        "malformed or non-form body",
    (400, "Malformed multipart body: "): "malformed or non-form body",
    (400, "Malformed multipart body: the Content-Type has no boundary"):
        "malformed or non-form body",
    (400, "Unsupported Content-Type: "): "malformed or non-form body",
    (400, "Invalid webhook_url: must be an absolute URI"): "invalid webhook_url",
    (400, "Invalid Idempotency-Key: must be 1 to 255 characters"): "invalid Idempotency-Key",
    (401, "Invalid API key"): "text for an invalid key",
    (404, "Canvas not found: "): "texts for an unknown canvas or task",
    (404, "Task not found: "): "texts for an unknown canvas or task",
    (500, "An internal error occurred"): "text of a 500 other than a failed create",
    (404, "Not found: "): NOT_API,  # a path that is no route at all
    (404, "Artifact not found: "): NOT_API,  # the sandbox's file host
}  # fmt: skip


def _literal_start(node: Any) -> str | None:
    """The literal text an (f-)string expression starts with."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        text = ""
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                text += value.value
            else:
                break
        return text
    return None


def sandbox_error_texts(root: Path = SANDBOX) -> dict[tuple[int, str], str]:
    """(status, the literal start of the text) -> "file:line", for every error the sandbox's
    source pairs with a status: ``_error(404, "...")``, ``return 400, "..."``, ``(400, "...")``
    and ``{429: "..."}``."""
    import ast

    found: dict[tuple[int, str], str] = {}

    def add(status: Any, text: Any, where: Path, line: int) -> None:
        if not (isinstance(status, ast.Constant) and type(status.value) is int):
            return
        start = _literal_start(text)
        if start is not None and 400 <= status.value <= 599 and start.strip():
            key = (status.value, start)
            found.setdefault(key, f"{where.relative_to(ROOT).as_posix()}:{line}")

    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple) and len(node.elts) == 2:
                add(node.elts[0], node.elts[1], path, node.lineno)
            elif isinstance(node, ast.Call) and len(node.args) >= 2:
                add(node.args[0], node.args[1], path, node.lineno)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    add(key, value, path, node.lineno)
    return found


def _responses_by_status(spec: dict[str, Any]) -> dict[int, set[str]]:
    """Status -> the response components the API's operations answer with it."""
    found: dict[int, set[str]] = {}
    for item in spec["paths"].values():
        for op in item.values():
            for status, response in op.get("responses", {}).items():
                ref = response.get("$ref", "") if isinstance(response, dict) else ""
                if ref.startswith("#/components/responses/"):
                    found.setdefault(int(status), set()).add(ref.rsplit("/", 1)[-1])
    return found


def _docs_texts(response: dict[str, Any]) -> list[str]:
    texts = []
    for media in response.get("content", {}).values():
        for example in (media.get("examples") or {}).values():
            said = str(example.get("summary", ""))
            if example.get("x-spine-example") == "docs" or "the docs' text" in said:
                texts.append(str(example.get("value", {}).get("error", "")))
    return texts


def error_text_problems(
    spec: dict[str, Any], texts: dict[tuple[int, str], str], table: dict[tuple[int, str], str]
) -> list[str]:
    problems = []
    documented = _responses_by_status(spec)
    for (status, start), where in sorted(texts.items()):
        names = documented.get(status)
        if not names:
            continue  # not a status of the API (the sandbox's own routes: 403, 405, ...)
        if all(
            spec["components"]["responses"][n].get("x-spine-documented") is False for n in names
        ):
            continue  # the whole response is ours (409, 413, 429, 503): so are its texts
        part = table.get((status, start))
        if part == NOT_API:
            continue
        if part is None:
            problems.append(
                f"{where} answers {status} {start!r}, which the spec does not account for. Fix: "
                "if a Spine page gives this text, add it as a docs example of "
                f"{', '.join(sorted(names))}; otherwise name it in x-spine-ours there (and in "
                "docs/contract.md), then classify it in ERROR_TEXTS in "
                "tests/contract/test_provenance.py."
            )
            continue
        for name in sorted(names):
            response = spec["components"]["responses"][name]
            pointer = f"#/components/responses/{name}"
            if part == DOCS:
                if not any(t.startswith(start) for t in _docs_texts(response)):
                    problems.append(
                        f"{where} answers {status} {start!r} as the docs' text, but no docs "
                        f"example of {name} begins with it. Fix: add the docs' example (with its "
                        "page), or classify the text as ours in ERROR_TEXTS and mark it."
                    )
            elif not is_ours(spec, pointer, part):
                problems.append(
                    f"{where} answers {status} {start!r}, classified as {part!r}, but {name} "
                    f"does not name {part!r} in x-spine-ours. Fix: add it there (and say so in "
                    "docs/contract.md)."
                )
    for key in sorted(set(table) - set(texts)):
        problems.append(
            f"ERROR_TEXTS in tests/contract/test_provenance.py lists {key}, which the sandbox no "
            "longer answers. Fix: remove the row."
        )
    return problems


def test_every_sandbox_error_text_is_the_docs_or_marked_as_ours() -> None:
    texts = sandbox_error_texts()
    assert (400, "Invalid webhook_url: must be an absolute URI") in texts  # the scan finds them
    assert len(texts) >= len(ERROR_TEXTS)
    assert error_text_problems(load_spec(), texts, ERROR_TEXTS) == []


def test_an_unaccounted_or_unmarked_error_text_is_named() -> None:
    import copy

    texts = {**sandbox_error_texts(), (400, "Invalid colour: "): "pkg/x.py:1"}
    spec = copy.deepcopy(load_spec())
    spec["components"]["responses"]["BadRequest"]["x-spine-ours"].remove("invalid webhook_url")
    found = error_text_problems(spec, texts, ERROR_TEXTS)
    assert (
        "pkg/x.py:1 answers 400 'Invalid colour: ', which the spec does not "
        "account for. Fix: if a Spine page gives this text, add it as a docs example of "
        "BadRequest; otherwise name it in x-spine-ours there (and in docs/contract.md), then "
        "classify it in ERROR_TEXTS in tests/contract/test_provenance.py."
    ) in found
    assert any(
        p.endswith(
            "answers 400 'Invalid webhook_url: must be an absolute URI', classified as 'invalid "
            "webhook_url', but BadRequest does not name 'invalid webhook_url' in x-spine-ours. "
            "Fix: add it there (and say so in docs/contract.md)."
        )
        for p in found
    ), found
