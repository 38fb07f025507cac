"""``make spec-diff``: what changed in openapi.yaml since a base, and is it a breaking change?

    python codegen/spec_diff.py [--base REF]

The base is ``--base`` (``make spec-diff BASE=<ref>``), else the last release tag (``v*``),
else the merge base with ``main``. The spec in the working tree is compared with the base's;
every change is printed as breaking or compatible, in a maintainer's words, from the point of
view of this SDK (which reads every response and sends every request):

breaking
    a removed or renamed operation, field, parameter, status or enum value; a type change; a
    request field or parameter made required, or a new required one; a response field made
    optional; nullability, bounds or a closed set of a response changed; a tighter request
    constraint; a new value of a closed set the SDK reads, or of a set the docs give as closed
    although the SDK parses it as open (``x-spine-closed-in-docs``: a new run status needs a
    decision whether it ends a run).
compatible
    an added operation, optional request field or parameter, response field, status or media
    type; a new value of an open set (or of a set the SDK only sends); a looser request
    constraint.
documentation
    descriptions, summaries, examples and ``x-`` extensions (counted, not listed one by one).

It exits non-zero on a breaking change unless ``spine/_version.py`` was bumped as semver asks
(the major version, or the minor one while the major is 0) and the new version's section of
``CHANGELOG.md`` names each breaking element (``Schema.field``, the operation such as
``POST /v1/run``, or the enum value); the failure prints the lines to add. Rules live in
small functions, each with a unit test (``tests/contract/test_spec_diff.py``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import derive

ROOT = Path(__file__).resolve().parent.parent
SPEC = "openapi.yaml"
VERSION_FILE = "spine/_version.py"
CHANGELOG = "CHANGELOG.md"
METHODS = ("get", "put", "post", "delete", "patch")
DOC_KEYS = {"description", "summary", "examples", "example", "title", "deprecated", "externalDocs"}
BOUNDS_MIN = ("minimum", "exclusiveMinimum", "minLength", "minItems")
BOUNDS_MAX = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")

# Where the SDK decides what a value of a set closed in the docs means (named in the message).
DECISIONS = {
    "RunStatus": " (whether it ends a run: RUN_STATUS_OUTCOMES in spine/_enums.py)",
}

BREAKING = "breaking"
COMPATIBLE = "compatible"
DOCS = "documentation"


@dataclass(frozen=True)
class Change:
    kind: str  # BREAKING | COMPATIBLE | DOCS
    where: str
    what: str

    def line(self) -> str:
        label = {BREAKING: "BREAKING  ", COMPATIBLE: "compatible", DOCS: "docs      "}[self.kind]
        return f"{label}  {self.where}: {self.what}"


# ----------------------------------------------------------------------------- schema helpers


def _ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return str(node["$ref"]).rsplit("/", 1)[-1]
    return None


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        name = _ref_name(node)
        if name and "/schemas/" in node["$ref"]:
            yield name
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def usage(spec: dict[str, Any]) -> dict[str, set[str]]:
    """Schema name -> {"request", "response"}: where the SDK meets it (transitively)."""
    schemas = spec.get("components", {}).get("schemas", {})
    roots: dict[str, set[str]] = {"request": set(), "response": set()}
    for _where, op in _operations(spec):
        for param in op.get("parameters", []):
            roots["request"].update(_refs(_resolve(spec, param)))
        roots["request"].update(_refs(_resolve(spec, op.get("requestBody", {}))))
        for response in op.get("responses", {}).values():
            roots["response"].update(_refs(_resolve(spec, response)))
    for _where, hook in _webhooks(spec):  # the SDK parses webhook bodies: a response for us
        roots["response"].update(_refs(_resolve(spec, hook.get("requestBody", {}))))
    used: dict[str, set[str]] = {}
    for side, names in roots.items():
        todo = list(names)
        while todo:
            name = todo.pop()
            if side in used.setdefault(name, set()):
                continue
            used[name].add(side)
            todo.extend(_refs(schemas.get(name, {})))
    return used


def _wrapped_sets(spec: dict[str, Any]) -> tuple[set[str], set[str]]:
    """Enum schemas read only through ``anyOf: [{$ref: Enum}, {type: string}]``, and those of
    them whose wrapper says the docs give the set as closed (``x-spine-closed-in-docs``)."""
    direct: set[str] = set()
    wrapped: set[str] = set()
    closed_in_docs: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            branches = node.get("anyOf")
            if isinstance(branches, list) and len(branches) == 2:
                names = [_ref_name(b) for b in branches]
                plain = [b for b in branches if b == {"type": "string"}]
                if plain and any(names):
                    wrapped.update(n for n in names if n)
                    if node.get("x-spine-closed-in-docs") is True:
                        closed_in_docs.update(n for n in names if n)
                    return
            name = _ref_name(node)
            if name:
                direct.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in spec.items() if k != "components"})
    walk({k: v for k, v in spec.get("components", {}).items()})
    return wrapped - direct, closed_in_docs & (wrapped - direct)


def open_sets(spec: dict[str, Any]) -> set[str]:
    """Enum schemas read only as open sets (an unknown value parses as a string), except those
    the docs give as closed: a new value of one of those needs a decision (see
    :func:`closed_in_docs`)."""
    wrapped, closed = _wrapped_sets(spec)
    return wrapped - closed


def closed_in_docs(spec: dict[str, Any]) -> set[str]:
    """Enum schemas the SDK parses as open sets although the docs give them as closed (the
    wrapper carries ``x-spine-closed-in-docs: true``, as OpenRunStatus does)."""
    return _wrapped_sets(spec)[1]


def _types(schema: dict[str, Any]) -> tuple[set[str], bool]:
    """The non-null JSON types a schema allows, and whether it allows null."""
    branches = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(branches, list):
        nullable = any(b == {"type": "null"} for b in branches)
        rest = [b for b in branches if b != {"type": "null"}]
        kinds: set[str] = set()
        for branch in rest:
            name = _ref_name(branch)
            kinds.add(f"${name}" if name else ",".join(sorted(_types(branch)[0])) or "any")
        return kinds, nullable
    name = _ref_name(schema)
    if name:
        return {f"${name}"}, False
    raw = schema.get("type")
    if raw is None:
        return ({"string"} if "enum" in schema else {"any"}), False
    listed = raw if isinstance(raw, list) else [raw]
    return {t for t in listed if t != "null"}, "null" in listed


def _describe(kinds: set[str]) -> str:
    return " or ".join(sorted(k.lstrip("$") for k in kinds)) or "nothing"


# ----------------------------------------------------------------------------- schema rules


def compare_schema(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    sides: set[str],
    *,
    open_set: bool = False,
    docs_closed: bool = False,
    old_spec: dict[str, Any] | None = None,
    new_spec: dict[str, Any] | None = None,
) -> list[Change]:
    """Changes between two versions of one schema met on ``sides`` (request and/or response)."""
    changes: list[Change] = []
    request, response = "request" in sides, "response" in sides
    old_kinds, old_null = _types(old)
    new_kinds, new_null = _types(new)
    if old_kinds != new_kinds:
        as_set = _set_change(old, new, where, sides, old_spec, new_spec)
        changes.append(as_set or Change(
            BREAKING, where,
            f"type changed from {_describe(old_kinds)} to {_describe(new_kinds)}",
        ))  # fmt: skip
        return changes
    if old_null != new_null:
        if new_null:
            kind = BREAKING if response else COMPATIBLE
            changes.append(Change(kind, where, "may now be null" + (
                " (code and models reading it must accept null)" if response else ""
            )))  # fmt: skip
        else:
            changes.append(Change(BREAKING, where, "may no longer be null (a narrowed type)"))
    changes += _compare_enum(old, new, where, sides, open_set, docs_closed)
    changes += _compare_bounds(old, new, where, request, response)
    if old.get("pattern") != new.get("pattern"):
        changes.append(_pattern_change(old, new, where, old_spec, new_spec))
    for key in ("format", "const", "contentMediaType"):
        if old.get(key) != new.get(key):
            changes.append(Change(
                BREAKING, where, f"{key} changed from {old.get(key)!r} to {new.get(key)!r}"
            ))  # fmt: skip
    if old.get("default") != new.get("default"):
        changes.append(Change(
            BREAKING if request else COMPATIBLE, where,
            f"default changed from {old.get('default')!r} to {new.get('default')!r}",
        ))  # fmt: skip
    changes += _compare_properties(old, new, where, sides, old_spec, new_spec)
    if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
        changes += compare_schema(
            old["items"], new["items"], f"{where}[]", sides,
            old_spec=old_spec, new_spec=new_spec,
        )  # fmt: skip
    for key in ("oneOf", "anyOf"):
        old_b, new_b = old.get(key), new.get(key)
        if isinstance(old_b, list) and isinstance(new_b, list) and len(old_b) == len(new_b):
            for a, b in zip(old_b, new_b, strict=True):
                if _ref_name(a) is None and _ref_name(b) is None and a != {"type": "null"}:
                    changes += compare_schema(
                        a, b, where, sides, old_spec=old_spec, new_spec=new_spec
                    )
    changes += _doc_changes(old, new, where)
    return changes


def _string_set(
    spec: dict[str, Any] | None, schema: dict[str, Any]
) -> tuple[list[str], bool] | None:
    """The values of a set of strings (an inline ``enum``, a ``$ref`` to an enum schema, or an
    open-set wrapper ``anyOf: [{$ref: Enum}, {type: string}]``) and whether it is open; None for
    anything else (a plain string included)."""
    if "enum" in schema:
        return [str(v) for v in schema["enum"]], False
    if spec is None or _ref_name(schema) is None:
        return None
    target = _resolve(spec, schema)
    if not isinstance(target, dict):
        return None
    if "enum" in target:
        return [str(v) for v in target["enum"]], False
    branches = target.get("anyOf")
    if isinstance(branches, list) and {"type": "string"} in branches:
        for branch in branches:
            if isinstance(branch, dict) and _ref_name(branch):
                inner = _resolve(spec, branch)
                if isinstance(inner, dict) and "enum" in inner:
                    return [str(v) for v in inner["enum"]], True
    return None


def _is_plain_string(schema: dict[str, Any]) -> bool:
    return _types(schema)[0] == {"string"} and "enum" not in schema and _ref_name(schema) is None


def _set_change(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    sides: set[str],
    old_spec: dict[str, Any] | None,
    new_spec: dict[str, Any] | None,
) -> Change | None:
    """A string field that became a set of values (or stopped being one), said once rather
    than as one line per value; None when the change is not of that kind."""
    request, response = "request" in sides, "response" in sides
    old_set, new_set = _string_set(old_spec, old), _string_set(new_spec, new)
    name = _ref_name(new) or _ref_name(old)
    named = f" ({name})" if name else ""
    if _is_plain_string(old) and new_set is not None:
        values, is_open = new_set
        listed = ", ".join(values)
        if is_open:
            return Change(COMPATIBLE, where, (
                f"a string that now lists {len(values)} known values{named}: [{listed}] (an open "
                "set: any other string is still accepted)"
            ))  # fmt: skip
        return Change(BREAKING if (request or response) else COMPATIBLE, where, (
            f"narrowed from string to a closed set{named} of {len(values)} values: [{listed}]"
            + (" (models must follow: an enum, or an open-set parser)" if response else "")
            + (" (requests with other values now fail)" if request else "")
        ))  # fmt: skip
    if old_set is not None and _is_plain_string(new):
        values, was_open = old_set
        if was_open:
            return Change(COMPATIBLE, where, f"no longer lists its known values{named}")
        return Change(BREAKING if response else COMPATIBLE, where, (
            f"widened from a closed set{named} of {len(values)} values to any string"
            + (" (models typed with the set refuse other values)" if response else "")
        ))  # fmt: skip
    return None


def _compare_enum(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    sides: set[str],
    open_set: bool,
    docs_closed: bool = False,
) -> list[Change]:
    if "enum" not in old and "enum" not in new:
        return []
    if "enum" not in old or "enum" not in new:
        # A string that became a closed set (or stopped being one): one line, not one per value.
        as_set = _set_change(old, new, where, sides, None, None)
        if as_set is not None:
            return [as_set]
    old_values, new_values = list(old.get("enum", [])), list(new.get("enum", []))
    changes = [
        Change(BREAKING, where, f"enum value {v!r} was removed")
        for v in old_values
        if v not in new_values
    ]
    for value in new_values:
        if value in old_values:
            continue
        if docs_closed and "response" in sides:
            changes.append(Change(
                BREAKING, where,
                f"new value {value!r} of a set the docs give as closed (x-spine-closed-in-docs): "
                "the SDK parses it as a string, but what it means must be decided before release"
                + DECISIONS.get(where, ""),
            ))  # fmt: skip
        elif open_set or not sides or sides == {"request"}:
            why = (
                "an open set" if open_set
                else "no operation uses it" if not sides
                else "the SDK only sends it"
            )
            changes.append(Change(COMPATIBLE, where, f"new value {value!r} ({why})"))
        else:
            changes.append(Change(
                BREAKING, where,
                f"new value {value!r} of a closed set the SDK reads (it would refuse it)",
            ))  # fmt: skip
    return changes


def _compare_bounds(
    old: dict[str, Any], new: dict[str, Any], where: str, request: bool, response: bool
) -> list[Change]:
    changes = []
    for key in (*BOUNDS_MIN, *BOUNDS_MAX):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        lower = key in BOUNDS_MIN
        tighter = (b is not None) and (a is None or (b > a if lower else b < a))
        was, now = ("none" if v is None else v for v in (a, b))
        said = f"{key} changed from {was} to {now}"
        if response:
            changes.append(Change(BREAKING, where, f"{said} (a response bound: models follow it)"))
        elif request and tighter:
            changes.append(Change(BREAKING, where, f"{said} (tighter: some requests now fail)"))
        else:
            changes.append(Change(COMPATIBLE, where, f"{said} (looser)"))
    return changes


def _pattern_change(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    old_spec: dict[str, Any] | None,
    new_spec: dict[str, Any] | None,
) -> Change:
    """A pattern change is breaking, unless it is the blocks pattern following a grown
    BlockType (make generate derives it)."""
    if old_spec is not None and new_spec is not None:
        old_values, new_values = _block_values(old_spec), _block_values(new_spec)
        if (
            old.get("pattern") == derive.blocks_pattern(old_values)
            and new.get("pattern") == derive.blocks_pattern(new_values)
            and set(old_values) <= set(new_values)
        ):
            return Change(COMPATIBLE, where, "pattern follows the new block types")
    return Change(BREAKING, where, "pattern changed (requests it accepted may now be refused)")


def _block_values(spec: dict[str, Any]) -> list[str]:
    schemas = spec.get("components", {}).get("schemas", {})
    return list(schemas.get(derive.BLOCKS_ENUM, {}).get("enum", []))


def _compare_properties(
    old: dict[str, Any],
    new: dict[str, Any],
    where: str,
    sides: set[str],
    old_spec: dict[str, Any] | None,
    new_spec: dict[str, Any] | None,
) -> list[Change]:
    old_props: dict[str, Any] = old.get("properties") or {}
    new_props: dict[str, Any] = new.get("properties") or {}
    if not old_props and not new_props:
        return []
    request, response = "request" in sides, "response" in sides
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    removed = [n for n in old_props if n not in new_props]
    added = [n for n in new_props if n not in old_props]
    changes: list[Change] = []
    renamed: dict[str, str] = {}
    for gone in removed:
        twins = [a for a in added if _strip_docs(new_props[a]) == _strip_docs(old_props[gone])]
        if len(twins) == 1 and twins[0] not in renamed.values():
            renamed[gone] = twins[0]
    for gone in removed:
        if gone in renamed:
            changes.append(Change(
                BREAKING, f"{where}.{gone}",
                f"field renamed to {renamed[gone]!r}: code and models using {gone!r} break",
            ))  # fmt: skip
        else:
            changes.append(Change(BREAKING, f"{where}.{gone}", "field removed"))
    for name in added:
        if name in renamed.values():
            continue
        if request and name in new_req:
            changes.append(Change(BREAKING, f"{where}.{name}", "new required request field"))
        elif request and not response:
            changes.append(Change(COMPATIBLE, f"{where}.{name}", "new optional request field"))
        else:
            changes.append(Change(COMPATIBLE, f"{where}.{name}", "new response field"))
    for name in old_props:
        if name not in new_props:
            continue
        path = f"{where}.{name}"
        if name not in old_req and name in new_req:
            changes.append(Change(
                BREAKING if request else COMPATIBLE, path,
                "optional field made required" + (" (requests without it fail)" if request else ""),
            ))  # fmt: skip
        elif name in old_req and name not in new_req:
            changes.append(Change(
                BREAKING if response else COMPATIBLE, path,
                "required field made optional"
                + (" (models requiring it break)" if response else ""),
            ))  # fmt: skip
        changes += compare_schema(
            old_props[name], new_props[name], path, sides,
            old_spec=old_spec, new_spec=new_spec,
        )  # fmt: skip
    old_extra = old.get("additionalProperties", True)
    new_extra = new.get("additionalProperties", True)
    if old_extra is not False and new_extra is False:
        changes.append(Change(
            BREAKING if request else COMPATIBLE, where, "unknown fields are now refused"
        ))  # fmt: skip
    elif old_extra is False and new_extra is not False:
        changes.append(Change(COMPATIBLE, where, "unknown fields are now allowed"))
    return changes


def _strip_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _strip_docs(v)
            for k, v in node.items()
            if k not in DOC_KEYS and not str(k).startswith("x-")
        }
    if isinstance(node, list):
        return [_strip_docs(v) for v in node]
    return node


def _doc_changes(old: dict[str, Any], new: dict[str, Any], where: str) -> list[Change]:
    changed = sorted(
        k
        for k in set(old) | set(new)
        if (k in DOC_KEYS or str(k).startswith("x-")) and old.get(k) != new.get(k)
    )
    return [Change(DOCS, where, f"{', '.join(changed)} changed")] if changed else []


# ----------------------------------------------------------------------------- operations


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in (spec.get("paths") or {}).items():
        for method, op in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", op


def _webhooks(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, item in (spec.get("webhooks") or {}).items():
        for method, op in item.items():
            if method in METHODS:
                yield f"webhook {name}", op


def _schema_ref(spec: dict[str, Any], node: Any) -> str:
    node = _resolve(spec, node)
    schema = node.get("schema", {}) if isinstance(node, dict) else {}
    return _ref_name(schema) or repr(_strip_docs(schema))


def compare_operation(
    old_spec: dict[str, Any], new_spec: dict[str, Any], where: str,
    old: dict[str, Any], new: dict[str, Any],
) -> list[Change]:  # fmt: skip
    changes: list[Change] = []
    if old.get("operationId") != new.get("operationId"):
        changes.append(Change(
            BREAKING, where,
            f"operation renamed from {old.get('operationId')!r} to {new.get('operationId')!r}",
        ))  # fmt: skip
    if old.get("security") != new.get("security"):
        changes.append(Change(BREAKING, where, "security requirements changed"))

    def params(spec: dict[str, Any], op: dict[str, Any]) -> dict[tuple[str, str], Any]:
        found = {}
        for p in op.get("parameters", []):
            p = _resolve(spec, p)
            found[(p["in"], p["name"])] = p
        return found

    old_params, new_params = params(old_spec, old), params(new_spec, new)
    for key, param in old_params.items():
        label = f"{where} {key[0]} parameter {key[1]}"
        if key not in new_params:
            changes.append(Change(BREAKING, label, "parameter removed"))
            continue
        now = new_params[key]
        if not param.get("required") and now.get("required"):
            changes.append(Change(BREAKING, label, "optional parameter made required"))
        elif param.get("required") and not now.get("required"):
            changes.append(Change(COMPATIBLE, label, "required parameter made optional"))
        changes += compare_schema(
            param.get("schema", {}), now.get("schema", {}), label, {"request"},
            old_spec=old_spec, new_spec=new_spec,
        )  # fmt: skip
    for key, param in new_params.items():
        if key not in old_params:
            label = f"{where} {key[0]} parameter {key[1]}"
            if param.get("required"):
                changes.append(Change(BREAKING, label, "new required parameter"))
            else:
                changes.append(Change(COMPATIBLE, label, "new optional parameter"))

    old_body = _resolve(old_spec, old.get("requestBody", {}))
    new_body = _resolve(new_spec, new.get("requestBody", {}))
    old_media, new_media = old_body.get("content", {}), new_body.get("content", {})
    for media in old_media:
        if media not in new_media:
            changes.append(Change(BREAKING, f"{where} request", f"{media} body no longer accepted"))
        elif _schema_ref(old_spec, old_media[media]) != _schema_ref(new_spec, new_media[media]):
            changes.append(Change(BREAKING, f"{where} request {media}", "body schema replaced"))
    for media in new_media:
        if media not in old_media:
            changes.append(Change(COMPATIBLE, f"{where} request", f"{media} body also accepted"))
    if not old_body.get("required") and new_body.get("required"):
        changes.append(Change(BREAKING, f"{where} request", "a body is now required"))

    old_resp, new_resp = old.get("responses", {}), new.get("responses", {})
    for status in old_resp:
        label = f"{where} {status}"
        if status not in new_resp:
            success = str(status).startswith("2")
            changes.append(Change(
                BREAKING if success else COMPATIBLE, label,
                "success response removed" if success else "error status no longer documented",
            ))  # fmt: skip
            continue
        a, b = _resolve(old_spec, old_resp[status]), _resolve(new_spec, new_resp[status])
        for media in a.get("content", {}):
            if media not in b.get("content", {}):
                changes.append(Change(BREAKING, label, f"no longer answers {media}"))
            elif _schema_ref(old_spec, a["content"][media]) != _schema_ref(
                new_spec, b["content"][media]
            ):
                changes.append(Change(BREAKING, f"{label} {media}", "answer schema replaced"))
    for status in new_resp:
        if status not in old_resp:
            changes.append(Change(COMPATIBLE, f"{where} {status}", "new response status"))
    changes += _doc_changes(old, new, where)
    return changes


# ----------------------------------------------------------------------------- whole specs


def diff_specs(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new``."""
    changes: list[Change] = []
    old_ops, new_ops = dict(_operations(old)), dict(_operations(new))
    for where, op in old_ops.items():
        if where not in new_ops:
            changes.append(Change(BREAKING, where, f"operation {op.get('operationId')} removed"))
        else:
            changes += compare_operation(old, new, where, op, new_ops[where])
    for where, op in new_ops.items():
        if where not in old_ops:
            changes.append(Change(COMPATIBLE, where, f"new operation {op.get('operationId')}"))
    old_hooks, new_hooks = dict(_webhooks(old)), dict(_webhooks(new))
    for where, op in old_hooks.items():
        if where not in new_hooks:
            changes.append(Change(BREAKING, where, "webhook removed"))
        else:
            changes += compare_operation(old, new, where, op, new_hooks[where])
    for where in new_hooks:
        if where not in old_hooks:
            changes.append(Change(COMPATIBLE, where, "new webhook"))
    if old.get("security") != new.get("security"):
        changes.append(Change(BREAKING, "security", "global security requirements changed"))

    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    old_use, new_use = usage(old), usage(new)
    opened = open_sets(old) & open_sets(new)
    docs_closed = closed_in_docs(old) | closed_in_docs(new)
    for name, schema in old_schemas.items():
        if name not in new_schemas:
            if old_use.get(name):
                changes.append(Change(BREAKING, name, "schema removed"))
            continue
        sides = old_use.get(name, set()) | new_use.get(name, set())
        changes += compare_schema(
            schema, new_schemas[name], name, sides, open_set=name in opened,
            docs_closed=name in docs_closed, old_spec=old, new_spec=new,
        )  # fmt: skip
    for name in new_schemas:
        if name not in old_schemas:
            changes.append(Change(COMPATIBLE, name, "new schema"))
    for section in ("parameters", "responses", "headers"):
        a = old.get("components", {}).get(section, {})
        b = new.get("components", {}).get(section, {})
        for name in set(a) | set(b):
            same = _strip_docs(a.get(name)) == _strip_docs(b.get(name))
            if a.get(name) != b.get(name) and same:
                changes.append(Change(DOCS, f"components/{section}/{name}", "documentation"))
    if old.get("info") != new.get("info"):
        changes.append(Change(DOCS, "info", "changed"))
    return changes


