"""Helpers shared by the contract tests: load openapi.yaml and walk its examples."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi.yaml"


@cache
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)  # type: ignore[no-any-return]


def resolve(node: Any) -> Any:
    """Follow one local ``$ref`` (``#/components/...``) if the node is a reference."""
    spec = load_spec()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def ref_name(schema: dict[str, Any]) -> str:
    """``{"$ref": "#/components/schemas/X"}`` -> ``"X"``."""
    return str(schema["$ref"]).rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Example:
    where: str  # a readable location, used as the test id
    schema: dict[str, Any]
    value: Any
    status: str | None = None


def iter_media_examples() -> Iterator[Example]:
    """Every example under a response or request-body media type (paths and components)."""
    spec = load_spec()

    def from_content(where: str, content: dict[str, Any], status: str | None) -> Iterator[Example]:
        for media_type, media in content.items():
            schema = media.get("schema", {})
            for name, ex in (media.get("examples") or {}).items():
                yield Example(f"{where} {media_type} {name}", schema, resolve(ex)["value"], status)
            if "example" in media:
                yield Example(f"{where} {media_type} example", schema, media["example"], status)

    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = resolve(op.get("requestBody", {}))
            yield from from_content(
                f"{method.upper()} {path} request", body.get("content", {}), None
            )
            for status, response in op.get("responses", {}).items():
                response = resolve(response)
                yield from from_content(
                    f"{method.upper()} {path} {status}", response.get("content", {}), status
                )


def iter_schema_examples() -> Iterator[Example]:
    """Every ``examples`` list on a schema or a property of a component schema."""
    spec = load_spec()

    def walk(where: str, schema: Any) -> Iterator[Example]:
        if not isinstance(schema, dict):
            return
        for i, value in enumerate(schema.get("examples") or []):
            yield Example(f"{where} examples[{i}]", schema, value)
        for name, prop in (schema.get("properties") or {}).items():
            yield from walk(f"{where}.{name}", prop)

    for name, schema in spec["components"]["schemas"].items():
        yield from walk(name, schema)
