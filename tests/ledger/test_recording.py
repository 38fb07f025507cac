"""record(client): what is written before and after a create, over real loopback HTTP against
the sandbox, for SpineClient and AsyncSpineClient."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path
from typing import Any

import pytest

import spine
import spine.ledger
from spine.ledger import Ledger, LedgerLockedError, LedgerWarning, record
from spine.testing import Sandbox
from tests.ledger.conftest import KEY, run_async


def _create(mode: str, box: Sandbox, ledger: Any, *args: Any, **kwargs: Any) -> Any:
    """Create through record() with a sync or an async client; returns (run, record)."""
    if mode == "sync":
        with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
            runs = record(client, ledger)
            run = runs.create(*args, **kwargs)
            run.wait(poll_interval=0.05)
            return run, runs.lookup(run.run_id)

    async def go() -> Any:
        async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
            runs = record(client, ledger)
            run = await runs.create(*args, **kwargs)
            await run.wait(poll_interval=0.05)
            return run, runs.lookup(run.run_id)

    return run_async(go())


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_create_is_recorded_before_it_is_sent(mode: str, box: Sandbox, ledger_path: Path) -> None:
    seen: list[tuple[str | None, Any]] = []

    def on_request(rec: Any) -> None:
        if rec.method == "POST":
            # The create has reached the server: the ledger must already hold it, with the
            # very key the request carries, and no run id yet.
            conn = sqlite3.connect(ledger_path)
            row = conn.execute(
                "SELECT state, run_id FROM runs WHERE idempotency_key = ?",
                (rec.idempotency_key,),
            ).fetchone()
            conn.close()
            seen.append((rec.idempotency_key, row))

    box.on_request(on_request)
    run, rec = _create(mode, box, str(ledger_path), "Write a memo", template="memo",
                       files=[("notes.md", b"# Notes\n")], label="q1")
    assert seen == [(run.idempotency_key, ("sending", None))]
    assert rec.run_id == run.run_id and rec.idempotency_key == run.idempotency_key
    assert rec.state == "completed" and rec.status == "completed"
    assert rec.credits is not None and rec.credits > 0 and rec.duration_ms is not None
    assert rec.canvas_id == run.canvas_id and rec.canvas_url is None  # sandbox
    assert rec.label == "q1" and rec.prompt == "Write a memo" and rec.template == "memo"
    assert rec.files[0]["name"] == "notes.md" and rec.files[0]["size"] == 8
    assert rec.files[0]["sha256"] == box.uploads(run.run_id)[0].sha256
    assert rec.api_host == box.url
    assert box.runs_created == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_failed_run_terminal_state_recorded(mode: str, box: Sandbox, ledger_path: Path) -> None:
    with pytest.raises(spine.RunFailedError) as caught:
        _create(mode, box, str(ledger_path), "Break [sandbox:failed]")
    with Ledger(ledger_path) as ledger:
        rec = ledger.get(caught.value.run_id)
    assert rec is not None and rec.state == "failed"
    assert rec.errors and rec.errors[0]["error"] == "Agent execution failed"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_ambiguous_create_recorded_with_its_key(mode: str, box: Sandbox, ledger_path: Path) -> None:
    box.inject(drop="after", method="POST", path="/v1/run")  # created, then no answer
    with pytest.raises(spine.SpineError) as caught:
        _create(mode, box, str(ledger_path), "Maybe created")
    exc = caught.value
    assert exc.run_may_exist and exc.idempotency_key
    with Ledger(ledger_path) as ledger:
        rec = ledger.get(exc.idempotency_key)
    assert rec is not None and rec.state == "ambiguous" and rec.run_id is None
    assert rec.idempotency_key == exc.idempotency_key
    # Exactly one POST, and nothing re-sent it.
    assert [r.method for r in box.requests].count("POST") == 1
    assert box.runs_created == 1


def test_rejected_create_recorded(box: Sandbox, ledger_path: Path) -> None:
    with pytest.raises(spine.BadRequestError):
        _create("sync", box, str(ledger_path), "x", template="no-such-template")
    with Ledger(ledger_path) as ledger:
        (rec,) = ledger.list()
    assert rec.state == "rejected" and "Invalid template" in (rec.error or "")
    assert box.runs_created == 0


def _hold_lock(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def test_locked_ledger_fails_before_anything_is_sent(box: Sandbox, ledger_path: Path) -> None:
    ledger = Ledger(ledger_path, busy_timeout=0.2)
    holder = _hold_lock(ledger_path)
    try:
        with (
            spine.SpineClient(api_key=KEY, base_url=box.url) as client,
            pytest.raises(LedgerLockedError) as caught,
        ):
            record(client, ledger).create("Not sent")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another process" in str(caught.value)
    assert "in within" not in str(caught.value)  # the message reads well
    assert "could not record a create in the ledger within the busy timeout" in str(caught.value)
    assert isinstance(caught.value, spine.SpineError)
    assert box.runs_created == 0 and not box.requests


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_ledger_failure_after_create_never_loses_the_run_id(
    mode: str, box: Sandbox, ledger_path: Path
) -> None:
    ledger = Ledger(ledger_path, busy_timeout=0.2)
    holders: list[sqlite3.Connection] = []

    def lock_when_created(rec: Any) -> None:
        if rec.method == "POST" and not holders:
            holders.append(_hold_lock(ledger_path))  # before the answer reaches the client

    box.on_request(lock_when_created)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if mode == "sync":
            with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
                run = record(client, ledger).create("Paid for")
        else:

            async def go() -> Any:
                async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
                    return await record(client, ledger).create("Paid for")

            run = run_async(go())
    for conn in holders:
        conn.execute("ROLLBACK")
        conn.close()
    assert run.run_id == box.run_ids[0]  # the run id came back despite the ledger
    assert isinstance(run.ledger_error, LedgerLockedError)
    assert any(issubclass(w.category, LedgerWarning) and run.run_id in str(w.message)
               for w in caught)
    rec = ledger.get(run.idempotency_key)
    assert rec is not None and rec.state == "sending"  # what was durable before sending


def test_api_key_and_file_contents_never_stored(box: Sandbox, ledger_path: Path,
                                                tmp_path: Path) -> None:
    marker = b"FILE-CONTENT-MARKER-7f3a9c"
    data = tmp_path / "data.csv"
    data.write_bytes(b"a,b\n" + marker + b"\n")
    _, rec = _create("sync", box, str(ledger_path), "Summarise", files=[data])
    assert rec.files[0]["path"] == str(data) and rec.files[0]["size"] == data.stat().st_size
    blob = b"".join(p.read_bytes() for p in ledger_path.parent.iterdir() if p.is_file())
    assert KEY.encode() not in blob
    assert marker not in blob
    assert b"Summarise" in blob  # prompts are stored by default...


def test_prompts_can_be_left_out(box: Sandbox, ledger_path: Path) -> None:
    secret_prompt = "Confidential prompt 5d1e"
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path), store_prompts=False)
        run = runs.create(secret_prompt, agent_instructions="Confidential instructions 77ab")
        run.wait(poll_interval=0.05)
        rec = runs.lookup(run.run_id)
    assert rec.prompt is None and rec.agent_instructions is None and rec.fingerprint
    runs.ledger.close()
    blob = b"".join(p.read_bytes() for p in ledger_path.parent.iterdir() if p.is_file())
    assert b"Confidential" not in blob


def test_off_records_nothing(box: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINE_LEDGER", "off")
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client)
        run = runs.create("Not recorded")
        run.wait(poll_interval=0.05)
    assert runs.ledger is None and run.record is None
    assert not (tmp_path / "xdg").exists()


def test_default_file_is_in_the_user_data_dir(box: Sandbox, tmp_path: Path) -> None:
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client)
        runs.create("Recorded by default").wait(poll_interval=0.05)
    assert runs.ledger is not None
    assert Path(runs.ledger.path) == tmp_path / "xdg" / "spine" / "runs.sqlite3"
    assert spine.ledger.default_path() == Path(runs.ledger.path)
    assert len(runs.list()) == 1


def test_iterators_are_read_once(box: Sandbox, ledger_path: Path) -> None:
    """blocks and files given as iterators are described and sent from the same list."""
    run, rec = _create(
        "sync", box, str(ledger_path), "Tables",
        blocks=iter(["table-block"]), files=(f for f in [("a.txt", b"abc")]),
    )
    assert rec.blocks == ["table-block"]
    assert box.run_info(run.run_id)["blocks"] == ["table-block"]
    assert [u.size for u in box.uploads(run.run_id)] == [3]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_resume_follows_runs_left_behind(mode: str, manual_box: Sandbox,
                                         ledger_path: Path) -> None:
    box = manual_box
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path))
        ids = [runs.create(f"Run {i}").run_id for i in range(3)]  # then the process "dies"
        other = spine.SpineClient(api_key=KEY, base_url=box.url)
        record(other, str(ledger_path)).attach(ids[0])  # following again changes nothing
    box.complete(ids[0])
    box.complete(ids[1], outcome="failed")
    box.complete(ids[2], outcome="partial")
    seen: list[str] = []
    if mode == "sync":
        with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
            done = record(client, str(ledger_path)).resume(
                poll_interval=0.01, on_update=lambda rec, run: seen.append(run.run_id)
            )
    else:

        async def go() -> Any:
            async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
                return await record(client, str(ledger_path)).resume(
                    poll_interval=0.01, on_update=lambda rec, run: seen.append(run.run_id)
                )

        done = run_async(go())
    assert sorted(seen) == sorted(ids)
    states = {r.run_id: r.state for r in done}
    assert states == {ids[0]: "completed", ids[1]: "failed", ids[2]: "partial"}
    with Ledger(ledger_path) as ledger:
        assert ledger.unfinished() == []
        assert len(ledger.list()) == 3


def test_orphaned_create_becomes_ambiguous_on_resume(box: Sandbox, ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        row = ledger.begin_create(idempotency_key="k-orphan", api_host=box.url,
                                  request={"prompt": "p"}, fingerprint="f")
        conn = sqlite3.connect(ledger_path)
        conn.execute("UPDATE runs SET pid = 999999999 WHERE id = ?", (row,))  # a dead process
        conn.commit()
        conn.close()
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path))
        assert runs.resume(poll_interval=0.01) == []
        rec = runs.lookup("k-orphan")
    assert rec.state == "ambiguous" and "stopped before recording" in (rec.error or "")
    assert box.runs_created == 0


def test_download_all_records_paths(box: Sandbox, ledger_path: Path, tmp_path: Path) -> None:
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path))
        run = runs.create("Report", template="report")
        run.wait(poll_interval=0.05)
        paths = run.download_all(tmp_path / "out")
        rec = runs.lookup(run.run_id)
    assert paths and [a.path for a in rec.artifacts] == [str(p) for p in paths]
    assert rec.downloaded_at is not None


def test_same_key_again_recovers_an_ambiguous_run_in_the_same_row(
    box: Sandbox, ledger_path: Path
) -> None:
    box.inject(drop="after", method="POST", path="/v1/run")
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path))
        with pytest.raises(spine.SpineConnectionError) as caught:
            runs.create("Paid once", idempotency_key="my-key-1")
        assert caught.value.run_may_exist and runs.lookup("my-key-1").state == "ambiguous"
        again = runs.create("Paid once", idempotency_key="my-key-1")
        again.wait(poll_interval=0.05)
        # A third use of the key after the end changes nothing recorded.
        runs.create("Paid once", idempotency_key="my-key-1")
    (rec,) = runs.list()
    assert rec.run_id == again.run_id == box.run_ids[0] and rec.state == "completed"
    assert box.runs_created == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_resume_rides_out_what_a_wait_rides_out(
    mode: str, manual_box: Sandbox, ledger_path: Path
) -> None:
    """resume() keeps polling through the SDK's transient outcomes (one list with wait()):
    a 408 after the retries, a proxy's redirect."""
    box = manual_box
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        run_id = record(client, str(ledger_path)).create("Left behind").run_id
    box.complete(run_id)
    box.inject(path="/v1/run/*", status=408, retry_after=0, times=5)  # > one poll's retries
    box.inject(path="/v1/run/*", status=302, headers={"Location": "https://login.example/"})
    if mode == "sync":
        with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
            done = record(client, str(ledger_path)).resume(poll_interval=0.01)
    else:

        async def go() -> Any:
            async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
                return await record(client, str(ledger_path)).resume(poll_interval=0.01)

        done = run_async(go())
    assert [r.state for r in done] == ["completed"]
    assert len([r for r in box.requests if r.method == "GET"]) == 7


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_run_id_the_ledger_missed_is_recorded_at_the_next_write(
    mode: str, box: Sandbox, ledger_path: Path
) -> None:
    """Locked right after the create was sent: the run id is kept in memory and written with
    the terminal state once the lock is gone; resume then has nothing to call ambiguous."""
    ledger = Ledger(ledger_path, busy_timeout=0.2)
    holders: list[sqlite3.Connection] = []

    def lock_when_created(rec: Any) -> None:
        if rec.method == "POST" and not holders:
            holders.append(_hold_lock(ledger_path))

    def release() -> None:
        for conn in holders:
            conn.execute("ROLLBACK")
            conn.close()

    box.on_request(lock_when_created)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LedgerWarning)
        if mode == "sync":
            with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
                run = record(client, ledger).create("Paid for")
                assert isinstance(run.ledger_error, LedgerLockedError)
                release()
                run.wait(poll_interval=0.05)
        else:

            async def go() -> Any:
                async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
                    made = await record(client, ledger).create("Paid for")
                    assert isinstance(made.ledger_error, LedgerLockedError)
                    release()
                    await made.wait(poll_interval=0.05)
                    return made

            run = run_async(go())
    rec = ledger.get(run.run_id)
    assert rec is not None and rec.state == "completed" and rec.run_id == run.run_id
    assert rec.idempotency_key == run.idempotency_key
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        record(client, ledger).resume(poll_interval=0.01)
    assert ledger.get(run.run_id).state == "completed"
    assert ledger.list(status="ambiguous") == [] and len(ledger.list()) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_resume_records_runs_the_server_forgot_as_lost(
    mode: str, manual_box: Sandbox, ledger_path: Path
) -> None:
    box = manual_box
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path))
        ids = [runs.create(f"Run {i}").run_id for i in range(2)]
    box.reset()  # the server restarted and forgot its runs
    if mode == "sync":
        with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
            done = record(client, str(ledger_path)).resume(poll_interval=0.01)
    else:

        async def go() -> Any:
            async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
                return await record(client, str(ledger_path)).resume(poll_interval=0.01)

        done = run_async(go())
    assert {r.run_id: r.state for r in done} == {i: "lost" for i in ids}
    assert all("404" in (r.error or "") for r in done)
    with Ledger(ledger_path) as ledger:
        assert ledger.unfinished() == []  # not followed forever
        assert {r.run_id for r in ledger.list(status="lost")} == set(ids)