# ----------------------------------------------------------------------------- the gate


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.search(r'__version__\s*=\s*"(\d+)\.(\d+)\.(\d+)', text)
    if not match:
        raise ValueError(f"no __version__ = \"X.Y.Z\" in {VERSION_FILE}")
    return int(match[1]), int(match[2]), int(match[3])


def required_bump(old: tuple[int, int, int]) -> tuple[int, int, int]:
    """The smallest version that may carry a breaking change after ``old`` (semver; while the
    major version is 0, a minor bump)."""
    if old[0] == 0:
        return (0, old[1] + 1, 0)
    return (old[0] + 1, 0, 0)


def changelog_section(changelog: str, version: str) -> str | None:
    """The body of the Keep a Changelog section ``## [version]``, or None without one."""
    match = re.search(
        rf"^## \[{re.escape(version)}\][^\n]*\n(?P<body>.*?)(?=^## \[|\Z)", changelog, re.M | re.S
    )
    return match["body"] if match else None


def changelog_has(changelog: str, version: str) -> bool:
    """A Keep a Changelog section ``## [version]`` with at least one entry under it."""
    body = changelog_section(changelog, version)
    return bool(body and re.search(r"^\s*[-*] \S", body, re.M))


_OPERATION = re.compile(r"^(?:(?:GET|PUT|POST|DELETE|PATCH) /\S*|webhook \S+)")
_VALUE = re.compile(r"^(?:enum value|new value) (?P<q>['\"])(?P<value>.*?)(?P=q)")


