"""``spine run``: creating, following and reporting a run, against the sandbox."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from spine.testing import Sandbox

from .conftest import FAST, KEY, run_spine


def test_the_offline_quickstart(tmp_path: Path) -> None:
    """The issue's acceptance command: no key, no network, artifacts left in out/."""
    (tmp_path / "data.csv").write_text("region,sales\nnorth,10\nsouth,12\n")
    result = run_spine(
        "run",
        "Write a memo about Q1 sales",
        "--sandbox",
        "--template",
        "memo",
        "--file",
        "data.csv",
        "--wait",
        "--download",
        "out",
        "--json",
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)  # exactly one JSON document on stdout
    assert data["status"] == "completed"
    assert data["metadata"]["template_used"] == "memo"
    assert data["canvas_id"] and data["canvas_url"] is None  # a sandbox canvas: not on the web app
    assert "data.csv" in data["result"]["final_output"]
    downloads = data["downloads"]
    assert downloads and len(downloads) == len(data["result"]["artifacts"])
    for item in downloads:
        path = tmp_path / item["path"]
        assert path.parent == tmp_path / "out"
        assert path.stat().st_size == item["size_bytes"]
    docx = tmp_path / downloads[0]["path"]
    assert docx.suffix == ".docx"
    with zipfile.ZipFile(docx) as archive:
        assert "word/document.xml" in archive.namelist()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        Path(d["path"]).name for d in downloads
    )
    # progress and notes went to stderr
    assert "Using an embedded sandbox" in result.stderr
    assert "running:" in result.stderr and "Saved out/" in result.stderr


def test_human_output(env: dict[str, str]) -> None:
    result = run_spine("run", "Write a report on churn", "--template", "report", *FAST, env=env)
    assert result.code == 0, result.stderr
    # stdout is the final output alone, so `spine run ... > answer.md` keeps just that
    assert result.stdout.startswith("# Write a report on churn\n")
    assert "Created run" not in result.stdout and "Canvas" not in result.stdout
    err = result.stderr
    assert "Created run " in err
    assert "Canvas: " in err and "getspine.ai" not in err  # a sandbox's canvas: its id only
    assert "completed in" in err
    assert "Artifacts (" in err and ".docx" in err
    # not a terminal: plain progress lines, no carriage returns or escape sequences
    assert "\r" not in err and "\x1b" not in err
    assert "] running: " in err and "] completed" in err


def test_inputs_reach_the_api(env: dict[str, str], sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.md").write_text("# notes\n")
    result = run_spine(
        "run",
        "Compare the files",
        "--block",
        "table-block,document-block",
        "-b",
        "text-block",
        "--file",
        str(tmp_path / "a.csv"),
        "-f",
        str(tmp_path / "b.md"),
        "--instructions",
        "Be brief.",
        "--no-wait",
        env=env,
    )
    assert result.code == 0, result.stderr
    run_id = result.stdout.strip()
    info = sandbox.run_info(run_id)
    assert info["prompt"] == "Compare the files"
    assert info["blocks"] == ["table-block", "document-block", "text-block"]
    assert info["agent_instructions"] == "Be brief."
    assert sorted(u.filename for u in sandbox.uploads(run_id)) == ["a.csv", "b.md"]


def test_prompt_from_stdin(env: dict[str, str], sandbox: Sandbox) -> None:
    result = run_spine("run", "-", "--no-wait", env=env, input="A prompt\nover two lines\n")
    assert result.code == 0, result.stderr
    assert sandbox.run_info(result.stdout.strip())["prompt"] == "A prompt\nover two lines\n"


def test_no_wait(env: dict[str, str], sandbox: Sandbox) -> None:
    result = run_spine("run", "Background job", "--no-wait", env=env)
    assert result.code == 0
    run_id = result.stdout.strip()
    assert run_id in sandbox.run_ids
    assert f"spine wait {run_id}" in result.stderr

    as_json = run_spine("run", "Background job", "--no-wait", "--json", env=env)
    data = json.loads(as_json.stdout)
    assert data["status"] == "running"
    assert data["poll_url"] == f"/v1/run/{data['run_id']}"
    assert data["canvas_url"] is None  # the API here is a sandbox, not the Spine API host


def test_partial(env: dict[str, str]) -> None:
    result = run_spine("run", "Some blocks fail [sandbox:partial]", "--json", *FAST, env=env)
    assert result.code == 3, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "partial"
    assert data["errors"]
    assert data["result"]["final_output"]


def test_failed(env: dict[str, str]) -> None:
    result = run_spine("run", "Everything fails [sandbox:failed]", *FAST, env=env)
    assert result.code == 4
    assert result.stdout == ""
    (line,) = result.error_lines()
    assert line.startswith("spine run: error: Run ") and "failed: " in line

    as_json = run_spine("run", "Everything fails [sandbox:failed]", "--json", *FAST, env=env)
    assert as_json.code == 4
    data = json.loads(as_json.stdout)
    assert data["status"] == "failed" and data["errors"] and data["result"] is None


def test_timeout(env: dict[str, str], sandbox: Sandbox) -> None:
    result = run_spine(
        "run", "Slow one", "--sandbox", "--sandbox-duration", "60", "--timeout", "0.5", "--json"
    )
    assert result.code == 5, result.stderr
    (line,) = result.error_lines()
    assert "did not end within --timeout 0.5 s" in line
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "SpineTimeoutError" and error["exit_code"] == 5
    assert error["run_id"]


def test_download_with_the_run(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"
    result = run_spine("run", "Slides about cats", "-t", "slides", "-d", str(out), *FAST, env=env)
    assert result.code == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert any(name.endswith(".pptx") for name in files)
    assert f"Saved {out}" in result.stderr
    assert not list(out.glob(".spine-*"))


def test_idempotency_key(env: dict[str, str], sandbox: Sandbox) -> None:
    before = sandbox.runs_created
    first = run_spine("run", "Once", "--no-wait", "--idempotency-key", "cli-key-1", env=env)
    again = run_spine("run", "Once", "--no-wait", "--idempotency-key", "cli-key-1", env=env)
    assert first.stdout == again.stdout
    assert sandbox.runs_created == before + 1


def test_quiet(env: dict[str, str]) -> None:
    result = run_spine("run", "Quietly", "-q", *FAST, env=env)
    assert result.code == 0
    assert result.stderr == ""
    assert result.stdout.startswith("# Quietly")


def test_base_url_flag_overrides_the_environment(sandbox: Sandbox) -> None:
    result = run_spine(
        "run",
        "Via flag",
        "--no-wait",
        "--base-url",
        sandbox.url,
        env={"SPINE_API_KEY": KEY, "SPINE_BASE_URL": "http://127.0.0.1:9"},
    )
    assert result.code == 0, result.stderr
