"""Compare the public pydantic models with the schemas of openapi.yaml, field by field.

Both sides are JSON Schema: the spec's component schemas, and what pydantic says each model
accepts (``model_json_schema(mode="validation")``). Each field is reduced to a :class:`Shape`
(type, nullability, array items, referenced model, closed or open set and its values, numeric
and length bounds) so that the two can be compared exactly, and every difference is reported
as one sentence naming the schema, the field and the fix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

BOUND_KEYWORDS = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)
PY_TYPES = {
    "integer": "int",
    "number": "float",
    "string": "str",
    "boolean": "bool",
    "array": "list[...]",
    "object": "dict[str, Any]",
    "null": "None",
}
MODELS_FILE = "spine/_models.py"

Resolver = Callable[[str], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Shape:
    kind: str  # integer | number | string | boolean | array | object | model | any | null | union
    nullable: bool = False
    name: str | None = None  # the model a "model" shape refers to
    enum: tuple[str, ...] | None = None  # the values of a set of strings
    enum_name: str | None = None
    open: bool = False  # an open set: any other string is accepted too
    items: Shape | None = None
    bounds: tuple[tuple[str, Any], ...] = ()
    free: bool = False  # an object that accepts any keys
    detail: str = field(default="", compare=False)

    def describe(self) -> str:
        if self.kind == "model":
            text = self.name or "?"
        elif self.enum is not None:
            kind = "open set" if self.open else "closed set"
            text = f"{kind} {self.enum_name} [{', '.join(self.enum)}]"
        elif self.kind == "array":
            text = f"array of {self.items.describe() if self.items else 'anything'}"
        else:
            text = self.kind
        if self.bounds:
            text += " (" + ", ".join(f"{k} {v}" for k, v in self.bounds) + ")"
        return text + (" or null" if self.nullable else "")


def _is_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" and len(set(schema) - _IGNORED) == 1


_IGNORED = {"title", "description", "default", "examples", "deprecated", "readOnly", "format"}


def shape_of(schema: dict[str, Any], resolve: Resolver) -> Shape:
    """Reduce one JSON Schema to a :class:`Shape`; ``resolve`` follows a ``$ref``."""
    if "$ref" in schema:
        name, target = resolve(schema["$ref"])
        if "enum" in target:
            return Shape("string", enum=tuple(target["enum"]), enum_name=name)
        if target.get("type") == "object" and "properties" in target:
            return Shape("model", name=name)
        return shape_of(target, resolve)  # a named wrapper, such as an open set
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches is not None:
        nullable = any(_is_null(b) for b in branches)
        rest = [shape_of(b, resolve) for b in branches if not _is_null(b)]
        enums = [s for s in rest if s.enum is not None]
        strings = [s for s in rest if s.kind == "string" and s.enum is None and not s.bounds]
        if len(rest) == 2 and len(enums) == 1 and len(strings) == 1:
            e = enums[0]
            return Shape("string", nullable, enum=e.enum, enum_name=e.enum_name, open=True)
        if len(rest) == 1:
            one = rest[0]
            return Shape(
                one.kind, nullable or one.nullable, one.name, one.enum, one.enum_name,
                one.open, one.items, one.bounds, one.free,
            )  # fmt: skip
        return Shape("union", nullable, detail=repr(rest))
    types = schema.get("type")
    if types is None:
        return Shape("any")
    if isinstance(types, list):
        nullable = "null" in types
        rest_types = [t for t in types if t != "null"]
        if len(rest_types) != 1:
            return Shape("union", nullable, detail=repr(types))
        kind = rest_types[0]
    else:
        nullable, kind = False, types
    bounds = tuple(sorted((k, schema[k]) for k in BOUND_KEYWORDS if k in schema))
    if "enum" in schema:
        return Shape(kind, nullable, enum=tuple(schema["enum"]), enum_name="(inline)")
    if kind == "array":
        items = schema.get("items")
        return Shape(
            "array", nullable, items=shape_of(items, resolve) if items else Shape("any"),
            bounds=bounds,
        )  # fmt: skip
    if kind == "object":
        free = schema.get("additionalProperties", True) is not False
        return Shape("object", nullable, bounds=bounds, free=free)
    return Shape(kind, nullable, bounds=bounds)


def spec_resolver(spec: dict[str, Any]) -> Resolver:
    def resolve(ref: str) -> tuple[str, dict[str, Any]]:
        prefix = "#/components/schemas/"
        assert ref.startswith(prefix), ref
        name = ref[len(prefix) :]
        return name, spec["components"]["schemas"][name]

    return resolve


def model_resolver(model_schema: dict[str, Any]) -> Resolver:
    defs = model_schema.get("$defs", {})

    def resolve(ref: str) -> tuple[str, dict[str, Any]]:
        name = ref.rsplit("/", 1)[-1]
        return name, defs[name]

    return resolve


def _type_fix(model: str, name: str, want: Shape) -> str:
    if want.kind == "model":
        py = want.name or "?"
    elif want.enum is not None:
        py = f"Open{want.enum_name}" if want.open else str(want.enum_name)
    elif want.kind == "array":
        inner = want.items.describe() if want.items else "Any"
        py = f"list[{PY_TYPES.get(inner, inner)}]"
    else:
        py = PY_TYPES.get(want.kind, want.kind)
    if want.nullable:
        py += " | None"
    return (
        f"Fix: annotate {model}.{name} as `{py}` in {MODELS_FILE} (or correct openapi.yaml if "
        "the spec is wrong)."
    )


def _values(shape: Shape) -> str:
    named = "" if shape.enum_name in (None, "(inline)") else f" {shape.enum_name}"
    values = shape.enum or ()
    return f"{named} of {len(values)} values [{', '.join(values)}]"


def _set_vs_string(where: str, spec: Shape, model: Shape) -> str:
    """One side is a set of values, the other any string: say which, and what to change."""
    if spec.enum is not None:
        if spec.open:
            return (
                f"{where}: the spec makes it an open set{_values(spec)}, the model accepts any "
                f"string without knowing them. Fix: type {where} as Open{spec.enum_name} in "
                f"{MODELS_FILE} (known values compare equal to enum members, others stay "
                "strings)."
            )
        return (
            f"{where}: the spec narrows it to a closed set{_values(spec)}, the model accepts any "
            f"string. Fix: give {where} those values in {MODELS_FILE}: an enum in "
            "spine/_enums.py (name the set in the spec, a schema with enum and x-enum-varnames, "
            "and `make generate` writes its members), used through an open-set parser like "
            "OpenBlockType if unknown values must still parse; or, if Spine does not close the "
            "set, keep the spec open (anyOf: [{$ref: <the set>}, {type: string}])."
        )
    if model.open:
        return (
            f"{where}: the spec allows any string without listing values, the model types it as "
            f"an open set{_values(model)}. Fix: give the spec the same open set (anyOf: "
            f"[{{$ref: {model.enum_name}}}, {{type: string}}]), or type {where} as `str` in "
            f"{MODELS_FILE}."
        )
    return (
        f"{where}: the spec allows any string, the model only a closed set{_values(model)}. "
        f"Fix: type {where} as `str` or Open{model.enum_name} in {MODELS_FILE} so other values "
        "parse, or give the spec the set."
    )


def compare_field(schema_name: str, name: str, spec: Shape, model: Shape) -> list[str]:
    where = f"{schema_name}.{name}"
    if model.kind == "any":  # the model accepts anything at this place
        return []
    problems: list[str] = []
    if spec.kind != model.kind or (spec.kind == "model" and spec.name != model.name):
        problems.append(
            f"{where}: the spec says {spec.describe()}, the model accepts {model.describe()}. "
            + _type_fix(schema_name, name, spec)
        )
        return problems
    if spec.nullable != model.nullable:
        if spec.nullable:
            fix = f"Fix: annotate {where} as `... | None` in {MODELS_FILE}."
            said = "allows null, the model refuses it"
        else:
            fix = (
                f"Fix: drop `| None` from {where} in {MODELS_FILE} (or make the spec nullable: "
                'type: [..., "null"]).'
            )
            said = "does not allow null, the model accepts it"
        problems.append(f"{where}: the spec {said}. {fix}")
    if (spec.enum is None) != (model.enum is None):
        problems.append(_set_vs_string(where, spec, model))
    elif spec.enum is not None or model.enum is not None:
        if spec.open != model.open:
            if spec.open:
                fix = f"type it Open{spec.enum_name} in {MODELS_FILE}, so unknown values parse"
            else:
                fix = (
                    f"type it {spec.enum_name} in {MODELS_FILE}, or make the spec an open set "
                    f"(Open{spec.enum_name})"
                )
            problems.append(
                f"{where}: the spec makes it {'an open' if spec.open else 'a closed'} set "
                f"({spec.enum_name}), the model {'an open' if model.open else 'a closed'} one. "
                f"Fix: {fix}."
            )
        spec_values = set(spec.enum or ())
        model_values = set(model.enum or ())
        if spec_values != model_values:
            added = sorted(spec_values - model_values)
            removed = sorted(model_values - spec_values)
            parts = []
            if added:
                parts.append(f"the spec lists {added}, which the model's {model.enum_name} lacks")
            if removed:
                parts.append(f"the model's {model.enum_name} has {removed}, which the spec lacks")
            problems.append(
                f"{where}: {'; '.join(parts)}. Fix: run `make generate` (it rewrites the "
                "members in spine/_enums.py from the spec)."
            )
    if spec.bounds != model.bounds:
        want = ", ".join(f"{k} {v}" for k, v in spec.bounds) or "no bounds"
        have = ", ".join(f"{k} {v}" for k, v in model.bounds) or "no bounds"
        problems.append(
            f"{where}: the spec says {want}, the model has {have}. Fix: give {where} the same "
            f"bounds in {MODELS_FILE} (e.g. Field(ge=0) / NonNegativeInt for minimum 0)."
        )
    if spec.kind == "object" and spec.free != model.free:
        problems.append(
            f"{where}: the spec {'allows' if spec.free else 'forbids'} other keys, the model "
            f"{'allows' if model.free else 'forbids'} them. Fix: match them in {MODELS_FILE}."
        )
    if spec.kind == "array" and spec.items and model.items:
        problems += compare_field(schema_name, f"{name}[]", spec.items, model.items)
    return problems


def compare_model(
    spec: dict[str, Any], schema_name: str, model: type[BaseModel]
) -> list[str]:
    """Every difference between ``components/schemas/<schema_name>`` and ``model``."""
    schema = spec["components"]["schemas"][schema_name]
    model_schema = model.model_json_schema(mode="validation")
    if "$ref" in model_schema:  # a recursive model (TaskNode) is itself a definition
        model_schema = {**model_resolver(model_schema)(model_schema["$ref"])[1],
                        "$defs": model_schema.get("$defs", {})}
    spec_props: dict[str, Any] = schema.get("properties", {})
    model_props: dict[str, Any] = model_schema.get("properties", {})
    problems: list[str] = []
    for name in sorted(set(spec_props) - set(model_props)):
        problems.append(
            f"{schema_name}.{name}: in the spec, not in the model. Fix: add `{name}` to "
            f"{model.__name__} in {MODELS_FILE}."
        )
    for name in sorted(set(model_props) - set(spec_props)):
        problems.append(
            f"{schema_name}.{name}: in the model, not in the spec. Fix: add it to openapi.yaml "
            "(with x-spine-documented: false if Spine does not document it) or remove it from "
            f"{model.__name__}."
        )
    spec_required = set(schema.get("required", []))
    model_required = set(model_schema.get("required", []))
    for name in sorted(set(spec_props) & set(model_props)):
        where = f"{schema_name}.{name}"
        if name in spec_required and name not in model_required:
            problems.append(
                f"{where}: required by the spec, optional in the model. Fix: remove its default "
                f"in {MODELS_FILE} so a body without it is refused."
            )
        elif name in model_required and name not in spec_required:
            problems.append(
                f"{where}: optional in the spec, required by the model. Fix: give it a default "
                f"(None, or an empty list) in {MODELS_FILE}."
            )
        problems += compare_field(
            schema_name,
            name,
            shape_of(spec_props[name], spec_resolver(spec)),
            shape_of(model_props[name], model_resolver(model_schema)),
        )
    return problems