def element(change: Change) -> str:
    """What a changelog entry must name for ``change``: the enum value (``cancelled``), the
    operation (``POST /v1/run``) or the schema field (``CreateRunResponse.poll_url``)."""
    value = _VALUE.match(change.what)
    if value:
        return value["value"]
    operation = _OPERATION.match(change.where)
    if operation:
        return operation.group(0)
    return change.where.replace("[]", "")


def changelog_line(change: Change) -> str:
    """The changelog line that names ``change`` (what the gate asks for)."""
    name = element(change)
    if _VALUE.match(change.what):
        return f"- `{change.where}` value `{name}`: {change.what}."
    if change.where.startswith(name):
        rest = change.where[len(name) :]
        if rest == "[]" or rest.endswith(".[]"):
            return f"- `{name}`: its items: {change.what}."
        return f"- `{name}`{rest}: {change.what}."
    return f"- `{name}` ({change.where}): {change.what}."


def names(section: str, token: str) -> bool:
    """Whether a changelog section names ``token`` as a whole (``Thing.note`` is not named by
    ``Thing.notes``, nor ``POST /v1/run`` by ``POST /v1/run/{id}``)."""
    pattern = rf"(?<![\w.-]){re.escape(token)}(?![\w-]|\.\w|/)"
    return re.search(pattern, section) is not None


