"""Every recorded answer (tests/fixtures/recorded/*.json) still validates against openapi.yaml,
parses through the SDK's public model, and has the shape of the sandbox's answer to the same
request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import spine
import spine.models
from spine import _contract
from spine._models import parse_envelope
from spine.testing import Sandbox

from ._spec import ROOT, load_spec

RECORDED = ROOT / "tests" / "fixtures" / "recorded"
FIXTURES = sorted(RECORDED.glob("*.json"))


def model_for(operation: str) -> type[Any]:
    """The public model of an operation's 200 answer, as the spec names it."""
    spec = load_spec()
    schema = _contract.response_schema(spec, operation, 200)
    assert schema is not None
    envelope = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    name = envelope["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
    return getattr(spine.models, name)  # type: ignore[no-any-return]


def shape(value: Any, path: str = "") -> set[tuple[str, str]]:
    """(JSON path, JSON type) of every value; array items share the path ``[]``; null is
    recorded as its own type."""
    found = {(path or "(body)", _contract._json_type(value))}
    if isinstance(value, dict):
        for key, item in value.items():
            found |= shape(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for item in value:
            found |= shape(item, f"{path}[]")
    return found


def shape_problems(recorded: Any, sandbox: Any) -> list[str]:
    """Differences of shape, ignoring nulls (nullable fields) and the items of arrays that are
    empty on one side."""
    a = {p for p in shape(recorded) if p[1] != "null"}
    b = {p for p in shape(sandbox) if p[1] != "null"}
    a_paths, b_paths = {p for p, _ in a}, {p for p, _ in b}
    problems = []
    for path, kind in sorted(a - b):
        if path in b_paths:
            problems.append(f"{path}: the recorded answer has {kind}, the sandbox another type")
        elif not _under_empty_array(path, b_paths):
            problems.append(f"{path}: recorded, but the sandbox never sends it")
    for path, _kind in sorted(b - a):
        if path not in a_paths and not _under_empty_array(path, a_paths):
            problems.append(f"{path}: the sandbox sends it, the recorded answer did not")
    return problems


def _under_empty_array(path: str, other_paths: set[str]) -> bool:
    """``a[].b`` when the other side has ``a`` but no items in it."""
    prefix = ""
    for part in path.split("[]")[:-1]:
        prefix += part
        if prefix in other_paths and not any(q.startswith(prefix + "[]") for q in other_paths):
            return True
        prefix += "[]"
    return False


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_there_are_recorded_answers_for_every_read() -> None:
    assert {p.stem for p in FIXTURES} >= set(_contract.READ_OPERATIONS)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_recorded_answer_validates_against_the_spec(path: Path) -> None:
    fixture = _load(path)
    findings = _contract.check_body(
        load_spec(), fixture["operation"], fixture["status"], fixture["body"]
    )
    assert [f for f in findings if f.level == "error"] == []


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_a_recorded_answer_parses_through_the_public_model(path: Path) -> None:
    fixture = _load(path)
    model = model_for(fixture["operation"])
    parsed = parse_envelope(model, json.dumps(fixture["body"]).encode())
    assert isinstance(parsed, model)


@pytest.fixture(scope="module")
def sandbox_answers() -> dict[str, Any]:
    """The sandbox's answers to the same reads, for a finished run of each outcome."""
    answers: dict[str, Any] = {}
    with Sandbox(run_duration=0.3) as sb, httpx.Client(
        base_url=sb.url, headers={"X-API-KEY": sb.api_key}
    ) as http, spine.SpineClient(api_key=sb.api_key, base_url=sb.url) as client:
        for outcome in ("completed", "partial", "failed"):
            handle = client.runs.create(f"Recorded shape [sandbox:{outcome}]", template="memo")
            handle.wait_for_terminal(poll_interval=0.05)
            run = http.get(f"/v1/run/{handle.run_id}").json()
            canvas = run["data"]["canvas_id"]
            tree = http.get(f"/v1/canvas/{canvas}/tasks").json()
            first = (tree["data"]["completed"] or tree["data"]["not_completed"])[0]["task_id"]
            answers[outcome] = {
                "get_run": run,
                "get_canvas_dag": http.get(f"/v1/canvas/{canvas}/dag").json(),
                "get_canvas_tasks": tree,
                "get_canvas_task": http.get(f"/v1/canvas/{canvas}/tasks/{first}").json(),
            }
    return answers


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_the_sandbox_answers_in_the_same_shape(path: Path, sandbox_answers: Any) -> None:
    fixture = _load(path)
    recorded_run = _load(RECORDED / "get_run.json")["body"]["data"]
    outcome = recorded_run.get("status", "completed")
    answer = sandbox_answers.get(outcome, sandbox_answers["completed"])[fixture["operation"]]
    assert shape_problems(fixture["body"], answer) == []


def test_a_shape_difference_is_named() -> None:
    recorded = {"data": {"run_id": "x", "credits": 1, "items": [{"a": 1}], "none": []}}
    sandbox = {"data": {"run_id": "x", "credits": "1", "items": [{"a": 1, "b": 2}],
                        "none": [{"z": 1}], "extra": True}}
    assert shape_problems(recorded, sandbox) == [
        "data.credits: the recorded answer has integer, the sandbox another type",
        "data.extra: the sandbox sends it, the recorded answer did not",
        "data.items[].b: the sandbox sends it, the recorded answer did not",
    ]
