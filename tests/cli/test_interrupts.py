"""``spine run`` interrupted (a real SIGINT to the process) or failing after the create may have
reached the server: it prints the idempotency key and the exact command that re-uses it, and
that command gets the run without paying for a second one."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from spine.testing import Sandbox
from tests.faults import _server as b
from tests.faults._server import FaultServer

from .conftest import KEY, Result, check_output, child_env, run_spine, spine_command

COMMAND = re.compile(r"^  (spine run .*)$", re.MULTILINE)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.4, api_keys=[KEY]) as sandbox:
        yield sandbox


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def _interrupt(args: list[str], env: dict[str, str], ready: Callable[[], bool]) -> Result:
    """Start ``spine *args``, send SIGINT once ``ready()``, and collect what it printed."""
    proc = subprocess.Popen(
        [*spine_command(), *args],
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        _wait_for(ready)
        time.sleep(0.3)  # the request's few bytes are written; the client waits for the answer
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = Result(proc.returncode, out, err, args)
    check_output(result, [KEY])
    return result


def _reuse(result: Result, key: str | None = None) -> list[str]:
    match = COMMAND.search(result.stderr)
    assert match, result.stderr
    words = shlex.split(match.group(1))
    assert words[0] == "spine"
    found = words[words.index("--idempotency-key") + 1]
    assert f"idempotency key {found}" in result.stderr
    if key is not None:
        assert found == key
    return words[1:]


@pytest.mark.parametrize(
    "extra",
    [["--no-wait"], ["--poll-interval", "0.1"], ["--no-wait", "--json"]],
    ids=["no-wait", "waiting", "json"],
)
def test_ctrl_c_while_creating_prints_the_key_and_the_command(
    box: Sandbox, extra: list[str]
) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    # The server holds the create (its bytes are in) for a second: Ctrl-C comes meanwhile.
    fault = box.inject(delay=1.0, method="POST", path="/v1/run")
    args = ["run", "Interrupt me, then recover", *extra]
    result = _interrupt(args, env, lambda: fault.hits == 1)
    assert result.code == 130
    assert "spine: interrupted." in result.stderr
    words = _reuse(result)
    assert words[: len(args)] == args  # the same command, plus the key
    if "--json" in extra:
        error = json.loads(result.stdout)["error"]
        assert error["exit_code"] == 130 and error["run_may_exist"] is True
        assert shlex.split(error["retry_command"])[1:] == words
    # Let the server finish the held request (it may or may not have made the run).
    _wait_for(lambda: any(r.method == "POST" for r in box.requests))
    again = run_spine(*words, env=env)
    assert again.code == 0, again.stderr
    assert box.runs_created == 1
    (run_id,) = box.run_ids
    if "--json" in extra:
        assert json.loads(again.stdout)["run_id"] == run_id
    elif "--no-wait" in extra:
        assert again.stdout.strip() == run_id
    # And once more: still the one run.
    assert run_spine(*words, env=env).code == 0
    assert box.runs_created == 1


def test_ctrl_c_after_the_server_made_the_run_gets_that_run() -> None:
    with FaultServer() as server:
        server.script(b.stall(act=True))  # the run is made; the answer never comes
        env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": server.url}
        args = ["run", "Made, then interrupted", "--no-wait", "--idempotency-key", "mine-7"]
        result = _interrupt(args, env, lambda: server.runs == 1)
        assert result.code == 130
        assert _reuse(result, key="mine-7") == args  # the caller's key: the same command
        server.script(b.api())
        again = run_spine(*args, env=env)
        assert again.code == 0
        assert server.runs == 1 and again.stdout.strip() == server.run_ids[0]


def test_ctrl_c_after_the_run_exists_says_how_to_follow_it(box: Sandbox) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    fault = box.inject(delay=2.0, path="/v1/run/*")  # the first poll is held
    result = _interrupt(["run", "Follow me", "--poll-interval", "0.1"], env, lambda: fault.hits)
    assert result.code == 130
    (run_id,) = box.run_ids
    assert f"spine wait {run_id}" in result.stderr
    assert "--idempotency-key" not in result.stderr  # the run id is known: no key needed


@pytest.mark.parametrize("json_flag", [False, True])
def test_an_ambiguous_create_error_prints_the_command_too(box: Sandbox, json_flag: bool) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    box.inject(status=502, method="POST", path="/v1/run")
    args = ["run", "Bad gateway", "--no-wait", *(["--json"] if json_flag else [])]
    result = run_spine(*args, env=env)
    assert result.code == 7
    words = _reuse(result)
    if json_flag:
        error = json.loads(result.stdout)["error"]
        assert error["run_may_exist"] and error["idempotency_key"] == words[-1]
        assert shlex.split(error["retry_command"])[1:] == words
    again = run_spine(*words, env=env)
    assert again.code == 0 and box.runs_created == 1


def test_a_definitive_refusal_prints_no_command(box: Sandbox) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    result = run_spine("run", "x", "--template", "no_such_template", "--no-wait", env=env)
    assert result.code == 7  # the API's 400 with its envelope: nothing was made
    assert "--idempotency-key" not in result.stderr
