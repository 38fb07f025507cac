"""Every documented exit status, each produced by a real invocation, with a one-line error."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

import spine
from spine.cli._main import EXIT_CODES, exit_code_for
from spine.testing import Sandbox

from .conftest import FAST, KEY, child_env, finished_run, run_spine, spine_command

UUID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def test_the_codes_are_distinct_and_documented() -> None:
    # 10 (lost runs) is produced in tests/ledger/test_cli.py (test_lost_runs_get_their_own_...)
    assert sorted(EXIT_CODES) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 130]
    help_text = run_spine("--help").stdout
    assert "exit codes:" in help_text
    for code, text in EXIT_CODES.items():
        assert f"  {code:<4} {text}" in help_text


def test_0_success(env: dict[str, str]) -> None:
    assert run_spine("run", "fine", *FAST, env=env).code == 0


def test_1_other_error_run_still_running(tmp_path: Path) -> None:
    with Sandbox(run_duration=None, api_keys=[KEY]) as manual:
        env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual.url}
        run_id = run_spine("run", "never ends", "--no-wait", env=env).stdout.strip()
        result = run_spine("download", run_id, str(tmp_path / "out"), env=env)
    assert result.code == 1
    (line,) = result.error_lines()
    assert "still running" in line and f"spine wait {run_id} --download" in line
    assert "unexpected" not in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), None),  # no command: help, status 2
        (("run",), "the following arguments are required: PROMPT"),
        (("frobnicate",), "invalid choice"),
        (("run", "x", "--timeout", "soon"), "not a number of seconds"),
        (("run", "x", "--poll-interval", "0"), "must be a positive number"),
        (("dag", UUID, "--format", "png"), "invalid choice"),
        (("run", "x", "--file", "/no/such/file.csv"), "no such file"),
        (("run", "x", "--file", "/"), "is a directory"),
        (("run", "x", "--no-wait", "--download", "out"), "--download needs the run to end"),
        (("run", "x", "--block", ","), "--block needs a block type"),
        (("run", "x", "--sandbox-duration", "1"), "only applies with --sandbox"),
        (("run", "   "), "prompt must not be empty"),
        (("run", "-"), "prompt read from stdin is empty"),
        (("status", ".."), "is not a valid id"),
        (("status", UUID, "--base-url", "ftp://example.com"),
         "--base-url (or SPINE_BASE_URL) must be an http(s) URL"),
    ],
)
def test_2_usage_errors(env: dict[str, str], args: tuple[str, ...], message: str | None) -> None:
    result = run_spine(*args, env=env, input="")
    assert result.code == 2, (result.stdout, result.stderr)
    if message is not None:
        (line,) = result.error_lines()
        assert message in line
        assert "--help" in line or "error:" in line


@pytest.mark.parametrize("args", [("run", "", "--sandbox"), ("run", "  ", "--sandbox")])
def test_what_create_refuses_is_refused_before_a_sandbox_starts(args: tuple[str, ...]) -> None:
    result = run_spine(*args, env={}, input="")
    assert result.code == 2, (result.stdout, result.stderr)
    (line,) = result.error_lines()
    assert "prompt must not be empty" in line
    assert "sandbox" not in result.stderr.lower()  # no "Using an embedded sandbox at ..."


def test_3_partial(env: dict[str, str]) -> None:
    assert run_spine("run", "x [sandbox:partial]", *FAST, env=env).code == 3


def test_4_failed(env: dict[str, str]) -> None:
    assert run_spine("run", "x [sandbox:failed]", *FAST, env=env).code == 4


def test_5_timeout(env: dict[str, str], client: spine.SpineClient) -> None:
    with Sandbox(run_duration=None, api_keys=[KEY]) as manual:
        slow_env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual.url}
        result = run_spine("run", "forever", "--timeout", "0.3", *FAST, env=slow_env)
    assert result.code == 5
    (line,) = result.error_lines()
    assert "did not end within --timeout 0.3 s" in line


def test_6_authentication(sandbox: Sandbox) -> None:
    wrong = run_spine(
        "status",
        UUID,
        env={"SPINE_API_KEY": "sk_spine_wrong_key_0000000000", "SPINE_BASE_URL": sandbox.url},
    )
    assert wrong.code == 6
    (line,) = wrong.error_lines()
    assert "HTTP 401" in line and "API key" in line
    assert "sk_spine_wrong_key_0000000000" not in wrong.stderr

    missing = run_spine("run", "x", env={"SPINE_BASE_URL": sandbox.url})
    assert missing.code == 6
    (line,) = missing.error_lines()
    # Against a sandbox: where its key comes from, not the Spine platform's keys page.
    assert "SPINE_API_KEY" in line and sandbox.url in line and "getspine.ai" not in line


def test_6_as_json(sandbox: Sandbox) -> None:
    result = run_spine(
        "status",
        UUID,
        "--json",
        env={"SPINE_API_KEY": "sk_spine_wrong_key_1111111111", "SPINE_BASE_URL": sandbox.url},
    )
    assert result.code == 6
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "AuthenticationError"
    assert error["status_code"] == 401 and error["exit_code"] == 6
    assert error["request_id"]
    assert "sk_spine_wrong" not in result.stdout


def test_7_api_errors(env: dict[str, str]) -> None:
    not_found = run_spine("status", UUID, env=env)
    assert not_found.code == 7
    (line,) = not_found.error_lines()
    assert "HTTP 404" in line

    bad_template = run_spine("run", "x", "--template", "nonsense", env=env)
    assert bad_template.code == 7
    (line,) = bad_template.error_lines()
    assert "HTTP 400" in line and "template" in line.lower()


def test_8_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run_spine(
        "status", UUID, env={"SPINE_API_KEY": KEY, "SPINE_BASE_URL": f"http://127.0.0.1:{port}"}
    )
    assert result.code == 8
    (line,) = result.error_lines()
    assert "Could not reach the Spine API" in line or "connect" in line.lower()


def test_9_download_error_after_one_refresh(
    env: dict[str, str], sandbox: Sandbox, client: spine.SpineClient, tmp_path: Path
) -> None:
    run_id = finished_run(client, "Expiring links")
    sandbox.clear_requests()
    fault = sandbox.inject(path="/files/*", status=403, error="Download link expired", times=None)
    try:
        result = run_spine("download", run_id, str(tmp_path), "--json", env=env)
    finally:
        sandbox.faults.remove(fault)
    assert result.code == 9
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 9 and error["run_id"] == run_id
    (line,) = result.error_lines()
    assert "refused" in line and "HTTP 403" in line and "fetch the run again" in line
    assert "signature=" not in result.stderr  # the pre-signed query never reaches a message
    assert "reading the run again for its current links" in result.stderr
    polls = [r for r in sandbox.requests if r.path == f"/v1/run/{run_id}"]
    assert len(polls) == 2  # the first read, then one refresh for new links
    assert list(tmp_path.iterdir()) == []


def test_expired_link_is_refreshed_once(
    env: dict[str, str], sandbox: Sandbox, client: spine.SpineClient, tmp_path: Path
) -> None:
    run_id = finished_run(client, "One stale link")
    sandbox.inject(path="/files/*", status=403, error="Download link expired", times=1)
    result = run_spine("download", run_id, str(tmp_path), env=env)
    assert result.code == 0, result.stderr
    assert "reading the run again for its current links" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [Path(result.stdout.strip()).name]


def test_130_interrupted(env: dict[str, str]) -> None:
    with Sandbox(run_duration=None, api_keys=[KEY]) as manual:
        proc = subprocess.Popen(
            [*spine_command(), "run", "forever", *FAST],
            env=child_env({"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual.url}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        seen = ""
        deadline = time.monotonic() + 30
        while "running" not in seen and time.monotonic() < deadline:
            seen += proc.stderr.readline()
        run_id = manual.run_ids[0]
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert f"spine wait {run_id}" in rest
    assert "Traceback" not in rest


def test_debug_shows_the_traceback(env: dict[str, str]) -> None:
    result = run_spine("status", UUID, "--debug", env=env)
    assert result.code == 7
    assert "Traceback (most recent call last)" in result.stderr
    assert "NotFoundError" in result.stderr
    assert KEY not in result.stderr
    # the global position works too
    assert "Traceback" in run_spine("--debug", "status", UUID, env=env).stderr


def test_unexpected_exceptions_map_to_1() -> None:
    assert exit_code_for(RuntimeError("boom")) == 1
    assert exit_code_for(KeyboardInterrupt()) == 130
    assert exit_code_for(spine.SpineTimeoutError("http timeout")) == 8
    assert exit_code_for(spine.SpineTimeoutError("wait", run_id="r", timeout=1.0)) == 5
    assert exit_code_for(spine.RunFailedError("r")) == 4
    assert exit_code_for(spine.ServerError("x", status_code=503)) == 7
    assert exit_code_for(spine.SpineConnectionError("x")) == 8
