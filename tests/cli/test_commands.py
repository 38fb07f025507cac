"""``spine status``, ``wait``, ``download``, ``dag``, ``tasks`` and ``sandbox``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

import spine
from spine.testing import Sandbox

from .conftest import FAST, KEY, child_env, finished_run, run_spine, spine_command


def test_status_of_a_finished_run(env: dict[str, str], client: spine.SpineClient) -> None:
    run_id = finished_run(client, template="excel")
    result = run_spine("status", run_id, env=env)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Run:      {run_id}"
    assert lines[1] == "Status:   completed"
    assert any(line.startswith("Canvas:   ") and "(not on the web app" in line for line in lines)
    assert any(line.startswith("Credits:") for line in lines)
    assert any(".xlsx" in line for line in lines)

    as_json = json.loads(run_spine("status", run_id, "--json", env=env).stdout)
    assert as_json["run_id"] == run_id and as_json["status"] == "completed"
    assert as_json["canvas_id"] and as_json["canvas_url"] is None  # a sandbox: no web link
    assert as_json["result"]["artifacts"][0]["download_url"].startswith("http://127.0.0.1")


def test_status_of_a_running_run() -> None:
    with Sandbox(run_duration=None, api_keys=[KEY]) as manual:  # runs never end on their own
        env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual.url}
        with spine.SpineClient(api_key=KEY, base_url=manual.url) as c:
            handle = c.runs.create("Long")
            manual.advance(5)
            c.runs.get(handle.run_id)
        result = run_spine("status", handle.run_id, env=env)
        assert result.code == 0  # status reports; it does not judge
        assert "Status:   running" in result.stdout
        assert re.search(r"Progress: \d+/\d+ tasks, 0:0\d elapsed", result.stdout)


def test_status_of_a_failed_run_exits_0(env: dict[str, str], client: spine.SpineClient) -> None:
    run_id = finished_run(client, "Broken [sandbox:failed]")
    result = run_spine("status", run_id, env=env)
    assert result.code == 0
    assert "Status:   failed" in result.stdout and "Error" in result.stdout


def test_wait(env: dict[str, str], client: spine.SpineClient, tmp_path: Path) -> None:
    handle = client.runs.create("Wait for me", template="memo")
    result = run_spine("wait", handle.run_id, *FAST, "--download", str(tmp_path), env=env)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("# Wait for me")
    assert any(p.suffix == ".docx" for p in tmp_path.iterdir())
    again = run_spine("wait", handle.run_id, "--json", env=env)  # already finished: at once
    assert json.loads(again.stdout)["status"] == "completed"


def test_wait_partial_and_failed(env: dict[str, str], client: spine.SpineClient) -> None:
    partial = client.runs.create("Half [sandbox:partial]")
    failed = client.runs.create("None [sandbox:failed]")
    assert run_spine("wait", partial.run_id, *FAST, env=env).code == 3
    assert run_spine("wait", failed.run_id, *FAST, env=env).code == 4


def test_download(env: dict[str, str], client: spine.SpineClient, tmp_path: Path) -> None:
    run_id = finished_run(client, "Deck and sheet", blocks=["presentation-block", "excel-block"])
    out = tmp_path / "files"
    result = run_spine("download", run_id, str(out), env=env)
    assert result.code == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert {p.suffix for p in paths} >= {".pptx", ".xlsx"}
    for path in paths:
        assert path.parent == out and path.is_file()
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)

    # again, as JSON: same names, files replaced in place, nothing duplicated
    again = run_spine("download", run_id, str(out), "--json", env=env)
    data = json.loads(again.stdout)
    assert [Path(d["path"]) for d in data["downloads"]] == paths
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)


def test_download_of_a_failed_run(env: dict[str, str], client: spine.SpineClient) -> None:
    run_id = finished_run(client, "x [sandbox:failed]")
    result = run_spine("download", run_id, "out", env=env)
    assert result.code == 4
    assert "has no artifacts" in result.stderr


def _tree_prefix_ok(lines: list[str]) -> bool:
    return all(re.match(r"^((│   |    )*(├── |└── ))?\S", line) for line in lines)


def test_dag_formats(env: dict[str, str], client: spine.SpineClient) -> None:
    run_id = finished_run(client, "Memo with a file", template="memo")
    canvas_id = client.runs.get(run_id).canvas_id
    assert canvas_id is not None
    dag = client.canvas.get_dag(canvas_id)

    tree = run_spine("dag", canvas_id, env=env)
    assert tree.code == 0, tree.stderr
    lines = tree.stdout.splitlines()
    assert lines[0].startswith("Canvas 'Memo with a file'")
    assert f"{len(dag.nodes)} blocks, {len(dag.edges)} edges" in lines[0]
    assert _tree_prefix_ok(lines[1:])
    for node in dag.nodes:
        assert any(line.endswith(f"{node.name}  ({node.type}, {node.status})") for line in lines)

    mermaid = run_spine("dag", canvas_id, "--format", "mermaid", env=env).stdout
    assert mermaid.startswith("flowchart TD\n")
    assert mermaid.count(" --> ") == len(dag.edges)
    assert "classDef completed" in mermaid

    dot = run_spine("dag", canvas_id, "--format", "dot", env=env).stdout
    assert dot.startswith('digraph "Memo with a file" {') and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(dag.edges)

    def comparable(data: dict[str, Any]) -> dict[str, Any]:
        # node urls are pre-signed afresh on every request
        return {**data, "nodes": [{**n, "url": None} for n in data["nodes"]]}

    as_json = json.loads(run_spine("dag", canvas_id, "--format", "json", env=env).stdout)
    assert comparable(as_json) == comparable(dag.model_dump(mode="json"))
    again = json.loads(run_spine("dag", canvas_id, "--json", env=env).stdout)
    assert comparable(again) == comparable(as_json)


def test_tasks(env: dict[str, str], client: spine.SpineClient) -> None:
    run_id = finished_run(client, "Research plan", template="deep_research")
    canvas_id = client.runs.get(run_id).canvas_id
    assert canvas_id is not None
    tree = client.canvas.get_tasks(canvas_id)
    result = run_spine("tasks", canvas_id, env=env)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Tasks of canvas {canvas_id}:")
    assert f"Completed ({len(tree.completed)})" in lines
    assert f"Not completed ({len(tree.not_completed)})" in lines
    names = [t.name for t in tree.completed]
    assert all(any(line.startswith(f"{n}  (parent-task") for line in lines) for n in names)
    assert any("└── " in line and "tool-call-task" in line for line in lines)

    as_json = json.loads(run_spine("tasks", canvas_id, "--json", env=env).stdout)
    assert as_json == tree.model_dump(mode="json")


def test_one_task(env: dict[str, str], client: spine.SpineClient) -> None:
    run_id = finished_run(client, "Research plan", template="deep_research")
    canvas_id = client.runs.get(run_id).canvas_id
    assert canvas_id is not None
    root = client.canvas.get_tasks(canvas_id).completed[0]
    task = client.canvas.get_task(canvas_id, root.task_id)
    assert task.children
    result = run_spine("tasks", canvas_id, root.task_id, env=env)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{task.name}  (parent-task, completed)"
    assert len(lines) == 1 + len(task.children)  # immediate children only
    assert all(f"{c.name}  (persona-task" in "\n".join(lines) for c in task.children)
    as_json = json.loads(run_spine("tasks", canvas_id, root.task_id, "--json", env=env).stdout)
    assert as_json == task.model_dump(mode="json")
    missing = run_spine("tasks", canvas_id, "00000000-0000-4000-8000-000000000000", env=env)
    assert missing.code != 0 and "Task not found" in missing.stderr


def test_tree_falls_back_to_ascii(env: dict[str, str], client: spine.SpineClient) -> None:
    run_id = finished_run(client, "ascii")
    canvas_id = client.runs.get(run_id).canvas_id
    assert canvas_id is not None
    result = run_spine("tasks", canvas_id, env={**env, "PYTHONIOENCODING": "ascii"})
    assert result.code == 0, result.stderr
    assert "`-- " in result.stdout and "└" not in result.stdout


def test_sandbox_subcommand_still_serves() -> None:
    help_result = run_spine("sandbox", "--help")
    assert help_result.code == 0 and "--port" in help_result.stdout
    proc = subprocess.Popen(
        [*spine_command(), "sandbox", "--port", "0", "--run-duration", "1"],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Spine sandbox listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[-1].strip()
        with spine.SpineClient(api_key="sk_spine_sandbox", base_url=url) as c:
            assert c.runs.create("hello").run_id
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "stopped" in out


@pytest.mark.parametrize("command", ["run", "status", "wait", "download", "dag", "tasks"])
def test_every_subcommand_has_help(command: str) -> None:
    result = run_spine(command, "--help")
    assert result.code == 0
    assert result.stdout.startswith(f"usage: spine {command}")
