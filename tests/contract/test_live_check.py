"""`spine contract-check` end to end: against the sandbox as a stand-in for the live service
(read operations only, a create only with --allow-create), against a loopback server whose
answers have drifted (each drift reported), without a key (skipped), and what it records."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import spine
from spine import _contract
from spine.cli import _main as cli
from spine.testing import Sandbox

from ._spec import ROOT, load_spec

RUN = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
CANVAS = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
TASK = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
KEY = "sk_spine_contract_SECRET_0123456789"


def spine_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def finished(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, str]]:
    with Sandbox(run_duration=0.3) as sb:
        with spine.SpineClient(api_key=sb.api_key, base_url=sb.url) as client:
            handle = client.runs.create("a run to check", template="report")
            handle.wait(poll_interval=0.05)
        monkeypatch.setenv("SPINE_API_KEY", sb.api_key)
        monkeypatch.setenv("SPINE_BASE_URL", sb.url)
        sb.clear_requests()
        yield sb, handle.run_id


# ----------------------------------------------------------------------------- the sandbox


def test_a_conforming_service_passes_with_reads_only(
    finished: tuple[Sandbox, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, run_id = finished
    monkeypatch.setenv("SPINE_CONTRACT_RUN_ID", run_id)
    created_before = sb.runs_created
    code, out, err = spine_cli("contract-check")
    assert code == 0, out + err
    assert out.count("matches the spec") == 4
    assert "contract-check: OK: 0 errors, 0 warnings in 4 answers" in out
    assert {r.method for r in sb.requests} == {"GET"}  # read operations only
    assert sorted({re.sub(r"[0-9a-f-]{36}", "ID", r.path) for r in sb.requests}) == [
        "/v1/canvas/ID/dag", "/v1/canvas/ID/tasks", "/v1/canvas/ID/tasks/ID", "/v1/run/ID",
    ]  # fmt: skip
    assert sb.runs_created == created_before
    assert all(r.user_agent.startswith(f"spine-sdk-python/{spine.__version__}")
               for r in sb.requests)  # fmt: skip


def test_a_run_is_created_only_with_allow_create(finished: tuple[Sandbox, str]) -> None:
    sb, _ = finished
    before = sb.runs_created
    code, out, err = spine_cli("contract-check")
    assert code == 2 and "needs a run id" in err and sb.runs_created == before
    code, out, _ = spine_cli("contract-check", "--allow-create")
    assert code == 0, out
    assert sb.runs_created == before + 1
    assert "POST /v1/run  HTTP 200  matches the spec" in out
    assert [r.method for r in sb.requests].count("POST") == 1


def test_without_a_key_it_says_what_it_needs_and_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPINE_API_KEY", raising=False)
    code, out, _ = spine_cli("contract-check", RUN)
    assert code == 0
    assert "needs SPINE_API_KEY" in out and "SPINE_CONTRACT_RUN_ID" in out
    assert out.rstrip().endswith("contract-check: skipped")


def test_the_embedded_sandbox_check_records_scrubbed_fixtures(tmp_path: Path) -> None:
    code, out, _ = spine_cli("contract-check", "--sandbox", "--record", str(tmp_path))
    assert code == 0, out
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [f"{op}.json" for op in sorted(_contract.READ_OPERATIONS)]
    for path in tmp_path.iterdir():
        fixture = json.loads(path.read_text())
        assert fixture["source"] == "sandbox" and fixture["status"] == 200
        text = json.dumps(fixture["body"])
        ids = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text))
        assert all(i.startswith("00000000-0000-4000-8000-") for i in ids), ids
        urls = set(re.findall(r"https?://[^\"]+", text))
        assert urls <= {"https://example.invalid/recorded"}, urls
        assert "sk_spine_" not in text
    run = json.loads((tmp_path / "get_run.json").read_text())["body"]["data"]
    dag = json.loads((tmp_path / "get_canvas_dag.json").read_text())["body"]["data"]
    assert run["canvas_id"] == dag["canvas_id"]  # the same id, the same placeholder


def test_json_output(finished: tuple[Sandbox, str]) -> None:
    _, run_id = finished
    code, out, _ = spine_cli("contract-check", run_id, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["ok"] is True and len(document["answers"]) == 4


# ----------------------------------------------------------------------------- drift


# A node status the spec accepts (any string while it is an open set): not one of the drifts.
NODE_STATUS = (
    load_spec()["components"]["schemas"]["CanvasNode"]["properties"]["status"].get("enum")
    or ["done"]
)[0]


def _ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


DRIFTED = {
    f"/v1/run/{RUN}": _ok({
        "runId": RUN,  # camelCase rename: run_id missing, runId unknown
        "status": "paused",  # a value outside the documented (closed) run statuses
        "canvas_id": CANVAS,
        "duration_ms": 1200,
        "result": {"final_output": "done", "artifacts": []},
        "metadata": {"template_used": "memo", "models_used": [], "credits_consumed": "45"},
    }),
    f"/v1/canvas/{CANVAS}/dag": _ok({
        "canvas_id": CANVAS,  # canvas_name missing
        "nodes": [{"id": "n1", "name": "Prompt", "type": "unlisted-block", "status": NODE_STATUS}],
        "edges": [],
    }),
    f"/v1/canvas/{CANVAS}/tasks": _ok({
        "canvas_id": CANVAS,
        "completed": [{"task_id": TASK, "name": "Plan", "task_type": "parent-task",
                       "status": "completed", "children": []}],
        "not_completed": [],
    }),
    f"/v1/canvas/{CANVAS}/tasks/{TASK}": _ok({
        "task_id": TASK, "name": "Plan", "task_type": "parent-task", "status": "completed",
        "children": "none",  # a type change
    }),
}  # fmt: skip


@pytest.fixture
def drifted(httpserver: HTTPServer) -> HTTPServer:
    for path, body in DRIFTED.items():
        httpserver.expect_request(path, method="GET").respond_with_json(body)
    return httpserver


def test_every_drift_of_a_drifted_server_is_reported(drifted: HTTPServer) -> None:
    report = _contract.run_check(
        api_key=KEY, base_url=drifted.url_for("/").rstrip("/"), run_id=RUN
    )
    found = {(f.level, f.operation, f.where, f.problem) for f in report.findings}
    assert found == {
        ("error", "get_run", "data.run_id", "missing required field"),
        ("warning", "get_run", "data.runId", "unknown field"),
        ("error", "get_run", "data.status", "unknown value of a closed set"),
        ("error", "get_run", "data.metadata.credits_consumed", "type mismatch"),
        ("error", "get_canvas_dag", "data.canvas_name", "missing required field"),
        ("warning", "get_canvas_dag", "data.nodes[0].type", "new value of an open set"),
        ("error", "get_canvas_task", "data.children", "type mismatch"),
    }
    assert not report.ok
    detail = {f.where: f.detail for f in report.findings}
    credits = load_spec()["components"]["schemas"]["RunMetadata"]["properties"]
    wanted = credits["credits_consumed"]["type"]
    assert detail["data.metadata.credits_consumed"] == f'expected {wanted}, got string "45"'
    assert detail["data.status"].startswith('"paused" is not one of running, completed')
    assert [e.operation for e in report.exchanges] == list(_contract.READ_OPERATIONS)


def test_the_cli_prints_the_drift_table_and_fails(
    drifted: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPINE_API_KEY", KEY)
    monkeypatch.setenv("SPINE_BASE_URL", drifted.url_for("/").rstrip("/"))
    code, out, err = spine_cli("contract-check", RUN)
    assert code == 1, out + err
    assert "contract-check: FAILED: 5 errors, 2 warnings in 4 answers" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  ERROR")]
    assert ["ERROR", "get_run", "data.metadata.credits_consumed", "type", "mismatch"] in [
        r[:5] for r in rows
    ]
    assert any(r[:3] == ["ERROR", "get_canvas_dag", "data.canvas_name"] for r in rows)
    assert KEY not in out + err


def test_an_undocumented_status_and_a_non_json_body_are_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/v1/run/{RUN}").respond_with_data("teapot", status=418)
    report = _contract.run_check(
        api_key=KEY, base_url=httpserver.url_for("/").rstrip("/"), run_id=RUN
    )
    assert [(f.problem, f.detail) for f in report.findings] == [
        ("not JSON", 'HTTP 418, text/plain; charset=utf-8, body starts "teapot"')
    ]
    assert report.notes == [
        "the run read failed (HTTP 418, not JSON): the DAG, the task tree and the single task "
        "not checked"
    ]


def test_a_failed_read_is_said_as_such_not_as_an_empty_tree(httpserver: HTTPServer) -> None:
    """A gateway's HTML 502 on the task-tree read: the detail says what came back (no
    "None" for a missing Content-Type) and the note says the read failed, not that the tree
    is empty."""
    from werkzeug import Response

    for path in (f"/v1/run/{RUN}", f"/v1/canvas/{CANVAS}/dag"):
        httpserver.expect_request(path).respond_with_json(DRIFTED[path])
    bare = Response("<html><body><h1>502 Bad Gateway</h1></body></html>", status=502)
    del bare.headers["Content-Type"]
    httpserver.expect_request(f"/v1/canvas/{CANVAS}/tasks").respond_with_response(bare)
    report = _contract.run_check(
        api_key=KEY, base_url=httpserver.url_for("/").rstrip("/"), run_id=RUN
    )
    tasks = next(e for e in report.exchanges if e.operation == "get_canvas_tasks")
    assert [(f.problem, f.detail) for f in tasks.findings] == [
        ("not JSON", 'HTTP 502, no Content-Type, body starts "<html><body><h1>502 Bad Gateway'
                     '</h1></body></html>"'),
    ]  # fmt: skip
    assert "the task-tree read failed (HTTP 502, not JSON): the single task not checked" in (
        report.notes
    )
    assert not any("empty" in note for note in report.notes), report.notes
    assert "None" not in _contract.render_table(report)


def test_a_running_run_says_what_its_answers_could_not_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run still going has no result or metadata yet: OK, but the note names what was not
    seen, so nobody takes it for a check of credits_consumed and the rest."""
    with Sandbox(run_duration=600) as sb, spine.SpineClient(
        api_key=sb.api_key, base_url=sb.url
    ) as client:
        run_id = client.runs.create("a run that goes on", template="memo").run_id
        monkeypatch.setenv("SPINE_API_KEY", sb.api_key)
        monkeypatch.setenv("SPINE_BASE_URL", sb.url)
        code, out, err = spine_cli("contract-check", run_id)
    assert code == 0, out + err
    (note,) = [line for line in out.splitlines() if "not checked against the spec" in line]
    for unseen in (
        "GetRunResponse.duration_ms",
        "GetRunResponse.result (RunResult, RunArtifact)",
        "GetRunResponse.metadata (RunMetadata)",
        "GetRunResponse.errors (RunError)",
    ):
        assert unseen in note, note
    assert "GetRunResponse.progress" not in note  # a running run shows its progress
    assert note.endswith(
        "the run is still running: check a finished one (completed, partial or failed) as well"
    )


