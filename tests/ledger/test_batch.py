"""Batches against the sandbox over real loopback HTTP: the summary and artifacts, bad input,
ambiguous creates, one back-off for the whole batch on 429, a deadline, and resume after the
process is killed with SIGKILL at random moments, with no run created twice."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import spine
from spine.ledger import BatchItem, Ledger, arun_batch, read_items, run_batch
from spine.ledger._batch import BatchBusyError, BatchInputError
from spine.testing import Sandbox
from tests.ledger.conftest import KEY

ROOT = Path(__file__).resolve().parents[2]


def _summary(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "summary.jsonl").read_text().splitlines()]


def _batch(box: Sandbox, items: Any, out: Path, ledger: Any, **options: Any) -> Any:
    options.setdefault("poll_interval", 0.05)
    options.setdefault("max_poll_interval", 0.2)

    async def go() -> Any:
        async with spine.AsyncSpineClient(
            api_key=KEY, base_url=box.url, retry_policy=spine.RetryPolicy(max_retries=0)
        ) as client:
            return await arun_batch(client, items, out=out, ledger=ledger, **options)

    return asyncio.run(go())


def test_batch_creates_waits_downloads_and_summarises(box: Sandbox, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "sales.csv").write_text("q,amount\n1,10\n")
    lines = [
        {"id": "memo-1", "prompt": "Memo one", "template": "memo"},
        {"prompt": "A table", "blocks": ["table-block"], "files": ["sales.csv"]},
        {"id": "partial", "prompt": "Half [sandbox:partial]", "template": "report",
         "agent_instructions": "Be brief"},
    ]
    source = folder / "items.jsonl"
    source.write_text("# a comment\n\n" + "\n".join(json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "out"
    report = run_batch(source, out=out, api_key=KEY, base_url=box.url,
                       ledger=tmp_path / "l.db", poll_interval=0.05, max_poll_interval=0.2)
    summary = _summary(out)
    derived = read_items(source)[1].item_id
    assert [s["id"] for s in summary] == ["memo-1", derived, "partial"]
    assert [s["status"] for s in summary] == ["completed", "completed", "partial"]
    assert report.counts == {"completed": 2, "partial": 1} and report.exit_code == 3
    for s in summary:
        assert s["run_id"] in box.run_ids and s["credits_consumed"] > 0 and s["duration_ms"]
        assert s["artifacts"] and all((out / a).is_file() for a in s["artifacts"])
        assert all(a.startswith(s["id"] + "/") for a in s["artifacts"])
    assert summary[2]["errors"] and summary[0]["errors"] == []
    assert report.credits == sum(s["credits_consumed"] for s in summary)
    assert box.uploads(summary[1]["run_id"])[0].filename == "sales.csv"
    assert box.run_info(summary[2]["run_id"])["agent_instructions"] == "Be brief"
    assert box.runs_created == 3
    assert "partial" in report.table() and "memo-1" not in report.table()

    # Running it again creates nothing and downloads nothing: everything is done.
    box.clear_requests()
    again = run_batch(source, out=out, api_key=KEY, base_url=box.url, ledger=tmp_path / "l.db")
    assert again.counts == report.counts and box.runs_created == 3 and box.requests == []
    assert _summary(out) == summary


def test_bad_input_is_refused_before_anything_is_sent(box: Sandbox, tmp_path: Path) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text("\n".join([
        json.dumps({"prompt": "ok", "id": "a"}),
        json.dumps({"prompt": ""}),
        "{not json",
        json.dumps({"prompt": "x", "tempalte": "memo"}),
        json.dumps({"prompt": "y", "files": ["missing.csv"]}),
        json.dumps({"prompt": "z", "id": "../escape"}),
        json.dumps({"prompt": "dup", "id": "A"}),
        json.dumps({"prompt": "w", "blocks": []}),
    ]))
    with pytest.raises(BatchInputError) as caught:
        run_batch(source, out=tmp_path / "out", api_key=KEY, base_url=box.url,
                  ledger=tmp_path / "l.db")
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [
        "line 2", "line 3", "line 4", "line 5", "line 6", "line 8", "line 7"]
    assert "'tempalte'" in problems[2] and "missing.csv" in problems[3]
    assert "same id as line 1" in problems[6]
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, spine.SpineError)
    assert box.requests == [] and not (tmp_path / "l.db").exists()


def test_derived_ids_are_stable_and_distinct() -> None:
    a = BatchItem(prompt="Memo", template="memo")
    assert a.item_id == BatchItem(prompt="Memo", template="memo").item_id
    assert a.item_id != BatchItem(prompt="Memo", template="report").item_id
    assert a.item_id.startswith("item-") and len(a.item_id) == 21
    # The same line twice is refused: two runs or one? The user must say (with ids).
    with pytest.raises(BatchInputError, match="same content"):
        asyncio.run(arun_batch(None, [{"prompt": "x"}, {"prompt": "x"}],  # type: ignore[arg-type]
                               out="unused"))


def test_ambiguous_create_is_listed_not_resent_then_resent_with_its_key(
    box: Sandbox, tmp_path: Path
) -> None:
    items = [{"id": f"i{n}", "prompt": f"Item {n}"} for n in range(3)]
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    box.inject(drop="after", method="POST", path="/v1/run")  # the first create: made, no answer
    report = _batch(box, items, out, ledger, concurrency=1)
    assert report.counts == {"ambiguous": 1, "completed": 2} and report.exit_code == 1
    first = _summary(out)[0]
    assert first["status"] == "ambiguous" and first["run_id"] is None
    key = first["idempotency_key"]
    assert key == box.requests[0].idempotency_key
    assert box.runs_created == 3  # the dropped create did make a run

    box.clear_requests()
    again = _batch(box, items, out, ledger)
    assert again.counts == report.counts
    assert [r for r in box.requests if r.method == "POST"] == []  # not re-sent on its own

    resent = _batch(box, items, out, ledger, resend_ambiguous=True)
    posts = [r for r in box.requests if r.method == "POST"]
    assert [p.idempotency_key for p in posts] == [key] and posts[0].replayed
    assert resent.counts == {"completed": 3} and resent.exit_code == 0
    assert box.runs_created == 3  # the server gave back the run it had made
    assert _summary(out)[0]["run_id"] == box.run_ids[0]


def test_429_pauses_the_whole_batch_once(box: Sandbox, tmp_path: Path) -> None:
    box.inject(status=429, retry_after=7, method="POST", path="/v1/run", times=3)
    now = [1000.0]
    events: list[str] = []
    box.on_request(lambda r: events.append(f"POST {r.status}") if r.method == "POST" else None)

    def refused_so_far() -> int:
        # A create that got its 429 is recorded 'rejected' just before it pauses the gate.
        conn = sqlite3.connect(tmp_path / "l.db")
        try:
            return int(conn.execute(
                "SELECT COUNT(*) FROM runs WHERE state = 'rejected'").fetchone()[0])
        finally:
            conn.close()

    async def fake_sleep(seconds: float) -> None:
        # Let the three creates in flight all see their 429 before time moves on.
        for _ in range(500):
            if refused_so_far() == 3:
                break
            await asyncio.sleep(0.01)
        events.append(f"pause {seconds:g}")
        now[0] += seconds

    items = [{"id": f"i{n}", "prompt": f"Item {n}"} for n in range(6)]
    report = _batch(box, items, tmp_path / "out", tmp_path / "l.db", concurrency=3,
                    sleep=fake_sleep, clock=lambda: now[0])
    assert report.pauses == [7]  # one pause for the whole batch, not one per create
    assert events.index("pause 7") > max(i for i, e in enumerate(events) if e == "POST 429")
    after = events[events.index("pause 7") + 1:]
    assert after.count("POST 200") == 6 and "POST 429" not in after
    assert report.counts == {"completed": 6} and box.runs_created == 6
    refused = {r.idempotency_key for r in box.requests if r.status == 429}
    created = {r.idempotency_key for r in box.requests if r.method == "POST" and r.status == 200}
    assert refused <= created  # re-sent with the same key
    assert "paused 1 time(s), 7 s" in report.table()


def test_rejected_items_are_sent_again_on_the_next_run(box: Sandbox, tmp_path: Path) -> None:
    items = [{"id": "bad", "prompt": "x", "template": "nope"}, {"id": "ok", "prompt": "y"}]
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    report = _batch(box, items, out, ledger)
    assert report.counts == {"rejected": 1, "completed": 1} and report.exit_code == 7
    assert "Invalid template" in _summary(out)[0]["error"]
    items[0]["template"] = "memo"  # fixed: nothing was paid for the refused one
    fixed = _batch(box, items, out, ledger)
    assert fixed.counts == {"completed": 2} and box.runs_created == 2


def test_deadline_leaves_runs_running_and_a_rerun_finishes_them(
    manual_box: Sandbox, tmp_path: Path
) -> None:
    box = manual_box
    items = [{"id": f"i{n}", "prompt": f"Item {n}"} for n in range(3)]
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    report = _batch(box, items, out, ledger, timeout=0.3)
    assert report.counts == {"running": 3} and report.exit_code == 5
    box.complete()
    done = _batch(box, items, out, ledger)
    assert done.counts == {"completed": 3} and box.runs_created == 3


def test_one_batch_folder_one_process(box: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    import fcntl

    with open(out / ".spine-batch.lock", "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BatchBusyError, match="Another process"):
            _batch(box, [{"prompt": "x"}], out, tmp_path / "l.db")
    assert box.requests == []


def test_ledger_off_still_runs_the_batch(box: Sandbox, tmp_path: Path) -> None:
    report = _batch(box, [{"prompt": "x"}], tmp_path / "out", "off")
    assert report.counts == {"completed": 1} and report.ledger_path is None
    assert not (tmp_path / "xdg").exists()


_CHILD = """
import sys
from spine.ledger import run_batch
report = run_batch(sys.argv[1], out=sys.argv[2], api_key=sys.argv[3], base_url=sys.argv[4],
                   ledger=sys.argv[5], concurrency=8, resend_ambiguous=True,
                   poll_interval=0.05, max_poll_interval=0.2)
