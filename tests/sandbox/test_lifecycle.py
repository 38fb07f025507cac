"""A run's whole life on the sandbox: create → running with progress → terminal, with its canvas,
task tree and downloadable artifacts; time moves only through the injected clock."""

from __future__ import annotations

import struct
import uuid
import xml.dom.minidom
import zlib
from typing import Any

import httpx
import pytest

from spine.testing import ManualClock, Sandbox
from spine.testing._server._runs import TEMPLATE_BLOCKS

from .conftest import create, error_of, get_run, open_zip

CSV = b"region,revenue\nnorth,120\nsouth,95\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _walk(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for task in tasks:
        out.append(task)
        out.extend(_walk(task.get("children") or []))
    return out


def _is_dag(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> bool:
    ids = {n["id"] for n in nodes}
    incoming = {i: 0 for i in ids}
    for edge in edges:
        assert edge["source_id"] in ids and edge["target_id"] in ids
        incoming[edge["target_id"]] += 1
    ready = [i for i, n in incoming.items() if n == 0]
    seen = 0
    while ready:
        current = ready.pop()
        seen += 1
        for edge in edges:
            if edge["source_id"] == current:
                incoming[edge["target_id"]] -= 1
                if incoming[edge["target_id"]] == 0:
                    ready.append(edge["target_id"])
    return seen == len(ids)


def test_full_lifecycle_with_files(
    sandbox: Sandbox, clock: ManualClock, http: httpx.Client
) -> None:
    created = create(
        http,
        "Create a Q1 performance report with charts",
        template="report",
        agent_instructions="Write for executives.",
        files=[
            ("files", ("sales-data.csv", CSV, "text/csv")),
            ("files", ("logo.png", PNG_BYTES, "image/png")),
        ],
    )
    run_id = created["run_id"]
    assert uuid.UUID(run_id)
    assert created["status"] == "running"
    assert created["poll_url"] == f"/v1/run/{run_id}"
    assert created["estimated_duration_ms"] == 10_000
    canvas_id = created["canvas_id"]
    assert sandbox.runs_created == 1

    # Just created: running, no result yet.
    first = get_run(http, run_id)
    assert first["status"] == "running"
    assert first["canvas_id"] == canvas_id
    assert first["progress"]["elapsed_ms"] == 0
    assert "result" not in first and "duration_ms" not in first

    # Progress moves as the clock does; tasks_total grows.
    seen = []
    for _ in range(4):
        clock.advance(2.0)
        state = get_run(http, run_id)
        assert state["status"] == "running"
        seen.append(state["progress"])
    assert [p["elapsed_ms"] for p in seen] == [2000, 4000, 6000, 8000]
    totals = [p["tasks_total"] for p in seen]
    done = [p["tasks_completed"] for p in seen]
    assert totals == sorted(totals) and totals[0] < totals[-1]
    assert done == sorted(done) and done[0] < done[-1]
    assert all(p["tasks_completed"] <= p["tasks_total"] for p in seen)

    # Mid-run the canvas has nodes in several states.
    dag_mid = http.get(f"/v1/canvas/{canvas_id}/dag").json()["data"]
    assert {n["status"] for n in dag_mid["nodes"]} >= {"completed"}
    assert any(n["status"] in ("running", "idle") for n in dag_mid["nodes"])

    clock.advance(2.0)
    final = get_run(http, run_id)
    assert final["status"] == "completed"
    assert final["duration_ms"] == 10_000
    assert "progress" not in final and "errors" not in final
    result = final["result"]
    assert "Create a Q1 performance report with charts" in result["final_output"]
    assert "sales-data.csv" in result["final_output"]
    meta = final["metadata"]
    assert meta["template_used"] == "report"
    assert meta["models_used"] and meta["credits_consumed"] > 0

    artifacts = result["artifacts"]
    assert [a["type"] for a in artifacts] == ["docx"]
    art = artifacts[0]
    assert art["name"].endswith(".docx")
    assert art["download_url"].startswith(sandbox.url + "/files/")
    # Downloads need no API key.
    download = httpx.get(art["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert len(download.content) == art["size_bytes"]
    docx = open_zip(download.content)
    document = docx.read("word/document.xml").decode()
    xml.dom.minidom.parseString(document)
    assert "Create a Q1 performance report" in document

    # The canvas: prompt first, one node per file, the report template's blocks, a DAG.
    dag = http.get(f"/v1/canvas/{canvas_id}/dag").json()["data"]
    assert dag["canvas_id"] == canvas_id and dag["canvas_name"]
    nodes = dag["nodes"]
    assert nodes[0]["type"] == "prompt-block"
    assert nodes[0]["content"] == "Create a Q1 performance report with charts"
    by_name = {n["name"]: n for n in nodes}
    assert by_name["sales-data.csv"]["type"] == "file-block"
    assert "region,revenue" in by_name["sales-data.csv"]["content"]
    assert by_name["logo.png"]["type"] == "image-block"
    allowed = set(TEMPLATE_BLOCKS["report"]) | {"image-block", "file-block"}
    assert {n["type"] for n in nodes} <= allowed
    assert {"document-block", "table-block", "web-block", "text-block"} <= {
        n["type"] for n in nodes
    }
    assert all(n["status"] == "completed" for n in nodes)
    assert _is_dag(nodes, dag["edges"])
    assert dag["edges"]
    doc_node = next(n for n in nodes if n["type"] == "document-block")
    assert doc_node["id"] == art["id"]
    assert doc_node["url"].startswith(sandbox.url + "/files/")

    # The task tree: three levels, all completed, consistent with the progress count.
    tree = http.get(f"/v1/canvas/{canvas_id}/tasks").json()["data"]
    assert tree["canvas_id"] == canvas_id
    assert tree["not_completed"] == []
    roots = tree["completed"]
    assert roots and all(r["task_type"] == "parent-task" for r in roots)
    for root in roots:
        for persona in root["children"]:
            assert persona["task_type"] == "persona-task"
            for call in persona["children"]:
                assert call["task_type"] == "tool-call-task"
                assert call["children"] == []
    everything = _walk(roots)
    assert all(t["status"] == "completed" for t in everything)
    assert len({t["task_id"] for t in everything}) == len(everything)
    names = [t["name"] for t in everything]
    assert any("sales-data.csv" in n for n in names)

    # A single task comes with its immediate children only.
    root = roots[0]
    single = http.get(f"/v1/canvas/{canvas_id}/tasks/{root['task_id']}").json()["data"]
    assert single["task_id"] == root["task_id"]
    assert single["task_type"] == "parent-task"
    assert [c["task_id"] for c in single["children"]] == [c["task_id"] for c in root["children"]]
    assert all("children" not in c for c in single["children"])
    leaf = root["children"][0]["children"][0]
    single_leaf = http.get(f"/v1/canvas/{canvas_id}/tasks/{leaf['task_id']}").json()["data"]
    assert single_leaf["children"] == []

    # Uploaded bytes are recorded by hash, not kept.
    uploads = sandbox.uploads(run_id)
    assert [(u.filename, u.size) for u in uploads] == [("sales-data.csv", len(CSV)),
                                                       ("logo.png", len(PNG_BYTES))]
    import hashlib

    assert uploads[0].sha256 == hashlib.sha256(CSV).hexdigest()
    assert sandbox.run_info(run_id)["agent_instructions"] == "Write for executives."


def test_tasks_view_while_running(sandbox: Sandbox, clock: ManualClock, http: httpx.Client) -> None:
    created = create(http, "Research electric bikes", template="deep_research")
    canvas_id = created["canvas_id"]
    # At creation the plan exists: root tasks running, nothing below them yet.
    tree0 = http.get(f"/v1/canvas/{canvas_id}/tasks").json()["data"]
    assert tree0["completed"] == []
    assert tree0["not_completed"]
    assert all(t["task_type"] == "parent-task" and t["status"] == "running"
               and t["children"] == [] for t in tree0["not_completed"])
    first = get_run(http, created["run_id"])["progress"]
    assert first["tasks_total"] == len(tree0["not_completed"])
    assert first["tasks_completed"] == 0
    clock.advance(4.0)
    tree = http.get(f"/v1/canvas/{canvas_id}/tasks").json()["data"]
    statuses = {t["status"] for t in _walk(tree["completed"] + tree["not_completed"])}
    assert "running" in statuses
    progress = get_run(http, created["run_id"])["progress"]
    count = len(_walk(tree["completed"] + tree["not_completed"]))
    assert progress["tasks_total"] == count
    # A task that has not been spawned yet is not found.
    clock.advance(10.0)
    final_tree = http.get(f"/v1/canvas/{canvas_id}/tasks").json()["data"]
    assert len(_walk(final_tree["completed"])) > count


@pytest.mark.parametrize("template", [t for t in TEMPLATE_BLOCKS if t != "auto"])
def test_templates_shape_the_canvas(
    sandbox: Sandbox, clock: ManualClock, http: httpx.Client, template: str
) -> None:
    created = create(http, "Something useful", template=template)
    clock.advance(10.0)
    final = get_run(http, created["run_id"])
    assert final["status"] == "completed"
    assert final["metadata"]["template_used"] == template
    assert len(final["result"]["artifacts"]) >= 1
    nodes = http.get(f"/v1/canvas/{created['canvas_id']}/dag").json()["data"]["nodes"]
    assert {n["type"] for n in nodes} <= set(TEMPLATE_BLOCKS[template])
    assert nodes[0]["type"] == "prompt-block"
    expected = {"slides": "pptx", "excel": "xlsx", "app": "html", "landing_page": "html",
                "memo": "docx", "report": "docx", "deep_research": "docx"}[template]
    assert expected in {a["type"] for a in final["result"]["artifacts"]}


def test_blocks_override_template(sandbox: Sandbox, clock: ManualClock, http: httpx.Client) -> None:
    blocks = '["excel-block", "presentation-block", "image-block", "web-block"]'
    # The template is ignored when blocks are given (but must still be a valid one).
    created = create(http, "Quarterly numbers", template="memo", blocks=blocks)
    clock.advance(10.0)
    final = get_run(http, created["run_id"])
    assert final["blocks"] == ["excel-block", "presentation-block", "image-block", "web-block"]
    assert final["metadata"]["template_used"] == "custom"
    types = {a["type"] for a in final["result"]["artifacts"]}
    assert types == {"xlsx", "pptx", "png"}
    nodes = http.get(f"/v1/canvas/{created['canvas_id']}/dag").json()["data"]["nodes"]
    assert nodes[0]["type"] == "prompt-block"
    assert {n["type"] for n in nodes} == {
        "prompt-block", "excel-block", "presentation-block", "image-block", "web-block"
    }
    for art in final["result"]["artifacts"]:
        data = httpx.get(art["download_url"]).content
        assert len(data) == art["size_bytes"]
        if art["type"] == "png":
            _check_png(data)
        else:
            archive = open_zip(data)
            assert "[Content_Types].xml" in archive.namelist()
            for name in archive.namelist():
                if name.endswith((".xml", ".rels")):
                    xml.dom.minidom.parseString(archive.read(name))
            if art["type"] == "pptx":
                assert "ppt/slides/slide1.xml" in archive.namelist()
                assert "ppt/theme/theme1.xml" in archive.namelist()
            else:
                assert "xl/worksheets/sheet1.xml" in archive.namelist()


def _check_png(data: bytes) -> None:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos = 8
    kinds = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + chunk) & 0xFFFFFFFF
        kinds.append(kind)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
            assert width > 0 and height > 0
        if kind == b"IDAT":
            raw = zlib.decompress(chunk)
            assert len(raw) == height * (1 + 3 * width)
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"


def test_html_artifact(sandbox: Sandbox, http: httpx.Client) -> None:
    created = create(http, "A calculator app", template="app")
    sandbox.complete(created["run_id"])
    art = get_run(http, created["run_id"])["result"]["artifacts"][0]
    page = httpx.get(art["download_url"])
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text.startswith("<!doctype html>")
    assert "A calculator app" in page.text
    head = httpx.head(art["download_url"])
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == art["size_bytes"]


def test_auto_template_picks_outputs_from_the_prompt(sandbox: Sandbox, http: httpx.Client) -> None:
    created = create(http, "Build a pitch deck about our product")
    sandbox.complete(created["run_id"])
    final = get_run(http, created["run_id"])
    assert final["metadata"]["template_used"] == "auto"
    assert [a["type"] for a in final["result"]["artifacts"]] == ["pptx"]


def test_only_non_output_blocks_still_give_an_artifact(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    created = create(http, "Find sources", blocks='["web-block", "table-block"]')
    sandbox.complete(created["run_id"])
    final = get_run(http, created["run_id"])
    arts = final["result"]["artifacts"]
    assert len(arts) == 1 and arts[0]["type"] == "html"
    types = [n["type"] for n in http.get(f"/v1/canvas/{created['canvas_id']}/dag").json()["data"]
             ["nodes"]]
    assert set(types) == {"prompt-block", "web-block", "table-block"}


def test_prompt_block_only(sandbox: Sandbox, http: httpx.Client) -> None:
    created = create(http, "Just think", blocks='["prompt-block"]')
    sandbox.complete(created["run_id"])
    final = get_run(http, created["run_id"])
    assert len(final["result"]["artifacts"]) == 1
    tree = http.get(f"/v1/canvas/{created['canvas_id']}/tasks").json()["data"]
    assert tree["completed"]


# ------------------------------------------------------------------ outcomes


def test_scripted_outcomes(sandbox: Sandbox, clock: ManualClock, http: httpx.Client) -> None:
    sandbox.script_outcomes("failed", "partial")
    failed = create(http, "one", template="slides")
    partial = create(http, "two", template="slides")
    normal = create(http, "three", template="slides")
    clock.advance(10.0)

    f = get_run(http, failed["run_id"])
    assert f["status"] == "failed"
    assert f["errors"][0]["error"] == "Agent execution failed"
    assert f["errors"][0]["recoverable"] is False
    assert "result" not in f and "metadata" not in f
    assert f["duration_ms"] == 6000  # failed runs stop early
    dag = http.get(f"/v1/canvas/{failed['canvas_id']}/dag").json()["data"]
    assert any(n["status"] == "error" for n in dag["nodes"])
    assert any(n["id"] == f["errors"][0]["block_id"] for n in dag["nodes"])
    tree = http.get(f"/v1/canvas/{failed['canvas_id']}/tasks").json()["data"]
    assert tree["not_completed"]
    assert any(t["status"] == "error" for t in _walk(tree["not_completed"]))

    p = get_run(http, partial["run_id"])
    assert p["status"] == "partial"
    assert p["errors"] and p["errors"][0]["recoverable"] is True
    assert p["result"]["artifacts"]
    assert p["metadata"]["credits_consumed"] > 0
    pdag = http.get(f"/v1/canvas/{partial['canvas_id']}/dag").json()["data"]
    failing = [n for n in pdag["nodes"] if n["status"] == "error"]
    assert [n["id"] for n in failing] == [p["errors"][0]["block_id"]]
    ptree = http.get(f"/v1/canvas/{partial['canvas_id']}/tasks").json()["data"]
    assert len(ptree["not_completed"]) == 1

    assert get_run(http, normal["run_id"])["status"] == "completed"


def test_prompt_marker_outcome(sandbox: Sandbox, clock: ManualClock, http: httpx.Client) -> None:
    created = create(http, "Please fail [sandbox:failed]")
    clock.advance(10.0)
    assert get_run(http, created["run_id"])["status"] == "failed"


def test_partial_with_several_outputs_drops_one_artifact(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    created = create(http, "x", blocks='["document-block", "excel-block"]')
    sandbox.complete(created["run_id"], outcome="partial")
    final = get_run(http, created["run_id"])
    assert final["status"] == "partial"
    assert len(final["result"]["artifacts"]) == 1
    assert final["errors"][0]["block_type"] == "excel-block"


def test_manual_mode_and_complete(clock: ManualClock) -> None:
    with Sandbox(clock=clock, run_duration=None) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as client:
        a = create(client, "a")
        b = create(client, "b")
        c = create(client, "c")
        assert a["estimated_duration_ms"] == 900_000
        clock.advance(3600)
        state = get_run(client, a["run_id"])
        assert state["status"] == "running"
        assert state["progress"]["elapsed_ms"] == 3_600_000
        assert box.complete(a["run_id"], outcome="failed") == [a["run_id"]]
        assert get_run(client, a["run_id"])["status"] == "failed"
        with pytest.raises(ValueError, match="already finished"):
            box.complete(a["run_id"])
        with pytest.raises(ValueError, match="outcome"):
            box.complete(b["run_id"], outcome="exploded")
        assert sorted(box.complete()) == sorted([b["run_id"], c["run_id"]])
        done = get_run(client, b["run_id"])
        assert done["status"] == "completed"
        assert done["duration_ms"] == 3_600_000
        assert box.run_status(c["run_id"]) == "completed"


def test_advance_works_with_the_default_clock() -> None:
    with Sandbox(run_duration=60.0) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as client:
        created = create(client, "hello")
        assert get_run(client, created["run_id"])["status"] == "running"
        box.advance(61)
        assert get_run(client, created["run_id"])["status"] == "completed"


def test_runs_finish_within_a_few_seconds_by_default() -> None:
    with Sandbox() as box, httpx.Client(base_url=box.url,
                                        headers={"X-API-KEY": box.api_key}) as client:
        created = create(client, "hello")
        assert created["estimated_duration_ms"] == 3000
        box.advance(3.0)
        assert get_run(client, created["run_id"])["status"] == "completed"


def test_zero_duration_runs_finish_at_once() -> None:
    with Sandbox(run_duration=0) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as client:
        created = create(client, "hello")
        assert get_run(client, created["run_id"])["status"] == "completed"


def test_tasks_option_sets_the_tree_size(clock: ManualClock) -> None:
    with Sandbox(clock=clock, run_duration=10, tasks=12) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as client:
        created = create(client, "hello", template="report")
        clock.advance(10)
        tree = client.get(f"/v1/canvas/{created['canvas_id']}/tasks").json()["data"]
        assert len(_walk(tree["completed"])) == 12
        levels = {t["task_type"] for t in _walk(tree["completed"])}
        assert levels == {"parent-task", "persona-task", "tool-call-task"}


def test_canvas_id_hidden_on_first_polls(clock: ManualClock) -> None:
    with Sandbox(clock=clock, canvas_id_after_polls=2) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as client:
        created = create(client, "hello")
        assert "canvas_id" not in created
        assert "canvas_id" not in get_run(client, created["run_id"])
        assert "canvas_id" not in get_run(client, created["run_id"])
        canvas_id = get_run(client, created["run_id"])["canvas_id"]
        assert client.get(f"/v1/canvas/{canvas_id}/dag").status_code == 200


# ------------------------------------------------------------------ artifact links


def test_artifact_links_expire(clock: ManualClock) -> None:
    with Sandbox(clock=clock, run_duration=1, artifact_ttl=60) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as client:
        created = create(client, "hello", template="memo")
        clock.advance(1)
        url = get_run(client, created["run_id"])["result"]["artifacts"][0]["download_url"]
        assert httpx.get(url).status_code == 200
        clock.advance(61)
        expired = httpx.get(url)
        assert expired.status_code == 403
        assert error_of(expired) == "Download link expired"
        # A fresh poll hands out a fresh link.
        url2 = get_run(client, created["run_id"])["result"]["artifacts"][0]["download_url"]
        assert httpx.get(url2).status_code == 200


def test_artifact_link_tampering(sandbox: Sandbox, http: httpx.Client) -> None:
    created = create(http, "hello", template="memo")
    sandbox.complete(created["run_id"])
    url = get_run(http, created["run_id"])["result"]["artifacts"][0]["download_url"]
    bad = httpx.get(url[:-4] + "0000")
    assert bad.status_code == 403 and error_of(bad) == "Invalid download signature"
    unsigned = httpx.get(url.split("?")[0])
    assert unsigned.status_code == 403
    other = httpx.get(url.replace("/files/", "/files/x").split("?")[0] + "?" + url.split("?")[1])
    assert other.status_code == 403
    # The link's host is the one the client used, and downloads carry no API key.
    assert url.startswith(sandbox.url)
    downloads = [r for r in sandbox.requests if r.path.startswith("/files/")]
    assert len(downloads) == 3
    assert all(r.api_key is None and r.status == 403 for r in downloads)


def test_artifact_links_use_public_url(clock: ManualClock) -> None:
    with Sandbox(clock=clock, public_url="https://files.example.test/") as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as client:
        created = create(client, "hello")
        box.complete(created["run_id"])
        url = get_run(client, created["run_id"])["result"]["artifacts"][0]["download_url"]
        assert url.startswith("https://files.example.test/files/")


def test_run_echo_fields(sandbox: Sandbox, http: httpx.Client) -> None:
    created = create(http, "hello", template="memo", agent_instructions="Be brief")
    state = get_run(http, created["run_id"])
    assert state["prompt"] == "hello"
    assert state["template"] == "memo"
    assert state["agent_instructions"] == "Be brief"
    assert "blocks" not in state
