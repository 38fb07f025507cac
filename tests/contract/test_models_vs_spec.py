"""The public pydantic models agree with openapi.yaml, field by field: names, types (integer,
number, string, boolean), arrays and their items, nested models, required, nullability, closed
and open sets with their values, and numeric bounds; the webhook event included.

The mutation tests change an in-memory copy of the spec the way an API change would, and show
that each change fails the comparison with a message naming the schema, the field and the fix.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import pytest
from pydantic import BaseModel

import spine
import spine.models

from ._shapes import compare_model
from ._spec import load_spec

SPEC = load_spec()


def request_schemas(spec: dict[str, Any]) -> set[str]:
    """Schemas that are request bodies of an operation (sent, not parsed, by the SDK)."""
    names = set()
    for item in spec["paths"].values():
        for op in item.values():
            for media in op.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                names.add(ref.rsplit("/", 1)[-1])
    return names


def body_schemas(spec: dict[str, Any]) -> list[str]:
    """Every object schema the SDK parses: responses' data and the webhook event."""
    return sorted(
        name
        for name, schema in spec["components"]["schemas"].items()
        if schema.get("type") == "object"
        and not name.endswith("Envelope")
        and name not in request_schemas(spec)
    )


def public_model(name: str) -> type[BaseModel] | None:
    model = getattr(spine.models, name, None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def model_problems(spec: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for name in body_schemas(spec):
        model = public_model(name)
        if model is None:
            problems.append(
                f"{name}: the spec has this schema but spine.models has no model of that name. "
                "Fix: add one in spine/_models.py and export it from spine.models and spine."
            )
            continue
        problems += compare_model(spec, name, model)
    return problems


def test_every_body_schema_has_a_public_model_that_matches_it() -> None:
    assert "WebhookEvent" in body_schemas(SPEC)
    assert len(body_schemas(SPEC)) >= 13
    assert model_problems(SPEC) == []


def test_every_public_model_has_a_schema() -> None:
    models = {n for n in spine.models.__all__ if public_model(n) is not None}
    assert models == set(body_schemas(SPEC))


def test_models_ignore_unknown_fields() -> None:
    for name in body_schemas(SPEC):
        model = public_model(name)
        assert model is not None
        assert model.model_config.get("extra") == "ignore", name


def test_the_create_form_fields_are_the_create_parameters() -> None:
    """The request schema against the SDK's signatures: one keyword per form field (header
    parameters too), the required field positional, the same for sync and async."""
    op = SPEC["paths"]["/v1/run"]["post"]
    fields = set(SPEC["components"]["schemas"]["CreateRunRequest"]["properties"])
    headers = {
        SPEC["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]]["name"]
        for p in op.get("parameters", [])
    }
    wanted = fields | {h.lower().replace("-", "_") for h in headers}
    local = {"api_key": "sk_spine_test", "base_url": "http://127.0.0.1:9"}
    sync_client, async_client = spine.SpineClient(**local), spine.AsyncSpineClient(**local)
    for method in (sync_client.runs.create, async_client.runs.create):
        params = inspect.signature(method).parameters
        assert set(params) == wanted, method.__qualname__
        assert params["prompt"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert all(
            params[n].default is not inspect.Parameter.empty for n in wanted - {"prompt"}
        ), "only the required field may lack a default"


# ----------------------------------------------------------------------------- mutations


# The mutation tests below check the check: each edits a copy of the spec and expects its
# problem among those reported. None assumes the spec is otherwise clean: a real drift fails the
# real comparison above, not every mutation test as well.


def _mutated(edit: Any) -> list[str]:
    """Every problem of the spec once edited."""
    spec = copy.deepcopy(SPEC)
    edit(spec["components"]["schemas"])
    return model_problems(spec)


def _caught(edit: Any, *expected: str) -> None:
    found = _mutated(edit)
    missing = [e for e in expected if e not in found]
    assert not missing, f"the mutation should report {missing}; it reported {found}"


def _model_type(model: str, field: str) -> str:
    """The JSON type the public model accepts for a field (its non-null branch)."""
    found = public_model(model)
    assert found is not None
    schema = found.model_json_schema(mode="validation")["properties"][field]
    branches = schema.get("anyOf", [schema])
    return str(next(b["type"] for b in branches if b.get("type") not in (None, "null")))


def test_integer_to_number_is_caught() -> None:
    """integer -> number (or back, should the model say number one day)."""
    now = _model_type("RunMetadata", "credits_consumed")
    then, py = ("number", "float") if now == "integer" else ("integer", "int")

    def edit(s: dict[str, Any]) -> None:
        s["RunMetadata"]["properties"]["credits_consumed"]["type"] = then

    found = _mutated(edit)
    assert any(
        p.startswith(f"RunMetadata.credits_consumed: the spec says {then}")
        and f"the model accepts {now}" in p
        and p.endswith(
            f"Fix: annotate RunMetadata.credits_consumed as `{py}` in spine/_models.py (or "
            "correct openapi.yaml if the spec is wrong)."
        )
        for p in found
    ), found


def test_string_to_integer_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["CanvasNode"]["properties"]["name"]["type"] = "integer"

    _caught(
        edit,
        "CanvasNode.name: the spec says integer, the model accepts string. Fix: annotate "
        "CanvasNode.name as `int` in spine/_models.py (or correct openapi.yaml if the spec is "
        "wrong).",
    )


def test_optional_to_required_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["GetRunResponse"]["required"].append("canvas_id")

    _caught(
        edit,
        "GetRunResponse.canvas_id: required by the spec, optional in the model. Fix: remove its "
        "default in spine/_models.py so a body without it is refused.",
    )


def test_nullable_removed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunArtifact"]["properties"]["size_bytes"]["type"] = "integer"

    _caught(
        edit,
        "RunArtifact.size_bytes: the spec does not allow null, the model accepts it. Fix: drop "
        '`| None` from RunArtifact.size_bytes in spine/_models.py (or make the spec nullable: '
        'type: [..., "null"]).',
    )


def test_nullable_added_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["TaskNode"]["properties"]["name"]["type"] = ["string", "null"]

    _caught(
        edit,
        "TaskNode.name: the spec allows null, the model refuses it. Fix: annotate TaskNode.name "
        "as `... | None` in spine/_models.py.",
    )


def test_an_enum_value_added_is_caught() -> None:
    values = SPEC["components"]["schemas"]["RunStatus"]["enum"]
    new = next(v for v in ("paused", "archived", "expired") if v not in values)

    def edit(s: dict[str, Any]) -> None:
        s["RunStatus"]["enum"].append(new)
        s["RunStatus"]["x-enum-varnames"].append(new.upper())

    _caught(
        edit,
        f"GetRunResponse.status: the spec lists [{new!r}], which the model's RunStatus lacks. "
        "Fix: run `make generate` (it rewrites the members in spine/_enums.py from the spec).",
    )


def test_an_enum_value_removed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["TaskType"]["enum"].remove("persona-task")
        s["TaskType"]["x-enum-varnames"].remove("PERSONA")

    _caught(
        edit,
        "TaskNode.task_type: the model's TaskType has ['persona-task'], which the spec lacks. "
        "Fix: run `make generate` (it rewrites the members in spine/_enums.py from the spec).",
    )


def test_an_open_set_made_closed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["CanvasNode"]["properties"]["type"] = {"$ref": "#/components/schemas/BlockType"}

    _caught(
        edit,
        "CanvasNode.type: the spec makes it a closed set (BlockType), the model an open one. "
        "Fix: type it BlockType in spine/_models.py, or make the spec an open set "
        "(OpenBlockType).",
    )


def test_a_string_narrowed_to_a_closed_set_is_caught_with_the_fix() -> None:
    """Said once, with what to change in the models, not "run make generate" (which writes no
    enum for an inline set) nor a "None" where the model's set would be named."""

    def edit(s: dict[str, Any]) -> None:
        s["CanvasNode"]["properties"]["status"] = {
            "type": "string", "enum": ["idle", "running", "completed", "error"],
        }  # fmt: skip

    said = (
        "CanvasNode.status: the spec narrows it to a closed set of 4 values [idle, running, "
        "completed, error], the model accepts any string. Fix: give CanvasNode.status those "
        "values in spine/_models.py: an enum in spine/_enums.py (name the set in the spec, a "
        "schema with enum and x-enum-varnames, and `make generate` writes its members), used "
        "through an open-set parser like OpenBlockType if unknown values must still parse; or, "
        "if Spine does not close the set, keep the spec open (anyOf: [{$ref: <the set>}, "
        "{type: string}])."
    )
    _caught(edit, said)
    about = [p for p in _mutated(edit) if p.startswith("CanvasNode.status:")]
    assert about == [said]  # once, and no "the model's None lacks"


def test_a_string_given_an_open_set_and_an_open_set_made_a_string_are_caught() -> None:
    def listed(s: dict[str, Any]) -> None:
        s["TaskNode"]["properties"]["status"] = {"$ref": "#/components/schemas/OpenTaskType"}

    def unlisted(s: dict[str, Any]) -> None:
        s["CanvasNode"]["properties"]["type"] = {"type": "string"}

    _caught(
        listed,
        "TaskNode.status: the spec makes it an open set TaskType of "
        f"{len(SPEC['components']['schemas']['TaskType']['enum'])} values "
        f"[{', '.join(SPEC['components']['schemas']['TaskType']['enum'])}], the model accepts "
        "any string without knowing them. Fix: type TaskNode.status as OpenTaskType in "
        "spine/_models.py (known values compare equal to enum members, others stay strings).",
    )
    found = [p for p in _mutated(unlisted) if p.startswith("CanvasNode.type:")]
    assert len(found) == 1 and found[0].startswith(
        "CanvasNode.type: the spec allows any string without listing values, the model types "
        "it as an open set BlockType of "
    ), found


def test_a_bound_added_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["WebhookEvent"]["properties"]["created"]["minimum"] = 0

    _caught(
        edit,
        "WebhookEvent.created: the spec says minimum 0, the model has no bounds. Fix: give "
        "WebhookEvent.created the same bounds in spine/_models.py (e.g. Field(ge=0) / "
        "NonNegativeInt for minimum 0).",
    )


def test_array_items_are_compared() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunMetadata"]["properties"]["models_used"]["items"] = {"type": "integer"}

    _caught(
        edit,
        "RunMetadata.models_used[]: the spec says integer, the model accepts string. Fix: "
        "annotate RunMetadata.models_used[] as `int` in spine/_models.py (or correct "
        "openapi.yaml if the spec is wrong).",
    )


def test_a_nested_model_reference_is_compared() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunResult"]["properties"]["artifacts"]["items"] = {
            "$ref": "#/components/schemas/RunError"
        }

    _caught(
        edit,
        "RunResult.artifacts[]: the spec says RunError, the model accepts RunArtifact. Fix: "
        "annotate RunResult.artifacts[] as `RunError` in spine/_models.py (or correct "
        "openapi.yaml if the spec is wrong).",
    )


def test_a_webhook_event_field_renamed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        props = s["WebhookEvent"]["properties"]
        props["createdAt"] = props.pop("created")
        s["WebhookEvent"]["required"] = ["id", "type", "createdAt"]

    _caught(
        edit,
        "WebhookEvent.createdAt: in the spec, not in the model. Fix: add `createdAt` to "
        "WebhookEvent in spine/_models.py.",
        "WebhookEvent.created: in the model, not in the spec. Fix: add it to openapi.yaml (with "
        "x-spine-documented: false if Spine does not document it) or remove it from "
        "WebhookEvent.",
    )


def test_a_new_schema_without_a_model_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunCost"] = {"type": "object", "properties": {"credits": {"type": "integer"}}}

    _caught(
        edit,
        "RunCost: the spec has this schema but spine.models has no model of that name. Fix: add "
        "one in spine/_models.py and export it from spine.models and spine.",
    )


def test_open_sets_in_the_spec_are_open_in_the_models() -> None:
    run = spine.GetRunResponse.model_validate({"run_id": "r", "status": "archived"})
    assert run.status == "archived"
    assert not run.is_terminal
    node = spine.CanvasNode.model_validate(
        {"id": "n", "name": "x", "type": "new-block", "status": "?"}
    )
    assert node.type == "new-block"
    task = spine.TaskNode.model_validate(
        {"task_id": "t", "name": "x", "task_type": "z", "status": "?"}
    )
    assert task.task_type == "z"
    known = spine.GetRunResponse.model_validate({"run_id": "r", "status": "completed"})
    assert known.status is spine.RunStatus.COMPLETED


@pytest.mark.parametrize("name", ["RunMetadata", "WebhookEvent"])
def test_a_valid_body_per_the_spec_parses(name: str) -> None:
    """The comparison is about acceptance: a body the spec allows parses in the model."""
    bodies = {
        "RunMetadata": {"template_used": "memo", "credits_consumed": 3},
        "WebhookEvent": {"id": "evt_1", "type": "run.started", "created": 1},
    }
    model = public_model(name)
    assert model is not None
    model.model_validate(bodies[name])
