"""Batches when things go wrong, over real loopback HTTP against the sandbox (faults through
``sandbox.inject``): no single item stops the batch, a run the server forgot is ``lost``, a
refused key leaves nothing ambiguous, the output folder, the item ids and every argument are
checked before anything is sent, and an item edited after its run was created is refused
rather than silently given the old result."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import spine
from spine.ledger import (
    BatchInputError,
    BatchItem,
    Ledger,
    LedgerUsageError,
    OutputFolderError,
    arun_batch,
    read_items,
    run_batch,
)
from spine.testing import Sandbox
from tests.ledger.conftest import KEY

MALFORMED = b'{"oops": 1}'


def _summary(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "summary.jsonl").read_text().splitlines()]


def _batch(box: Sandbox, items: Any, out: Path, ledger: Any, *, key: str = KEY,
           **options: Any) -> Any:
    options.setdefault("poll_interval", 0.05)
    options.setdefault("max_poll_interval", 0.2)

    async def go() -> Any:
        async with spine.AsyncSpineClient(
            api_key=key, base_url=box.url, retry_policy=spine.RetryPolicy(max_retries=0)
        ) as client:
            return await arun_batch(client, items, out=out, ledger=ledger, **options)

    return asyncio.run(go())


def _states(ledger: Path) -> dict[str, str]:
    conn = sqlite3.connect(ledger)
    try:
        return dict(conn.execute("SELECT item_id, state FROM runs").fetchall())
    finally:
        conn.close()


# ----------------------------------------------------------------------------- one item fails


def test_a_malformed_poll_answer_is_reported_on_its_item_only(
    box: Sandbox, tmp_path: Path
) -> None:
    def garble_polls_of_bad(rec: Any) -> None:
        if rec.method == "POST" and rec.run_id and "garbled" in box.run_info(rec.run_id)[
            "prompt"
        ]:
            box.inject(status=200, body=MALFORMED, content_type="application/json",
                       method="GET", path=f"/v1/run/{rec.run_id}", times=None)

    box.on_request(garble_polls_of_bad)
    items = [{"id": "bad", "prompt": "garbled answers"}, {"id": "good", "prompt": "fine"}]
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    report = _batch(box, items, out, ledger)  # no ExceptionGroup, no exception at all
    bad, good = _summary(out)
    assert good["status"] == "completed" and good["artifacts"]
    assert bad["status"] == "unknown" and bad["run_id"] in box.run_ids
    assert "could not read the state of run" in bad["error"]
    assert "contract" in bad["error"]
    assert report.counts == {"unknown": 1, "completed": 1} and report.exit_code == 7
    polls = [r for r in box.requests if r.path == f"/v1/run/{bad['run_id']}"]
    assert len(polls) >= 3  # retried before giving up on it
    # The run is still followed next time (its state is unknown, not ended).
    assert _states(ledger)["bad"] == "running"
    box.clear_faults()
    again = _batch(box, items, out, ledger)
    assert again.counts == {"completed": 2} and box.runs_created == 2


def test_a_malformed_poll_answer_once_is_retried(box: Sandbox, tmp_path: Path) -> None:
    box.inject(status=200, body=MALFORMED, content_type="application/json", method="GET",
               path="/v1/run/*", times=2)
    report = _batch(box, [{"id": "a", "prompt": "x"}, {"id": "b", "prompt": "y"}],
                    tmp_path / "out", tmp_path / "l.db")
    assert report.counts == {"completed": 2} and report.exit_code == 0


def test_401_while_polling_stops_the_batch_with_its_summary(
    manual_box: Sandbox, tmp_path: Path
) -> None:
    box = manual_box
    items = [{"id": f"i{n}", "prompt": f"Item {n}"} for n in range(3)]
    out, ledger = tmp_path / "out", tmp_path / "l.db"

    def revoke_after_creates(rec: Any) -> None:
        if rec.method == "POST" and box.runs_created == 3:
            box.inject(status=401, method="GET", path="/v1/run/*", times=None)

    box.on_request(revoke_after_creates)
    with pytest.raises(spine.AuthenticationError) as caught:  # one error, not a group
        _batch(box, items, out, ledger)
    report = caught.value.batch_report  # type: ignore[attr-defined]
    summary = _summary(out)
    assert [s["status"] for s in summary] == ["running"] * 3
    assert {s["run_id"] for s in summary} == set(box.run_ids)
    assert report.counts == {"running": 3}
    box.clear_faults()
    box.complete()
    done = _batch(box, items, out, ledger)
    assert done.counts == {"completed": 3} and box.runs_created == 3


def test_artifacts_that_cannot_be_saved_are_reported_on_the_item(
    box: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "blocked").write_text("a file where the item's folder goes")
    report = _batch(box, [{"id": "blocked", "prompt": "x"}, {"id": "ok", "prompt": "y"}],
                    out, tmp_path / "l.db")
    blocked, ok = _summary(out)
    assert blocked["status"] == "completed" and "artifacts not saved" in blocked["error"]
    assert ok["artifacts"] and report.exit_code == 9


# ----------------------------------------------------------------------------- lost runs


def test_runs_the_server_forgot_are_lost_not_running_forever(
    manual_box: Sandbox, tmp_path: Path
) -> None:
    box = manual_box
    items = [{"id": f"i{n}", "prompt": f"Item {n}"} for n in range(2)]
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    first = _batch(box, items, out, ledger, timeout=0.3)
    assert first.counts == {"running": 2} and first.exit_code == 5
    box.reset()  # a restarted sandbox: its runs are gone
    report = _batch(box, items, out, ledger)
    summary = _summary(out)
    assert [s["status"] for s in summary] == ["lost", "lost"]
    assert all("404" in s["error"] and s["run_id"] for s in summary)
    assert report.counts == {"lost": 2} and report.exit_code == 10
    assert "lost" in report.table()
    with Ledger(ledger) as opened:
        records = opened.list()
        assert {r.state for r in records} == {"lost"} and opened.unfinished() == []
        assert all("404" in (r.error or "") for r in records)
    # Running it again neither polls nor creates: a lost run may have been paid for.
    box.clear_requests()
    again = _batch(box, items, out, ledger)
    assert again.exit_code == 10 and box.requests == [] and box.runs_created == 0


# ----------------------------------------------------------------------------- a refused key


def test_a_refused_key_leaves_no_create_ambiguous(tmp_path: Path) -> None:
    good = "sk_spine_the_right_key_0123456789"
    items = [{"id": f"i{n}", "prompt": f"Item {n}"} for n in range(8)]
    out, ledger = tmp_path / "out", tmp_path / "l.db"
    with Sandbox(run_duration=0.2, api_keys=[good]) as box:
        # Slow answers: several creates are on the wire when the first 401 comes back.
        box.inject(delay=0.3, method="POST", path="/v1/run", times=None)
        with pytest.raises(spine.AuthenticationError) as caught:
            _batch(box, items, out, ledger, key="sk_spine_a_wrong_key_000000000", concurrency=4)
        posts = [r for r in box.requests if r.method == "POST"]
        assert len(posts) >= 2 and all(p.status == 401 for p in posts)
        summary = _summary(out)
        statuses = [s["status"] for s in summary]
        assert "ambiguous" not in statuses
        assert set(statuses) <= {"rejected", "not_started"} and "rejected" in statuses
        assert caught.value.batch_report.counts.get("ambiguous") is None  # type: ignore[attr-defined]
        assert set(_states(ledger).values()) <= {"rejected"}  # nothing left 'sending'
        box.clear_faults()
        fixed = _batch(box, items, out, ledger, key=good)
        assert fixed.counts == {"completed": 8} and box.runs_created == 8


def test_cancelled_while_waiting_to_send_leaves_nothing_ambiguous(
    box: Sandbox, tmp_path: Path
) -> None:
    """A create held back by a 429 and then cancelled (Ctrl-C) was never re-sent: it is not
    started, not ambiguous, and the summary is written before the cancellation goes on."""
    box.inject(status=429, retry_after=3600, method="POST", path="/v1/run", times=None)
    items = [{"id": f"i{n}", "prompt": f"Item {n}"} for n in range(4)]
    out, ledger = tmp_path / "out", tmp_path / "l.db"

    async def go() -> Any:
        async with spine.AsyncSpineClient(
            api_key=KEY, base_url=box.url, retry_policy=spine.RetryPolicy(max_retries=0)
        ) as client:
            task = asyncio.ensure_future(
                arun_batch(client, items, out=out, ledger=ledger, concurrency=2)
            )
            for _ in range(500):
                if any(r.status == 429 for r in box.requests):
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError) as caught:
                await task
            return caught.value

    cancelled = asyncio.run(go())
    report = cancelled.batch_report
    assert report.interrupted and report.counts == {"not_started": 4}
    assert [s["status"] for s in _summary(out)] == ["not_started"] * 4
    assert _states(ledger) == {}  # the refused sends were forgotten, nothing is ambiguous
    box.clear_faults()
    done = _batch(box, items, out, ledger)
    assert done.counts == {"completed": 4} and box.runs_created == 4


# ----------------------------------------------------------------------------- the output folder


@contextlib.contextmanager
def _unwritable(folder: Path) -> Iterator[None]:
    """A folder nothing can be created in (immutable as root, read-only otherwise)."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("needs chattr to make a folder unwritable as root")
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"chattr +i is not supported here: {made.stderr!r}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_an_unwritable_output_folder_is_refused_before_anything_is_sent(
    box: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".spine-batch.lock").write_bytes(b"")  # left by an earlier batch
    with _unwritable(out), pytest.raises(OutputFolderError) as caught:
        _batch(box, [{"prompt": "x"}], out, tmp_path / "l.db")
    assert "cannot write into the output folder" in str(caught.value)
    assert "Errno" not in str(caught.value) and isinstance(caught.value, ValueError)
    assert box.requests == [] and not (tmp_path / "l.db").exists()