def test_what_a_finished_run_shows_is_not_listed_as_unseen(finished: tuple[Sandbox, str]) -> None:
    _, run_id = finished
    report = _contract.run_check(
        api_key=finished[0].api_key, base_url=finished[0].url, run_id=run_id
    )
    unseen = _contract.not_exercised(load_spec(), report.exchanges)
    assert "GetRunResponse.progress (RunProgress)" in unseen  # gone once the run ended
    named = {u.split(" ")[0] for u in unseen}
    assert not named & {
        "GetRunResponse.result", "GetRunResponse.metadata", "RunMetadata.credits_consumed",
        "GetRunResponse.canvas_id", "CanvasDAG.nodes", "TaskTree.completed",
    }, unseen  # fmt: skip


# ----------------------------------------------------------------------------- packaging


def test_scrub_replaces_ids_urls_and_secrets_consistently() -> None:
    body = {"a": RUN, "b": [RUN.upper(), CANVAS], "url": "https://x.example/f?signature=s",
            "echo": f"key {KEY} and whsec_abcdef0123456789", "n": 3}  # fmt: skip
    assert _contract.scrub(body, (KEY,)) == {
        "a": "00000000-0000-4000-8000-000000000001",
        "b": ["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"],
        "url": "https://example.invalid/recorded",
        "echo": "key [redacted] and whsec_\u20266789",
        "n": 3,
    }


def test_import_spine_stays_light() -> None:
    code = (
        "import sys, spine; "
        "print(sorted(m for m in ('spine._contract', 'jsonschema', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_spec_ships_inside_the_package() -> None:
    from importlib.metadata import distribution

    assert _contract.spec_path().read_bytes() == (ROOT / "openapi.yaml").read_bytes()
    dist = distribution("spine-python")
    if '"editable": true' in (dist.read_text("direct_url.json") or ""):
        pytest.skip("editable install; `make test` checks the installed wheel's contents")
    assert "spine/openapi.yaml" in {str(f) for f in dist.files or []}
    assert _contract.spec_path().parent.name == "spine"
