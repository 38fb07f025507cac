"""Response models (reference §9.8) and the envelope parser on the hot path."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, strategies as st
from pydantic import BaseModel, ValidationError

import spine._models as models_module
from spine._enums import BlockType, RunStatus, TaskType
from spine._exceptions import SpineAPIError, UnexpectedResponseError
from spine._models import (
    CanvasDAG,
    CanvasEdge,
    CanvasNode,
    CreateRunResponse,
    GetRunResponse,
    RunArtifact,
    RunError,
    RunMetadata,
    RunProgress,
    RunResult,
    TaskNode,
    TaskTree,
    WebhookEvent,
    parse_envelope,
)


def ok(data: Any) -> bytes:
    return json.dumps({"success": True, "data": data}).encode()


# Documented examples (reference §2, §7), byte for byte where the docs give them.
RUNNING = {
    "run_id": "uuid",
    "status": "running",
    "canvas_id": "uuid",
    "progress": {"tasks_completed": 3, "tasks_total": 8, "elapsed_ms": 480000},
}
COMPLETED = {
    "run_id": "uuid",
    "status": "completed",
    "canvas_id": "uuid",
    "duration_ms": 927300,
    "result": {
        "final_output": "synthesized answer or agent summary",
        "artifacts": [
            {
                "id": "node-uuid",
                "type": "docx",
                "name": "Q1_Report.docx",
                "download_url": "https://...",
                "size_bytes": 245000,
            }
        ],
    },
    "metadata": {
        "template_used": "report",
        "models_used": ["anthropic/claude-sonnet-4-6"],
        "credits_consumed": 45,
    },
}
FAILED = {"run_id": "uuid", "status": "failed", "errors": [{"error": "Agent execution failed"}]}
CREATED = {
    "run_id": "550e8400-e29b-41d4-a716-446655440000",
    "status": "running",
    "poll_url": "/v1/run/550e8400-e29b-41d4-a716-446655440000",
    "estimated_duration_ms": 900000,
}
DAG = {
    "canvas_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
    "nodes": [
        {
            "id": "n1",
            "name": "<string>",
            "type": "prompt-block",
            "status": "completed",
            "content": "<string>",
            "url": "<string>",
            "sources": [{}],
        }
    ],
    "edges": [{"source_id": "n1", "target_id": "n2"}],
    "canvas_name": "<string>",
}
TREE = {
    "canvas_id": "c",
    "completed": [
        {
            "task_id": "t1",
            "name": "Research",
            "task_type": "parent-task",
            "status": "completed",
            "children": [
                {
                    "task_id": "t2",
                    "name": "Analyst",
                    "task_type": "persona-task",
                    "status": "completed",
                    "children": [
                        {
                            "task_id": "t3",
                            "name": "search",
                            "task_type": "tool-call-task",
                            "status": "completed",
                        }
                    ],
                }
            ],
        }
    ],
    "not_completed": [],
}
EVENT = {
    "id": "evt_78ffe7c625d94d2192b2f5a8d63933a6",
    "type": "run.completed",
    "created": 1745251200,
    "livemode": True,
    "api_version": "2026-04-01",
    "data": {"object": {"run_id": "06bb6cee", "status": "completed", "artifacts": []}},
}


# ----------------------------------------------------------------------------- field sets

# (model, required fields, optional fields) as in reference §9.8.
FIELDS: list[tuple[type[BaseModel], set[str], set[str]]] = [
    (RunProgress, {"tasks_completed", "tasks_total", "elapsed_ms"}, set()),
    (RunArtifact, {"id", "type", "name", "download_url"}, {"size_bytes"}),
    (RunResult, {"final_output"}, {"artifacts"}),
    (RunMetadata, {"template_used", "credits_consumed"}, {"models_used"}),
    (RunError, {"error"}, {"block_id", "block_type", "recoverable"}),
    (
        CreateRunResponse,
        {"run_id", "status", "poll_url", "estimated_duration_ms"},
        {"canvas_id"},
    ),
    (
        GetRunResponse,
        {"run_id", "status"},
        {
            "canvas_id",
            "duration_ms",
            "progress",
            "result",
            "metadata",
            "errors",
            "prompt",
            "template",
            "blocks",
            "agent_instructions",
        },
    ),
    (CanvasNode, {"id", "name", "type", "status"}, {"content", "url", "sources"}),
    (CanvasEdge, {"source_id", "target_id"}, set()),
    (CanvasDAG, {"canvas_id", "canvas_name"}, {"nodes", "edges"}),
    (TaskNode, {"task_id", "name", "task_type", "status"}, {"children"}),
    (TaskTree, {"canvas_id"}, {"completed", "not_completed"}),
    (WebhookEvent, {"id", "type", "created"}, {"livemode", "api_version", "data"}),
]


@pytest.mark.parametrize(("model", "required", "optional"), FIELDS)
def test_field_sets(model: type[BaseModel], required: set[str], optional: set[str]) -> None:
    fields = model.model_fields
    assert set(fields) == required | optional
    assert {name for name, f in fields.items() if f.is_required()} == required


def test_config() -> None:
    for model, _, _ in FIELDS:
        config = model.model_config
        assert config.get("extra") == "ignore"
        assert config.get("populate_by_name") is True
        assert not config.get("str_strip_whitespace")
        assert not config.get("frozen")


def test_every_model_is_exported() -> None:
    import spine.models

    assert {m.__name__ for m, _, _ in FIELDS} <= set(spine.models.__all__)


# ----------------------------------------------------------------------------- documented shapes


def test_running_example() -> None:
    run = GetRunResponse.model_validate(RUNNING)
    assert run.status is RunStatus.RUNNING
    assert run.progress == RunProgress(tasks_completed=3, tasks_total=8, elapsed_ms=480000)
    assert run.result is None
    assert run.is_terminal is False


def test_completed_example() -> None:
    run = GetRunResponse.model_validate(COMPLETED)
    assert run.status == "completed"
    assert run.is_terminal
    assert run.result is not None
    assert run.result.artifacts[0].size_bytes == 245000
    assert run.metadata == RunMetadata(
        template_used="report", models_used=["anthropic/claude-sonnet-4-6"], credits_consumed=45
    )


def test_failed_example() -> None:
    run = GetRunResponse.model_validate(FAILED)
    assert run.status is RunStatus.FAILED
    assert run.errors == [RunError(error="Agent execution failed")]
    assert run.canvas_id is None


def test_create_example() -> None:
    created = CreateRunResponse.model_validate(CREATED)
    assert created.canvas_id is None
    assert created.estimated_duration_ms == 900000


def test_dag_example() -> None:
    dag = CanvasDAG.model_validate(DAG)
    assert dag.nodes[0].type is BlockType.PROMPT
    assert dag.nodes[0].sources == [{}]
    assert dag.edges == [CanvasEdge(source_id="n1", target_id="n2")]


def test_task_tree_is_recursive() -> None:
    tree = TaskTree.model_validate(TREE)
    root = tree.completed[0]
    assert root.task_type is TaskType.PARENT
    assert root.children is not None
    child = root.children[0]
    assert child.task_type is TaskType.PERSONA
    assert child.children is not None
    assert child.children[0].task_type is TaskType.TOOL_CALL
    assert child.children[0].children is None


def test_webhook_event_example() -> None:
    event = WebhookEvent.model_validate(EVENT)
    assert event.livemode is True
    assert event.data["object"]["run_id"] == "06bb6cee"
    minimal = WebhookEvent.model_validate({"id": "e", "type": "webhook.ping", "created": 1})
    assert (minimal.livemode, minimal.api_version, minimal.data) == (False, None, {})


# ----------------------------------------------------------------------------- open sets


@pytest.mark.parametrize(
    ("status", "terminal"),
    [("running", False), ("completed", True), ("partial", True), ("failed", True)],
)
def test_known_status(status: str, terminal: bool) -> None:
    run = GetRunResponse(run_id="r", status=status)
    assert isinstance(run.status, RunStatus)
    assert run.status == status
    assert run.is_terminal is terminal


@pytest.mark.parametrize(
    "status",
    [s for s in ("queued", "cancelled", "COMPLETED", "", "completed ") if s not in set(RunStatus)],
)
def test_unknown_status_is_kept_and_never_terminal(status: str) -> None:
    run = GetRunResponse.model_validate_json(json.dumps({"run_id": "r", "status": status}))
    assert type(run.status) is str
    assert run.status == status
    assert run.is_terminal is False


def test_enum_member_input_is_kept() -> None:
    assert GetRunResponse(run_id="r", status=RunStatus.PARTIAL).status is RunStatus.PARTIAL


def test_non_string_status_is_rejected() -> None:
    with pytest.raises(ValidationError, match="valid string"):
        GetRunResponse.model_validate({"run_id": "r", "status": 5})


def test_unknown_block_and_task_types() -> None:
    node = CanvasNode(id="n", name="x", type="hologram-block", status="thinking")
    assert node.type == "hologram-block"
    assert type(node.type) is str
    task = TaskNode(task_id="t", name="x", task_type="swarm-task", status="paused")
    assert type(task.task_type) is str
    assert TaskNode(task_id="t", name="x", task_type="parent-task", status="s").task_type is (
        TaskType.PARENT
    )


def test_open_sets_round_trip_to_json() -> None:
    run = GetRunResponse(run_id="r", status="queued")
    assert json.loads(run.model_dump_json())["status"] == "queued"
    assert GetRunResponse(run_id="r", status="failed").model_dump(mode="json")["status"] == "failed"


def test_artifact_type_and_node_status_stay_strings() -> None:
    artifact = RunArtifact(id="a", type="mp4", name="v.mp4", download_url="u")
    assert artifact.type == "mp4"
    assert artifact.size_bytes is None


# ----------------------------------------------------------------------------- values


def test_unknown_fields_are_ignored() -> None:
    data = dict(COMPLETED, brand_new_field={"x": 1}, cost_usd=0.04)
    run = GetRunResponse.model_validate(data)
    assert not hasattr(run, "brand_new_field")
    assert "brand_new_field" not in run.model_dump()


def test_whitespace_is_preserved() -> None:
    text = "  # Title\n\n  indented code\n\t\n"
    result = RunResult(final_output=text)
    assert result.final_output == text
    node = CanvasNode(id=" n ", name=" x ", type="text-block", status="done", content=text)
    assert node.content == text
    assert node.id == " n "


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (RunProgress, {"tasks_completed": -1, "tasks_total": 1, "elapsed_ms": 0}),
        (RunProgress, {"tasks_completed": 0, "tasks_total": -1, "elapsed_ms": 0}),
        (RunProgress, {"tasks_completed": 0, "tasks_total": 0, "elapsed_ms": -5}),
        (RunMetadata, {"template_used": "auto", "credits_consumed": -1}),
        (
            CreateRunResponse,
            {"run_id": "r", "status": "running", "poll_url": "/", "estimated_duration_ms": -1},
        ),
        (RunArtifact, {"id": "a", "type": "t", "name": "n", "download_url": "u", "size_bytes": -1}),
        (GetRunResponse, {"run_id": "r", "status": "completed", "duration_ms": -1}),
    ],
)
def test_non_negative_ints(model: type[BaseModel], data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        model.model_validate(data)


def test_list_defaults_are_not_shared() -> None:
    a = RunResult(final_output="a")
    b = RunResult(final_output="b")
    a.artifacts.append(RunArtifact(id="1", type="t", name="n", download_url="u"))
    assert b.artifacts == []
    assert CanvasDAG(canvas_id="c", canvas_name="n").nodes == []


def test_models_are_mutable() -> None:
    run = GetRunResponse(run_id="r", status="running")
    run.canvas_id = "c"
    assert run.canvas_id == "c"


# ----------------------------------------------------------------------------- parse_envelope


def test_parse_envelope_success() -> None:
    run = parse_envelope(GetRunResponse, ok(COMPLETED))
    assert isinstance(run, GetRunResponse)
    assert run.result is not None
    assert run.result.final_output == "synthesized answer or agent summary"


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (CreateRunResponse, CREATED),
        (GetRunResponse, RUNNING),
        (GetRunResponse, FAILED),
        (CanvasDAG, DAG),
        (TaskTree, TREE),
        (TaskNode, TREE["completed"][0]),
    ],
)
def test_parse_envelope_documented_bodies(model: type[BaseModel], data: dict[str, Any]) -> None:
    assert parse_envelope(model, ok(data)) == model.model_validate(data)


def test_parse_envelope_accepts_error_null_and_extra_keys() -> None:
    body = json.dumps({"success": True, "error": None, "data": CREATED, "meta": {}}).encode()
    assert parse_envelope(CreateRunResponse, body).run_id == CREATED["run_id"]


def test_parse_envelope_accepts_str_and_bytearray() -> None:
    assert parse_envelope(GetRunResponse, ok(RUNNING).decode()).run_id == "uuid"
    assert parse_envelope(GetRunResponse, bytearray(ok(RUNNING))).run_id == "uuid"


def test_adapter_is_built_once_per_model() -> None:
    parse_envelope(RunError, ok({"error": "x"}))
    first = models_module._ADAPTERS[RunError]
    parse_envelope(RunError, ok({"error": "y"}))
    assert models_module._ADAPTERS[RunError] is first


def test_success_false_with_message_is_an_api_error() -> None:
    body = b'{"success": false, "error": "Run quota exhausted"}'
    with pytest.raises(SpineAPIError) as info:
        parse_envelope(GetRunResponse, body, status_code=200, request_id="r7")
    exc = info.value
    assert type(exc) is SpineAPIError
    assert exc.error_message == "Run quota exhausted"
    assert exc.status_code == 200
    assert exc.request_id == "r7"
    assert exc.raw_body == body


def test_success_false_with_broken_data_is_still_the_api_error() -> None:
    body = b'{"success": false, "error": "nope", "data": {"run_id": 3}}'
    with pytest.raises(SpineAPIError) as info:
        parse_envelope(GetRunResponse, body)
    assert type(info.value) is SpineAPIError
    assert info.value.error_message == "nope"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b"<html><body>Bad gateway</body></html>", "not JSON (starts with '<html><body>Bad"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'"text"', "not an object"),
        (b"null", "not an object"),
        (b'{"success": false}', "'success' is False, not true"),
        (b'{"success": "true", "data": {}}', "'success' is 'true', not true"),
        (b'{"success": 1, "data": {"run_id": "r", "status": "running"}}', "'success' is 1"),
        (b'{"data": {"run_id": "r", "status": "running"}}', "'success' is missing"),
        (b'{"success": true}', "no 'data'"),
        (b'{"success": true, "data": null}', "no 'data'"),
        (b'{"success": true, "data": []}', "data: Input should be an object"),
        (b'{"success": true, "data": {"run_id": "r"}}', "data.status: Field required"),
        (
            b'{"success": true, "data": {"run_id": 1, "status": 2}}',
            "data.run_id: Input should be a valid string (and 1 more problem)",
        ),
        (
            b'{"success": true, "data": {"run_id": "r", "status": "completed",'
            b' "errors": [{"error": "a"}, {"nope": 1}]}}',
            "data.errors[1].error: Field required",
        ),
    ],
)
def test_contract_violations(body: bytes, needle: str) -> None:
    with pytest.raises(UnexpectedResponseError) as info:
        parse_envelope(GetRunResponse, body, status_code=201, request_id="rq")
    exc = info.value
    assert needle in str(exc)
    assert str(exc).startswith("Unexpected response for GetRunResponse: ")
    assert exc.raw_body == body
    assert exc.status_code == 201
    assert exc.request_id == "rq"


def test_validation_error_is_chained_but_not_dumped() -> None:
    secret_payload = "X" * 5000
    body = ok({"run_id": "r", "status": "completed", "result": {"final": secret_payload}})
    with pytest.raises(UnexpectedResponseError) as info:
        parse_envelope(GetRunResponse, body)
    assert isinstance(info.value.__cause__, ValidationError)
    text = str(info.value)
    assert "data.result.final_output: Field required" in text
    assert secret_payload[:50] not in text
    assert len(text) < 400


@given(st.binary(max_size=300))
def test_parse_envelope_never_leaks_other_exceptions(body: bytes) -> None:
    with contextlib.suppress(SpineAPIError):
        parse_envelope(GetRunResponse, body)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                st.sampled_from(["success", "data", "error", "run_id", "status"]),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_parse_envelope_on_arbitrary_json(value: Any) -> None:
    body = json.dumps(value).encode()
    outcome: GetRunResponse | SpineAPIError
    try:
        outcome = parse_envelope(GetRunResponse, body)
    except SpineAPIError as exc:
        outcome = exc
    if isinstance(outcome, SpineAPIError):
        assert outcome.raw_body == body
    else:
        assert value["success"] is True
