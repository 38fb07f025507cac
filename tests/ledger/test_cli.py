"""``spine runs list|show|resume``, ``spine batch`` and ``spine run``'s recording, through the
installed console script against a sandbox in this process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spine.ledger import Ledger
from spine.testing import Sandbox
from tests.cli.conftest import child_env, run_spine

KEY = "sk_spine_cli_ledger_SECRET_0123456789"


@pytest.fixture
def env(box: Sandbox) -> dict[str, str]:
    return child_env({"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url})


def _items(folder: Path, *lines: dict[str, object]) -> Path:
    path = folder / "items.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_batch_then_runs_list_and_show(env: dict[str, str], box: Sandbox, tmp_path: Path) -> None:
    items = _items(tmp_path, {"id": "memo", "prompt": "A memo", "template": "memo"},
                   {"id": "half", "prompt": "Half [sandbox:partial]"})
    ledger = str(tmp_path / "l.db")
    out = tmp_path / "out"
    result = run_spine("batch", str(items), "--out", str(out), "--ledger", ledger,
                       "--poll-interval", "0.05", "--json", env=env)
    assert result.code == 3, result.stderr  # one item ended partial
    assert "completed        1" in result.stderr and "half" in result.stderr
    document = json.loads(result.stdout)
    assert document["counts"] == {"completed": 1, "partial": 1} and document["exit_code"] == 3
    summary = [json.loads(x) for x in (out / "summary.jsonl").read_text().splitlines()]
    assert [s["id"] for s in summary] == ["memo", "half"]

    listed = run_spine("runs", "list", "--ledger", ledger, "--json", env=env)
    assert listed.code == 0
    records = json.loads(listed.stdout)
    assert {r["run_id"] for r in records} == {s["run_id"] for s in summary}
    assert all(KEY not in json.dumps(r) for r in records)

    only = run_spine("runs", "list", "--ledger", ledger, "--status", "partial", env=env)
    assert only.code == 0 and summary[1]["run_id"] in only.stdout
    assert summary[0]["run_id"] not in only.stdout
    assert run_spine("runs", "list", "--ledger", ledger, "--since", "1h", env=env).stdout.count(
        "\n") == 3  # a header and two runs

    shown = run_spine("runs", "show", summary[0]["run_id"][:8], "--ledger", ledger, env=env)
    assert shown.code == 0, shown.stderr
    # A sandbox run's canvas is not on the Spine web app: its id, never a link there.
    assert "getspine.ai" not in shown.stdout and "(not on the web app)" in shown.stdout
    assert str(out / summary[0]["artifacts"][0]) in shown.stdout

    missing = run_spine("runs", "show", "no-such-run", "--ledger", ledger, env=env)
    assert missing.code == 1 and "No run 'no-such-run'" in missing.stderr


def test_batch_bad_input_exits_2_and_sends_nothing(env: dict[str, str], box: Sandbox,
                                                    tmp_path: Path) -> None:
    items = _items(tmp_path, {"prompt": "ok"}, {"promt": "typo"})
    result = run_spine("batch", str(items), "--out", str(tmp_path / "out"),
                       "--ledger", str(tmp_path / "l.db"), env=env)
    assert result.code == 2 and "line 2" in result.stderr and "'promt'" in result.stderr
    assert box.requests == []


def test_run_records_by_default_and_resume_follows_it(
    manual_box: Sandbox, tmp_path: Path
) -> None:
    env = child_env({"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual_box.url,
                     "XDG_DATA_HOME": str(tmp_path / "xdg")})
    first = run_spine("run", "Long research", "--no-wait", env=env)
    assert first.code == 0, first.stderr
    run_id = first.stdout.strip()
    default = tmp_path / "xdg" / "spine" / "runs.sqlite3"
    with Ledger(default) as ledger:
        assert ledger.get(run_id).state == "running"
    manual_box.complete(run_id)
    resumed = run_spine("runs", "resume", "--poll-interval", "0.05", env=env)
    assert resumed.code == 0, resumed.stderr
    assert run_id in resumed.stdout and "completed" in resumed.stdout
    with Ledger(default) as ledger:
        assert ledger.get(run_id).state == "completed" and ledger.unfinished() == []


def test_a_damaged_ledger_stops_spine_run_before_sending(
    env: dict[str, str], box: Sandbox, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    result = run_spine("run", "Not sent", "--ledger", str(bad), env=env)
    assert result.code == 1 and "damaged" in result.stderr and "'off'" in result.stderr
    assert box.runs_created == 0
    off = run_spine("run", "Sent", "--ledger", "off", "--poll-interval", "0.05", env=env)
    assert off.code == 0 and box.runs_created == 1


def test_plain_display_never_imports_rich() -> None:
    # httpx imports rich for its own command line when click is installed (the test extras
    # bring click; a plain install of the SDK does not): hide click, as a user's install is.
    code = (
        "import io, sys\n"
        "sys.modules['click'] = None\n"
        "from spine.ledger._display import BatchDisplay\n"
        "from spine.ledger._batch import BatchUpdate\n"
        "s = io.StringIO()\n"
        "d = BatchDisplay(s, live=False, every=0)\n"
        "d(BatchUpdate({'running': 1, 'completed': 1}, 5, 2, 3.0, 'a', 'completed', 'r1'))\n"
        "d.close()\n"
        "assert 'rich' not in sys.modules\n"
        "print(s.getvalue())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "[0:03] a: completed r1" in result.stdout
    assert "1/2 done: 1 running, 1 completed; 5 credits" in result.stdout


def test_live_display_draws_with_rich() -> None:
    import io

    from spine.ledger._batch import BatchUpdate
    from spine.ledger._display import BatchDisplay

    stream = io.StringIO()
    display = BatchDisplay(stream, live=True, title="batch")
    display(BatchUpdate({"waiting": 3, "running": 2, "failed": 1}, 40, 6, 1.0, "x", "failed"))
    display.close()
    text = stream.getvalue()
    assert "1/6 done" in text and "3 waiting" in text and "1 failed" in text
    assert "40 credits" in text


# ----------------------------------------------------------------------------- fixes


def _summary(out: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (out / "summary.jsonl").read_text().splitlines()]


def _wait_until(check: object, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def _interrupt(args: list[str], env: dict[str, str], ready: object) -> tuple[int, str, str]:
    """Start ``spine ARGS``, wait until ``ready()``, send SIGINT (Ctrl-C), collect it."""
    import signal

    from tests.cli.conftest import spine_command

    child = subprocess.Popen([*spine_command(), *args], env=child_env(env),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until(lambda: ready() or child.poll() is not None)  # type: ignore[operator]
        assert child.poll() is None, child.communicate()
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert "Traceback" not in stderr and KEY not in stdout + stderr
    return child.returncode, stdout, stderr


def _running_rows(ledger: Path) -> int:
    import sqlite3

    if not ledger.exists():
        return 0
    conn = sqlite3.connect(ledger)
    try:
        return int(conn.execute(
            "SELECT COUNT(*) FROM runs WHERE state = 'running'").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def test_ctrl_c_in_a_batch_writes_the_summary_and_says_how_to_continue(
    manual_box: Sandbox, tmp_path: Path
) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual_box.url}
    items = _items(tmp_path, *({"id": f"i{n}", "prompt": f"Item {n}"} for n in range(3)))
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    code, _, stderr = _interrupt(
        ["batch", str(items), "--out", str(out), "--ledger", str(ledger),
         "--poll-interval", "0.05"], env, lambda: _running_rows(ledger) == 3)
    assert code == 130, stderr
    assert "run the same command again to continue" in stderr
    assert "running" in stderr and "summary in" in stderr  # the table
    assert [s["status"] for s in _summary(out)] == ["running"] * 3
    manual_box.complete()
    again = run_spine("batch", str(items), "--out", str(out), "--ledger", str(ledger),
                      "--poll-interval", "0.05", env=env)
    assert again.code == 0, again.stderr
    assert manual_box.runs_created == 3


def test_ctrl_c_in_resume_reports_and_says_how_to_continue(
    manual_box: Sandbox, tmp_path: Path
) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual_box.url}
    ledger = tmp_path / "l.db"
    first = run_spine("run", "Long", "--no-wait", "--ledger", str(ledger), env=env)
    run_id = first.stdout.strip()
    manual_box.clear_requests()
    code, stdout, stderr = _interrupt(
        ["runs", "resume", "--ledger", str(ledger), "--poll-interval", "0.05"], env,
        lambda: any(r.method == "GET" for r in manual_box.requests))
    assert code == 130, stderr
    assert f"{run_id}  running" in stdout
    # The advice names the same ledger: followed as printed, it continues these runs.
    assert f"run `spine runs resume --ledger {ledger}` again" in stderr


def test_401_while_polling_exits_6_with_the_summary(
    env: dict[str, str], box: Sandbox, tmp_path: Path
) -> None:
    box.inject(status=401, method="GET", path="/v1/run/*", times=None)
    items = _items(tmp_path, {"id": "a", "prompt": "x"}, {"id": "b", "prompt": "y"})
    out = tmp_path / "out"
    result = run_spine("batch", str(items), "--out", str(out), "--ledger",
                       str(tmp_path / "l.db"), "--poll-interval", "0.05", env=env)
    assert result.code == 6, result.stderr
    assert "ExceptionGroup" not in result.stderr and "TaskGroup" not in result.stderr
    assert "summary in" in result.stderr
    assert [s["status"] for s in _summary(out)] == ["running", "running"]


def test_an_unwritable_out_exits_2_before_anything_is_sent(
    env: dict[str, str], box: Sandbox, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("a file")
    items = _items(tmp_path, {"prompt": "x"})
    result = run_spine("batch", str(items), "--out", str(taken), "--ledger",
                       str(tmp_path / "l.db"), env=env)
    assert result.code == 2, result.stderr
    assert "it is a file, not a folder" in result.stderr and "Errno" not in result.stderr
    assert box.requests == []


def test_changed_items_exit_2_with_what_to_do(
    env: dict[str, str], box: Sandbox, tmp_path: Path
) -> None:
    ledger, out = str(tmp_path / "l.db"), tmp_path / "out"
    items = _items(tmp_path, {"id": "memo", "prompt": "Q1"})
    args = ("batch", str(items), "--out", str(out), "--ledger", ledger, "--poll-interval", "0.05")
    assert run_spine(*args, env=env).code == 0
    _items(tmp_path, {"id": "memo", "prompt": "Q2"})
    changed = run_spine(*args, env=env)
    assert changed.code == 2 and "--rerun-changed" in changed.stderr
    assert "memo" in changed.stderr and box.runs_created == 1
    rerun = run_spine(*args, "--rerun-changed", env=env)
    assert rerun.code == 0, rerun.stderr
    assert box.runs_created == 2


def test_lost_runs_get_their_own_exit_status(manual_box: Sandbox, tmp_path: Path) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": manual_box.url}
    ledger = str(tmp_path / "l.db")
    run_id = run_spine("run", "Long", "--no-wait", "--ledger", ledger, env=env).stdout.strip()
    manual_box.reset()
    resumed = run_spine("runs", "resume", "--ledger", ledger, "--poll-interval", "0.05",
                        env=env)
    assert resumed.code == 10, resumed.stderr
    assert f"lost: run {run_id}" in resumed.stderr and "404" in resumed.stderr
    listed = run_spine("runs", "list", "--ledger", ledger, "--status", "lost", env=env)
    assert run_id in listed.stdout


@pytest.mark.parametrize("how", ["run", "wait", "download"])
def test_downloads_from_the_command_line_are_recorded(
    how: str, env: dict[str, str], box: Sandbox, tmp_path: Path
) -> None:
    ledger, folder = str(tmp_path / "l.db"), tmp_path / "files"
    if how == "run":
        result = run_spine("run", "A report", "--template", "report", "--download", str(folder),
                           "--ledger", ledger, "--poll-interval", "0.05", env=env)
        run_id = result.stderr.split("Created run ", 1)[1].split()[0]
    else:
        import spine

        with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
            handle = client.runs.create("A report", template="report")
            handle.wait(poll_interval=0.05)
            run_id = handle.run_id
        if how == "wait":
            result = run_spine("wait", run_id, "--download", str(folder), "--ledger", ledger,
                               "--poll-interval", "0.05", env=env)
        else:
            result = run_spine("download", run_id, str(folder), "--ledger", ledger, env=env)
    assert result.code == 0, result.stderr
    saved = sorted(str(p) for p in folder.iterdir())
    with Ledger(ledger) as opened:
        rec = opened.get(run_id)
    assert rec is not None and rec.state == "completed"
    assert sorted(a.path for a in rec.artifacts) == saved and saved
    shown = run_spine("runs", "show", run_id, "--ledger", ledger, env=env)
    assert all(path in shown.stdout for path in saved)


def test_resume_names_unfinished_runs_of_other_hosts(
    env: dict[str, str], box: Sandbox, tmp_path: Path
) -> None:
    ledger = tmp_path / "l.db"
    with Ledger(ledger) as opened:
        opened.follow("run-elsewhere-1", "https://api.example.test")
    result = run_spine("runs", "resume", "--ledger", str(ledger), "--poll-interval", "0.05",
                       env=env)
    assert result.code == 5, result.stderr
    assert "1 unfinished run(s) of other API hosts" in result.stderr
    assert "https://api.example.test (1)" in result.stderr
    # A command that, pasted, follows them: that host and the same ledger.
    assert (
        f"run `spine runs resume --base-url https://api.example.test --ledger {ledger}`"
        in result.stderr
    )
    assert box.requests == []


def test_messages_say_what_happened(env: dict[str, str], box: Sandbox, tmp_path: Path) -> None:
    # Bad input: no request was made, so no HTTP status is claimed.
    items = _items(tmp_path, {"prompt": ""})
    bad = run_spine("batch", str(items), "--out", str(tmp_path / "out"), env=env)
    assert bad.code == 2 and "HTTP" not in bad.stderr and "line 1" in bad.stderr
    # The ledger turned off.
    off = run_spine("runs", "list", env={**env, "SPINE_LEDGER": "off"})
    assert off.code == 2 and "SPINE_LEDGER=off" in off.stderr
    assert "None" not in off.stderr and "HTTP" not in off.stderr
    # A file that is not UTF-8: exit 2 with its line.
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"prompt": "caf\xe9"}\n')
    decoded = run_spine("batch", str(latin), "--out", str(tmp_path / "out"), env=env)
    assert decoded.code == 2 and "line 1: not UTF-8" in decoded.stderr
    # A prefix too short to look a run up by.
    ledger = str(tmp_path / "l.db")
    short = run_spine("runs", "show", "5ee9", "--ledger", ledger, env=env)
    assert short.code == 1 and "first 6 characters or more" in short.stderr
    # One message for every interval that is not positive.
    messages = {
        value: run_spine("batch", str(items), "--out", "x", "--poll-interval", value,
                         env=env).stderr.split("error:")[-1]
        for value in ("0", "-1", "nan")
    }
    assert all(code_text.startswith(" argument --poll-interval: must be a positive number")
               for code_text in messages.values()), messages
    assert box.requests == []


def test_timeout_parsing_is_consistent() -> None:
    import argparse

    from spine.ledger._cli import _positive, _timeout

    assert _timeout("inf") is None and _timeout("1e400") is None and _timeout("none") is None
    assert _timeout("90") == 90.0
    for text in ("0", "-1", "nan", "soon"):
        with pytest.raises(argparse.ArgumentTypeError):
            _timeout(text)
    for text in ("0", "-1", "inf", "1e400", "nan"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive number of seconds"):
            _positive(text)
