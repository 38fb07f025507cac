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