def test_artifact_paths_are_stored_absolute(
    box: Sandbox, ledger_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path))
        run = runs.create("Report", template="report")
        run.wait(poll_interval=0.05)
        paths = run.download_all("out")  # a relative folder
        rec = runs.lookup(run.run_id)
    assert paths and all(not p.is_absolute() for p in paths)
    assert [a.path for a in rec.artifacts] == [str(tmp_path / p) for p in paths]
    assert all(Path(a.path).is_absolute() and Path(a.path).is_file() for a in rec.artifacts)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "text"),
    [
        (("x",), {"idempotency_key": ""}, spine.InvalidRequestError, "idempotency_key"),
        ((b"bytes",), {}, TypeError, "prompt must be a str"),
        (("x",), {"blocks": []}, spine.InvalidRequestError, "blocks must not be empty"),
        (("x",), {"template": 3}, TypeError, "template must be"),
        (("x",), {"files": ["/no/such/file.csv"]}, FileNotFoundError, "file.csv"),
    ],
)
def test_create_refuses_what_the_sdk_refuses_before_any_row(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], text: str,
    box: Sandbox, ledger_path: Path,
) -> None:
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        with pytest.raises(error, match=text) as plain:
            client.runs.create(*args, **kwargs)
        runs = record(client, str(ledger_path))
        with pytest.raises(error, match=text) as recorded:
            runs.create(*args, **kwargs)
        with pytest.raises(TypeError, match="label must be a str"):
            runs.create("x", label=7)  # type: ignore[arg-type]
    assert str(recorded.value) == str(plain.value)  # the SDK's own words
    assert runs.list() == [] and box.requests == []