def test_a_file_as_output_folder_is_refused_before_anything_is_sent(
    box: Sandbox, tmp_path: Path
) -> None:
    taken = tmp_path / "results.txt"
    taken.write_text("not a folder")
    for out, reason in ((taken, "it is a file, not a folder"),
                        (taken / "sub", "a part of the path is a file")):
        with pytest.raises(OutputFolderError, match=reason) as caught:
            _batch(box, [{"prompt": "x"}], out, tmp_path / "l.db")
        assert "Errno" not in str(caught.value)
    assert box.requests == []


# ----------------------------------------------------------------------------- item ids


def test_reserved_item_ids_are_refused_before_anything_is_sent(
    box: Sandbox, tmp_path: Path
) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text("".join(json.dumps(x) + "\n" for x in [
        {"id": "summary.jsonl", "prompt": "a"},
        {"id": "SUMMARY.JSONL", "prompt": "b"},
        {"id": "summary.jsonl.old", "prompt": "c"},
        {"id": "con", "prompt": "d"},
        {"id": "NUL.txt", "prompt": "e"},
        {"id": "memo.", "prompt": "f"},
        {"id": "fine", "prompt": "g"},
    ]))
    with pytest.raises(BatchInputError) as caught:
        run_batch(source, out=tmp_path / "out", api_key=KEY, base_url=box.url,
                  ledger=tmp_path / "l.db")
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(1, 7)]
    assert all("cannot be used" in p for p in problems)
    assert box.requests == [] and not (tmp_path / "out").exists()