def _lines_to_add(changes: list[Change]) -> str:
    lines = list(dict.fromkeys(changelog_line(c) for c in changes))
    return "".join(f"\n    {line}" for line in lines)


def gate(
    changes: list[Change], old_version: str, new_version: str, changelog: str
) -> tuple[bool, str]:
    """Whether the change set may land, and the verdict in words.

    A breaking change needs the version bumped (semver; the minor version while 0.x) and the
    new version's ``CHANGELOG.md`` section to name each breaking element: the schema field,
    the operation or the enum value. So a breaking change made after the bump (the version
    already says 0.2.0, the changelog already has a 0.2.0 section) still fails until the
    changelog says it; the message gives the lines to add.
    """
    breaking = [c for c in changes if c.kind == BREAKING]
    if not breaking:
        return True, "no breaking change."
    old, new = parse_version(old_version), parse_version(new_version)
    need = required_bump(old)
    old_s, new_s, need_s = (".".join(map(str, v)) for v in (old, new, need))
    if new < need:
        return False, (
            f"{len(breaking)} breaking change(s) and the version is still {new_s} (base: "
            f"{old_s}). Fix: set __version__ = \"{need_s}\" in {VERSION_FILE}, and add to "
            f"{CHANGELOG} under \"## [{need_s}]\" (### Changed or ### Removed):"
            + _lines_to_add(breaking)
        )
    section = changelog_section(changelog, new_s) or ""
    unnamed = [c for c in breaking if not names(section, element(c))]
    if unnamed:
        if changelog_has(changelog, new_s):
            problem = f"does not name {len(unnamed)} of them in its \"## [{new_s}]\" section"
        else:
            problem = f"has no \"## [{new_s}]\" section with entries"
        return False, (
            f"{len(breaking)} breaking change(s) and the version is {new_s}, but {CHANGELOG} "
            f"{problem}. Fix: add to {CHANGELOG} under \"## [{new_s}]\" (### Changed or "
            "### Removed):" + _lines_to_add(unnamed)
        )
    return True, (
        f"{len(breaking)} breaking change(s), released as {new_s} (from {old_s}), each named in "
        f"{CHANGELOG}."
    )


