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


def _mutated(edit: Any) -> list[str]:
    spec = copy.deepcopy(SPEC)
    edit(spec["components"]["schemas"])
    return model_problems(spec)


def test_integer_to_number_is_caught() -> None:
    """integer -> number (or back, should the spec say number one day)."""
    now = SPEC["components"]["schemas"]["RunMetadata"]["properties"]["credits_consumed"]["type"]
    then, py = ("number", "float") if now == "integer" else ("integer", "int")

    def edit(s: dict[str, Any]) -> None:
        s["RunMetadata"]["properties"]["credits_consumed"]["type"] = then

    assert _mutated(edit) == [
        f"RunMetadata.credits_consumed: the spec says {then} (minimum 0), the model accepts "
        f"{now} (minimum 0). Fix: annotate RunMetadata.credits_consumed as `{py}` in "
        "spine/_models.py (or correct openapi.yaml if the spec is wrong)."
    ]


def test_string_to_integer_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["CanvasNode"]["properties"]["name"]["type"] = "integer"

    assert _mutated(edit) == [
        "CanvasNode.name: the spec says integer, the model accepts string. Fix: annotate "
        "CanvasNode.name as `int` in spine/_models.py (or correct openapi.yaml if the spec is "
        "wrong)."
    ]


def test_optional_to_required_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["GetRunResponse"]["required"].append("canvas_id")

    assert _mutated(edit) == [
        "GetRunResponse.canvas_id: required by the spec, optional in the model. Fix: remove its "
        "default in spine/_models.py so a body without it is refused."
    ]


def test_nullable_removed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunArtifact"]["properties"]["size_bytes"]["type"] = "integer"

    assert _mutated(edit) == [
        "RunArtifact.size_bytes: the spec does not allow null, the model accepts it. Fix: drop "
        '`| None` from RunArtifact.size_bytes in spine/_models.py (or make the spec nullable: '
        'type: [..., "null"]).'
    ]


def test_nullable_added_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["TaskNode"]["properties"]["name"]["type"] = ["string", "null"]

    assert _mutated(edit) == [
        "TaskNode.name: the spec allows null, the model refuses it. Fix: annotate TaskNode.name "
        "as `... | None` in spine/_models.py."
    ]


def test_an_enum_value_added_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunStatus"]["enum"].append("paused")
        s["RunStatus"]["x-enum-varnames"].append("PAUSED")

    assert _mutated(edit) == [
        "GetRunResponse.status: the spec lists ['paused'], which the model's RunStatus lacks. "
        "Fix: run `make generate` (it rewrites the members in spine/_enums.py from the spec)."
    ]


def test_an_enum_value_removed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["TaskType"]["enum"].remove("persona-task")
        s["TaskType"]["x-enum-varnames"].remove("PERSONA")

    assert _mutated(edit) == [
        "TaskNode.task_type: the model's TaskType has ['persona-task'], which the spec lacks. "
        "Fix: run `make generate` (it rewrites the members in spine/_enums.py from the spec)."
    ]


def test_an_open_set_made_closed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["CanvasNode"]["properties"]["type"] = {"$ref": "#/components/schemas/BlockType"}

    assert _mutated(edit) == [
        "CanvasNode.type: the spec makes it a closed set (BlockType), the model an open one. "
        "Fix: type it BlockType in spine/_models.py, or make the spec an open set "
        "(OpenBlockType)."
    ]


def test_a_bound_added_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["WebhookEvent"]["properties"]["created"]["minimum"] = 0

    assert _mutated(edit) == [
        "WebhookEvent.created: the spec says minimum 0, the model has no bounds. Fix: give "
        "WebhookEvent.created the same bounds in spine/_models.py (e.g. Field(ge=0) / "
        "NonNegativeInt for minimum 0)."
    ]


def test_array_items_are_compared() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunMetadata"]["properties"]["models_used"]["items"] = {"type": "integer"}

    assert _mutated(edit) == [
        "RunMetadata.models_used[]: the spec says integer, the model accepts string. Fix: "
        "annotate RunMetadata.models_used[] as `int` in spine/_models.py (or correct "
        "openapi.yaml if the spec is wrong)."
    ]


def test_a_nested_model_reference_is_compared() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunResult"]["properties"]["artifacts"]["items"] = {
            "$ref": "#/components/schemas/RunError"
        }

    assert _mutated(edit) == [
        "RunResult.artifacts[]: the spec says RunError, the model accepts RunArtifact. Fix: "
        "annotate RunResult.artifacts[] as `RunError` in spine/_models.py (or correct "
        "openapi.yaml if the spec is wrong)."
    ]


def test_a_webhook_event_field_renamed_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        props = s["WebhookEvent"]["properties"]
        props["createdAt"] = props.pop("created")
        s["WebhookEvent"]["required"] = ["id", "type", "createdAt"]

    assert _mutated(edit) == [
        "WebhookEvent.createdAt: in the spec, not in the model. Fix: add `createdAt` to "
        "WebhookEvent in spine/_models.py.",
        "WebhookEvent.created: in the model, not in the spec. Fix: add it to openapi.yaml (with "
        "x-spine-documented: false if Spine does not document it) or remove it from "
        "WebhookEvent.",
    ]


def test_a_new_schema_without_a_model_is_caught() -> None:
    def edit(s: dict[str, Any]) -> None:
        s["RunCost"] = {"type": "object", "properties": {"credits": {"type": "integer"}}}

    assert _mutated(edit) == [
        "RunCost: the spec has this schema but spine.models has no model of that name. Fix: add "
        "one in spine/_models.py and export it from spine.models and spine."
    ]


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