def test_record_takes_only_a_client() -> None:
    with pytest.raises(TypeError, match=r"SpineClient or a spine\.AsyncSpineClient, not object"):
        record(object())  # type: ignore[call-overload]


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf")])
def test_resume_checks_its_schedule_before_polling(
    value: float, manual_box: Sandbox, ledger_path: Path
) -> None:
    with spine.SpineClient(api_key=KEY, base_url=manual_box.url) as client:
        runs = record(client, str(ledger_path))
        runs.create("Long")
        manual_box.clear_requests()
        with pytest.raises(ValueError, match="poll_interval"):
            runs.resume(poll_interval=value)
    assert manual_box.requests == []


def test_flush_ledger_records_the_run_id_once_the_lock_clears(
    box: Sandbox, ledger_path: Path
) -> None:
    ledger = Ledger(ledger_path, busy_timeout=0.2)
    holders: list[sqlite3.Connection] = []
    box.on_request(lambda r: holders.append(_hold_lock(ledger_path))
                   if r.method == "POST" and not holders else None)
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore", LedgerWarning)
        run = record(client, ledger).create("Paid for")
        assert run.flush_ledger() is False  # still locked
        for conn in holders:
            conn.execute("ROLLBACK")
            conn.close()
        assert run.flush_ledger() is True
    rec = ledger.get(run.run_id)
    assert rec is not None and rec.state == "running" and rec.canvas_id == run.canvas_id


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_waiting_on_a_run_the_server_forgot_records_it_lost(
    mode: str, manual_box: Sandbox, ledger_path: Path
) -> None:
    box = manual_box
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        run_id = record(client, str(ledger_path)).create("Long").run_id
    box.reset()
    if mode == "sync":
        with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
            handle = record(client, str(ledger_path)).attach(run_id)
            with pytest.raises(spine.NotFoundError):
                handle.wait(poll_interval=0.05)
    else:

        async def go() -> None:
            async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
                handle = record(client, str(ledger_path)).attach(run_id)
                with pytest.raises(spine.NotFoundError):
                    await handle.wait(poll_interval=0.05)

        run_async(go())
    with Ledger(ledger_path) as ledger:
        rec = ledger.get(run_id)
        assert rec is not None and rec.state == "lost" and "404" in (rec.error or "")
        assert ledger.unfinished() == []


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_resume_leaves_a_run_it_cannot_read_and_follows_the_others(
    mode: str, manual_box: Sandbox, ledger_path: Path
) -> None:
    box = manual_box
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        runs = record(client, str(ledger_path))
        bad, good = (runs.create(f"Run {i}").run_id for i in range(2))
    box.complete(good)
    box.inject(status=200, body=b'{"oops": 1}', content_type="application/json",
               method="GET", path=f"/v1/run/{bad}", times=None)
    if mode == "sync":
        with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
            done = record(client, str(ledger_path)).resume(poll_interval=0.01)
    else:

        async def go() -> Any:
            async with spine.AsyncSpineClient(api_key=KEY, base_url=box.url) as client:
                return await record(client, str(ledger_path)).resume(poll_interval=0.01)

        done = run_async(go())
    states = {r.run_id: r for r in done}
    assert states[good].state == "completed"
    assert states[bad].state == "running"  # not ended as far as anyone knows: resumable
    assert "could not read the state of run" in (states[bad].error or "")
    assert len([r for r in box.requests if r.path == f"/v1/run/{bad}"]) == 3
    box.clear_faults()
    box.complete(bad)
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        (again,) = record(client, str(ledger_path)).resume(poll_interval=0.01)
    assert again.state == "completed" and again.error is None
