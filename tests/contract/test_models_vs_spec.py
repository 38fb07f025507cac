"""The hand-written pydantic models and enums stay in step with openapi.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

import spine
from spine import _enums

from ._spec import load_spec, resolve

SCHEMAS: dict[str, Any] = load_spec()["components"]["schemas"]
MODELS = [
    name
    for name in spine.__all__
    if isinstance(getattr(spine, name), type)
    and issubclass(getattr(spine, name), BaseModel)
    and name in SCHEMAS
]


def test_every_response_schema_has_a_public_model() -> None:
    response_schemas = {
        name
        for name in SCHEMAS
        if SCHEMAS[name].get("type") == "object"
        and not name.endswith("Envelope")
        and name not in {"CreateRunRequest", "CreateRunFields"}
    }
    assert response_schemas == set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_model_fields_and_required_match_the_schema(name: str) -> None:
    model: type[BaseModel] = getattr(spine, name)
    schema = resolve(SCHEMAS[name])
    fields = {f.alias or n: f for n, f in model.model_fields.items()}
    assert set(fields) == set(schema["properties"]), name
    required = {n for n, f in fields.items() if f.is_required()}
    assert required == set(schema.get("required", [])), name


def test_models_ignore_unknown_fields() -> None:
    for name in MODELS:
        model: type[BaseModel] = getattr(spine, name)
        assert model.model_config.get("extra") == "ignore", name


@pytest.mark.parametrize(
    ("enum", "schema"),
    [
        (_enums.Template, "Template"),
        (_enums.BlockType, "BlockType"),
        (_enums.RunStatus, "RunStatus"),
        (_enums.TaskType, "TaskType"),
    ],
)
def test_enums_match_the_schema_values_and_member_names(enum: Any, schema: str) -> None:
    spec = SCHEMAS[schema]
    assert [m.value for m in enum] == spec["enum"]
    assert [m.name for m in enum] == spec["x-enum-varnames"]


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