def test_batch_item_objects_are_checked_like_lines(box: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(BatchInputError) as caught:
        _batch(box, [BatchItem(prompt="x", id="../escape"), BatchItem(prompt="",
                                                                       id="summary.jsonl")],
               tmp_path / "out", tmp_path / "l.db")
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 1", "line 2", "line 2"]
    assert "'prompt' is required" in problems[1] and "cannot be used" in problems[2]
    assert box.requests == []
    assert not (tmp_path / "escape").exists()


def test_input_errors_do_not_claim_an_http_status(box: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(BatchInputError) as caught:
        _batch(box, [{"prompt": ""}], tmp_path / "out", tmp_path / "l.db")
    assert "HTTP" not in str(caught.value) and "400" not in str(caught.value)
    assert not isinstance(caught.value, spine.SpineAPIError)
    assert isinstance(caught.value, LedgerUsageError) and isinstance(caught.value, ValueError)


def test_items_are_checked_with_the_sdks_own_rules(box: Sandbox, tmp_path: Path) -> None:
    # A lone surrogate: valid JSON, refused by runs.create before sending.
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "prompt": "broken \\ud800 text"}\n{"id": "b", "prompt": "ok"}\n')
    with pytest.raises(BatchInputError, match="line 1: prompt is not valid Unicode text"):
        run_batch(source, out=tmp_path / "out", api_key=KEY, base_url=box.url,
                  ledger=tmp_path / "l.db")
    assert box.requests == []


def test_non_utf8_lines_are_reported_and_a_bom_is_accepted(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"prompt": "ok"}\n{"prompt": "caf\xe9"}\n')
    with pytest.raises(BatchInputError, match=r"line 2: not UTF-8 text \(byte 0xe9"):
        read_items(bad)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b'\xef\xbb\xbf{"id": "a", "prompt": "ok"}\n')
    assert [i.item_id for i in read_items(bom)] == ["a"]


