"""Every instruction the command line prints can be followed: pasted into the same shell (same
environment), it works, and it is a command line, not Python."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from spine.testing import Sandbox

from .conftest import FAST, KEY, Result, check_output, child_env, run_spine, spine_command

_COMMAND = re.compile(r"`(spine [^`]+)`")
PYTHON_WORDS = ("wait()", "refresh()", "allow_http=", "runs.create", "idempotency_key=")


def advice(text: str) -> list[str]:
    """The commands a message tells the user to run (written between backquotes)."""
    return _COMMAND.findall(text)


def paste(command: str, env: dict[str, str], cwd: Path | None = None) -> Result:
    """Run ``command`` in bash with ``env``, as a user pasting it would; ``spine`` is the
    console script of this interpreter."""
    shell_env = child_env(env)
    script = spine_command()
    if len(script) == 1:
        shell_env["PATH"] = str(Path(script[0]).parent) + os.pathsep + shell_env.get("PATH", "")
    proc = subprocess.run(["bash", "-c", command], env=shell_env, capture_output=True,
                          text=True, timeout=60, cwd=cwd, check=False)
    result = Result(proc.returncode, proc.stdout, proc.stderr, [command])
    check_output(result, secrets=[KEY])
    return result


def speaks_cli(text: str) -> None:
    for word in PYTHON_WORDS:
        assert word not in text, f"Python advice {word!r} in: {text}"


@pytest.fixture
def slow_sandbox() -> Sandbox:
    with Sandbox(run_duration=1.5, api_keys=[KEY]) as box:
        yield box  # type: ignore[misc]


def test_no_wait_with_sandbox_is_refused_and_the_advice_works(tmp_path: Path) -> None:
    refused = run_spine("run", "x", "--sandbox", "--no-wait")
    assert refused.code == 2
    assert "the embedded sandbox ends with this command" in refused.stderr
    assert "Follow it" not in refused.stderr and "spine wait" not in refused.stderr
    speaks_cli(refused.stderr)
    # "Drop --no-wait": the same command without it works.
    assert run_spine("run", "x", "--sandbox", "--sandbox-duration", "0.2").code == 0


def test_no_wait_advice_reaches_the_same_api(slow_sandbox: Sandbox) -> None:
    """With --base-url (not SPINE_BASE_URL), the printed `spine wait` carries it."""
    env = {"SPINE_API_KEY": KEY}
    created = run_spine("run", "x", "--no-wait", "--base-url", slow_sandbox.url, env=env)
    assert created.code == 0, created.stderr
    [follow] = advice(created.stderr)
    assert follow.startswith(f"spine wait {created.stdout.strip()}")
    followed = paste(follow + " --poll-interval 0.1", env)
    assert followed.code == 0, followed.stderr
    assert followed.stdout.startswith("# x")


def test_timeout_advice_is_a_command_that_works(slow_sandbox: Sandbox) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": slow_sandbox.url}
    timed_out = run_spine("run", "Slow one", "--timeout", "0.2", *FAST, env=env)
    assert timed_out.code == 5, timed_out.stderr
    speaks_cli(timed_out.stderr)
    [follow] = advice(timed_out.stderr)
    followed = paste(follow + " --poll-interval 0.1", env)
    assert followed.code == 0, followed.stderr
    assert "Slow one" in followed.stdout
    assert slow_sandbox.runs_created == 1


def test_timeout_json_names_the_run(slow_sandbox: Sandbox) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": slow_sandbox.url}
    timed_out = run_spine("run", "Slow", "--timeout", "0.2", "--json", *FAST, env=env)
    assert timed_out.code == 5
    assert slow_sandbox.run_ids[0] in timed_out.stdout


def test_timeout_with_sandbox_tells_the_truth() -> None:
    timed_out = run_spine("run", "x", "--sandbox", "--sandbox-duration", "5", "--timeout", "0.3")
    assert timed_out.code == 5, timed_out.stderr
    assert "ended with the embedded sandbox" in timed_out.stderr
    assert "spine wait" not in timed_out.stderr
    speaks_cli(timed_out.stderr)
    # Its advice: the same command with a --timeout longer than a sandbox run.
    assert "--timeout longer than a sandbox run (5 s)" in timed_out.stderr
    again = run_spine("run", "x", "--sandbox", "--sandbox-duration", "0.5", "--timeout", "30")
    assert again.code == 0


def _interrupt(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.Popen([*spine_command(), *args], env=child_env(env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    seen = ""
    try:
        for line in proc.stderr:
            seen += line
            if line.startswith("Created run"):
                proc.send_signal(signal.SIGINT)
                break
        _, rest = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, seen + rest


def test_ctrl_c_advice_follows_the_run(slow_sandbox: Sandbox) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": slow_sandbox.url}
    code, stderr = _interrupt(["run", "Interrupted", "--poll-interval", "0.1"], env)
    assert code == 130, stderr
    speaks_cli(stderr)
    [follow] = advice(stderr)
    followed = paste(follow + " --poll-interval 0.1", env)
    assert followed.code == 0, followed.stderr
    assert "Interrupted" in followed.stdout


def test_ctrl_c_with_sandbox_tells_the_truth() -> None:
    code, stderr = _interrupt(["run", "x", "--sandbox", "--sandbox-duration", "30"], {})
    assert code == 130, stderr
    assert "ended with the embedded sandbox" in stderr
    assert not advice(stderr) and "spine wait" not in stderr


def test_plain_http_advice_is_a_flag(tmp_path: Path) -> None:
    """A plain-http host other than localhost is refused with advice a shell user can take;
    taken, it works (a sandbox on 127.0.0.2, loopback that the client does not special-case)."""
    if sys.platform != "linux":
        pytest.skip("binding 127.0.0.2 needs Linux's loopback /8")
    with Sandbox(host="127.0.0.2", run_duration=0.0, api_keys=[KEY]) as box:
        env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
        refused = run_spine("run", "x", env=env)
        assert refused.code == 2
        assert "add --allow-http" in refused.stderr
        speaks_cli(refused.stderr)
        allowed = run_spine("run", "x", "--allow-http", *FAST, env=env)
        assert allowed.code == 0, allowed.stderr
        assert box.runs_created == 1


def test_download_of_a_running_run_advice(slow_sandbox: Sandbox, tmp_path: Path) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": slow_sandbox.url}
    run_id = run_spine("run", "x", "--no-wait", env=env).stdout.strip()
    early = run_spine("download", run_id, "out", env=env, cwd=tmp_path)
    assert early.code == 1
    [follow] = advice(early.stderr)
    followed = paste(follow + " --poll-interval 0.1", env, cwd=tmp_path)
    assert followed.code == 0, followed.stderr
    assert any((tmp_path / "out").iterdir())


def test_artifacts_note_advice(slow_sandbox: Sandbox, tmp_path: Path) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": slow_sandbox.url}
    finished = run_spine("run", "x", *FAST, env=env)
    assert finished.code == 0
    [save] = advice(finished.stderr)
    saved = paste(save, env, cwd=tmp_path)
    assert saved.code == 0, saved.stderr
    assert any((tmp_path / "artifacts").iterdir())
    offline = run_spine("run", "x", "--sandbox", "--sandbox-duration", "0.2")
    assert "run the command again with --download DIR" in offline.stderr
    assert "getspine.ai" not in offline.stderr  # a sandbox canvas is not on the web app


def test_ambiguous_create_advice_gets_the_same_run(slow_sandbox: Sandbox) -> None:
    """The connection dropped after the run was created: the message names the option and
    key that get that run back, and following it creates nothing new."""
    slow_sandbox.inject(drop="after", method="POST", path="/v1/run")
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": slow_sandbox.url}
    failed = run_spine("run", "Paid once", "--no-wait", env=env)
    assert failed.code == 8, failed.stderr
    speaks_cli(failed.stderr)
    match = re.search(r"run the same command again with --idempotency-key (\S+) added",
                      failed.stderr)
    assert match, failed.stderr
    again = run_spine("run", "Paid once", "--no-wait", "--idempotency-key", match.group(1),
                      env=env)
    assert again.code == 0, again.stderr
    assert again.stdout.strip() == slow_sandbox.run_ids[0]
    assert slow_sandbox.runs_created == 1