def _git(*args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    proc = subprocess.run([git, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def default_base() -> tuple[str | None, str]:
    tag = _git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*")
    if tag:
        return tag, f"the last release tag {tag}"
    for branch in ("main", "origin/main"):
        base = _git("merge-base", "HEAD", branch)
        if base:
            return base, f"the merge base with {branch} ({base[:12]})"
    return None, "no release tag and no main branch"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spec-diff", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base", help="a git ref (default: the last v* tag, else the merge base with main)"
    )
    args = parser.parse_args(argv)
    if args.base:
        base, said = args.base, args.base
    else:
        base, said = default_base()
    if base is None:
        print(f"spec-diff: nothing to compare with ({said}); skipped.")
        return 0
    old_text = _git("show", f"{base}:{SPEC}")
    if old_text is None:
        if args.base and _git("rev-parse", "--verify", f"{base}^{{commit}}") is None:
            print(f"spec-diff: {base!r} is not a git ref here.")
            return 2
        print(f"spec-diff: {SPEC} does not exist at {said}; nothing to compare.")
        return 0
    old_version = _git("show", f"{base}:{VERSION_FILE}") or '__version__ = "0.0.0"'
    new_text = (ROOT / SPEC).read_text(encoding="utf-8")
    new_version = (ROOT / VERSION_FILE).read_text(encoding="utf-8")
    changelog_path = ROOT / CHANGELOG
    changelog = changelog_path.read_text(encoding="utf-8") if changelog_path.exists() else ""
    changes = diff_specs(derive.load_yaml(old_text), derive.load_yaml(new_text))

    print(f"spec-diff: {SPEC} (working tree) against {said}")
    listed = [c for c in changes if c.kind != DOCS]
    for change in sorted(listed, key=lambda c: (c.kind != BREAKING, c.where)):
        print("  " + change.line())
    docs = [c for c in changes if c.kind == DOCS]
    if docs:
        print(f"  docs        {len(docs)} description/example/extension change(s), not listed")
    if not changes:
        print("  (no change)")
    ok, verdict = gate(changes, old_version, new_version, changelog)
    print(("spec-diff: " if ok else "spec-diff: FAILED: ") + verdict)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