# ----------------------------------------------------------------------------- changed items


def test_an_edited_item_is_refused_not_given_the_old_result(
    box: Sandbox, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b\n1,2\n")
    source = folder / "items.jsonl"

    def write(prompt: str) -> None:
        source.write_text(
            json.dumps({"id": "memo", "prompt": prompt}) + "\n"
            + json.dumps({"prompt": "Table", "files": ["data.csv"]}) + "\n"
        )

    out, ledger = tmp_path / "out", tmp_path / "l.db"
    write("Memo on Q1")
    run_batch(source, out=out, api_key=KEY, base_url=box.url, ledger=ledger,
              poll_interval=0.05, max_poll_interval=0.2)
    old = _summary(out)
    assert box.runs_created == 2

    write("Memo on Q2")  # the prompt is edited, the id kept
    (folder / "data.csv").write_text("a,b\n3,4\n")  # and a file's content changes
    box.clear_requests()
    report = run_batch(source, out=out, api_key=KEY, base_url=box.url, ledger=ledger,
                       poll_interval=0.05, max_poll_interval=0.2)
    summary = _summary(out)
    assert [s["status"] for s in summary] == ["changed", "changed"]
    assert [s["run_id"] for s in summary] == [s["run_id"] for s in old]
    assert "new id" in summary[0]["error"] and "--rerun-changed" in summary[0]["error"]
    assert report.exit_code == 2 and "changed" in report.table()
    assert [r for r in box.requests if r.method == "POST"] == [] and box.runs_created == 2

    rerun = run_batch(source, out=out, api_key=KEY, base_url=box.url, ledger=ledger,
                      rerun_changed=True, poll_interval=0.05, max_poll_interval=0.2)
    assert rerun.counts == {"completed": 2} and box.runs_created == 4
    fresh = _summary(out)
    assert box.run_info(fresh[0]["run_id"])["prompt"] == "Memo on Q2"
    assert {s["run_id"] for s in fresh}.isdisjoint(s["run_id"] for s in old)
    # Settled: the next run reuses the new results and creates nothing.
    again = run_batch(source, out=out, api_key=KEY, base_url=box.url, ledger=ledger)
    assert again.counts == {"completed": 2} and box.runs_created == 4


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("poll_interval", 0, ValueError),
        ("poll_interval", -1, ValueError),
        ("poll_interval", math.nan, ValueError),
        ("poll_interval", math.inf, ValueError),
        ("max_poll_interval", 0.01, ValueError),  # below poll_interval
        ("timeout", 0, ValueError),
        ("timeout", -5, ValueError),
        ("timeout", math.nan, ValueError),
        ("concurrency", 0, ValueError),
        ("concurrency", 2.5, TypeError),
        ("poll_interval", "2", TypeError),
        ("on_update", 3, TypeError),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_every_argument_is_checked_before_anything_is_sent(
    mode: str, option: str, value: Any, error: type[Exception], box: Sandbox, tmp_path: Path
) -> None:
    items = [{"prompt": "x"}]

    def go() -> Any:
        if mode == "sync":
            return run_batch(items, out=tmp_path / "out", api_key=KEY, base_url=box.url,
                             ledger=tmp_path / "l.db", **{option: value})
        return _batch(box, items, tmp_path / "out", tmp_path / "l.db", **{option: value})

    with pytest.raises(error):
        go()
    assert box.requests == [] and not (tmp_path / "l.db").exists()
    assert not (tmp_path / "out").exists()


def test_an_empty_batch_is_refused_as_on_the_command_line(box: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(BatchInputError, match="no items"):
        run_batch([], out=tmp_path / "out", api_key=KEY, base_url=box.url,
                  ledger=tmp_path / "l.db")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("# only a comment\n\n")
    with pytest.raises(BatchInputError, match="has no items"):
        run_batch(empty, out=tmp_path / "out", api_key=KEY, base_url=box.url)
    assert box.requests == []


def test_infinite_timeout_means_no_limit(box: Sandbox, tmp_path: Path) -> None:
    report = _batch(box, [{"prompt": "x"}], tmp_path / "out", tmp_path / "l.db",
                    timeout=math.inf)
    assert report.counts == {"completed": 1}