sys.exit(report.exit_code)
"""


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill_9_at_random_moments_then_resume_creates_nothing_twice(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    n = 60
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"Memo {i}", "template": "memo"}) + "\n"
                              for i in range(n)))
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    with Sandbox(run_duration=1.0) as box:
        args = [sys.executable, "-c", _CHILD, str(source), str(out), KEY, box.url, str(ledger)]
        for attempt in range(12):
            child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
            if attempt < 5:
                try:
                    child.wait(timeout=rng.uniform(0.4, 1.4))
                except subprocess.TimeoutExpired:
                    child.send_signal(signal.SIGKILL)
                    child.wait()
                    kills += 1
                    continue
            else:
                child.wait(timeout=120)
            assert child.returncode == 0, (seed, child.stderr.read() if child.stderr else "")
            break
        if child.stderr:
            child.stderr.close()
        assert box.runs_created == n, f"seed {seed}: {box.runs_created} runs created for {n}"
    summary = _summary(out)
    assert len(summary) == n and {s["status"] for s in summary} == {"completed"}, seed
    assert len({s["run_id"] for s in summary}) == n
    assert all((out / a).is_file() for s in summary for a in s["artifacts"])
    assert not list(out.glob("*/.spine-*.part"))
    with Ledger(ledger) as opened:
        assert len(opened.list()) == n  # one row per item: nothing was created twice
    assert kills >= 1, seed  # the batch was really interrupted (it lasts well over 1.4 s)
