"""A hostile (or broken) API: artifact names that try to escape, names and output that try to
drive the terminal. Served by pytest-httpserver, driven through ``spine download`` / ``status``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from .conftest import KEY, run_spine

RUN_ID = "9c0f3a7e-1111-4222-8333-944455556666"
CANVAS_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
NAMES = [
    "../../etc/passwd",
    "/abs/path",
    "a\x00b",
    "n" * 5000 + ".docx",
    "..",
    "",
    "sub/../../../../tmp/evil.sh",
    "C:\\Windows\\win.ini",
    "\x1b]0;pwned\x07title.txt",
    "Report.docx",
    "REPORT.docx",
]


def _run(httpserver: HTTPServer, names: list[str]) -> dict[str, Any]:
    artifacts = []
    for i, name in enumerate(names):
        body = f"artifact {i}\n".encode()
        httpserver.expect_request(f"/storage/{i}").respond_with_data(body)
        artifacts.append(
            {
                "id": f"00000000-0000-4000-8000-{i:012d}",
                "type": "docx",
                "name": name,
                "download_url": httpserver.url_for(f"/storage/{i}") + "?sig=abc",
                "size_bytes": len(body),
            }
        )
    return {
        "run_id": RUN_ID,
        "status": "completed",
        "canvas_id": CANVAS_ID,
        "duration_ms": 1234,
        "result": {
            "final_output": "# Done\n\x1b[2J\x1b]0;pwned\x07cleared?\r\nok\n",
            "artifacts": artifacts,
        },
        "metadata": {"template_used": "auto", "models_used": [], "credits_consumed": 1},
    }


@pytest.fixture
def api(httpserver: HTTPServer) -> dict[str, str]:
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_json(
        {"success": True, "data": _run(httpserver, NAMES)}
    )
    return {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": httpserver.url_for("/").rstrip("/")}


def test_hostile_artifact_names_stay_inside(
    api: dict[str, str], httpserver: HTTPServer, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    out = work / "out"
    result = run_spine("download", RUN_ID, "out", "--json", env=api, cwd=work)
    assert result.code == 0, result.stderr
    saved = json.loads(result.stdout)["downloads"]
    names = [Path(item["path"]).name for item in saved]
    assert names == [
        "passwd",
        "path",
        "ab",
        "n" * 195 + ".docx",
        "artifact.docx",
        "artifact (2).docx",
        "evil.sh",
        "win.ini",
        "]0;pwnedtitle.txt",
        "Report.docx",
        "REPORT (2).docx",
    ]
    for i, item in enumerate(saved):
        path = work / item["path"]
        assert path.parent == out
        assert path.read_bytes() == f"artifact {i}\n".encode()
    # nothing was written anywhere but out/
    assert sorted(os.listdir(tmp_path)) == ["work"]
    assert sorted(os.listdir(work)) == ["out"]
    assert sorted(os.listdir(out)) == sorted(names)
    # the API got the key; the storage host never did
    for request, _ in httpserver.log:
        has_key = request.headers.get("X-API-KEY") == KEY
        assert has_key == request.path.startswith("/v1/"), request.path


def test_terminal_control_characters_are_stripped(api: dict[str, str], tmp_path: Path) -> None:
    status = run_spine("status", RUN_ID, env=api)
    assert status.code == 0
    assert "\x1b" not in status.stdout and "\x07" not in status.stdout
    assert "]0;pwnedtitle.txt" in status.stdout

    waited = run_spine("wait", RUN_ID, env=api)
    assert waited.code == 0
    assert "\x1b" not in waited.stdout and "\r" not in waited.stdout
    assert waited.stdout.startswith("# Done\n")

    as_json = run_spine("wait", RUN_ID, "--json", env=api)
    assert "\x1b" not in as_json.stdout  # escaped as \u001b in the JSON text
    assert json.loads(as_json.stdout)["result"]["final_output"].startswith("# Done\n\x1b[2J")
