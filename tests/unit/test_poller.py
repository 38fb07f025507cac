"""The sans-I/O poll loop of wait() and stream_progress(), driven by a fake clock."""

from __future__ import annotations

import math
from typing import Any

import pytest

from spine._enums import RunStatus
from spine._exceptions import RunFailedError, SpineAPIError, SpineTimeoutError
from spine._models import GetRunResponse, RunError, RunProgress, RunResult
from spine._poller import Done, Failed, Poller, PollNow, Report, Sleep, TimedOut, wait_steps
from tests.unit.conftest import FakeClock


def run(status: str, **fields: Any) -> GetRunResponse:
    return GetRunResponse(run_id="r1", status=status, **fields)


def drive(poller: Poller, clock: FakeClock, runs: list[GetRunResponse]) -> list[Any]:
    """Poll the scripted runs (the last one repeats) until a non-Sleep decision."""
    decisions: list[Any] = []
    for i in range(1000):
        decision = poller.observe(runs[min(i, len(runs) - 1)])
        decisions.append(decision)
        if not isinstance(decision, Sleep):
            return decisions
        clock.sleep(decision.seconds)
    raise AssertionError("no decision after 1000 polls")


def test_doubling_schedule_without_deadline(clock: FakeClock) -> None:
    poller = Poller(timeout=None, clock=clock)
    sleeps = [poller.observe(run("running")) for _ in range(8)]
    assert sleeps == [Sleep(s) for s in (2, 4, 8, 16, 30, 30, 30, 30)]
    assert poller.deadline is None
    assert poller.remaining() == math.inf


def test_default_schedule_and_timeout(clock: FakeClock) -> None:
    poller = Poller(clock=clock)
    assert poller.deadline == clock() + 900.0
    decisions = drive(poller, clock, [run("running")])
    assert isinstance(decisions[-1], TimedOut)
    assert decisions[-1].timeout == 900.0
    assert clock.sleeps == [2, 4, 8, 16] + [30] * 29  # 30 + 870 = 900 s exactly


def test_timeout_lands_mid_sleep(clock: FakeClock) -> None:
    poller = Poller(timeout=10.0, clock=clock)
    decisions = drive(poller, clock, [run("running")])
    assert decisions == [Sleep(2.0), Sleep(4.0), Sleep(4.0), TimedOut(10.0)]
    assert poller.remaining() == 0.0


def test_time_spent_polling_counts(clock: FakeClock) -> None:
    poller = Poller(timeout=10.0, clock=clock)
    assert poller.observe(run("running")) == Sleep(2.0)
    clock.advance(7.0)  # a slow HTTP call
    assert poller.remaining() == 3.0
    assert poller.observe(run("running")) == Sleep(3.0)
    clock.advance(3.0)
    assert isinstance(poller.observe(run("running")), TimedOut)


def test_custom_intervals(clock: FakeClock) -> None:
    poller = Poller(timeout=None, poll_interval=0.5, max_poll_interval=3.0, clock=clock)
    assert [poller.observe(run("running")) for _ in range(5)] == [
        Sleep(0.5),
        Sleep(1.0),
        Sleep(2.0),
        Sleep(3.0),
        Sleep(3.0),
    ]


def test_zero_timeout_checks_once(clock: FakeClock) -> None:
    poller = Poller(timeout=0, clock=clock)
    assert poller.observe(run("completed", result=RunResult(final_output="x"))) == Done(
        run("completed", result=RunResult(final_output="x"))
    )
    assert poller.observe(run("running")) == TimedOut(0.0)


@pytest.mark.parametrize("status", ["completed", "partial"])
def test_done(clock: FakeClock, status: str) -> None:
    poller = Poller(clock=clock)
    result = RunResult(final_output="# Report")
    finished = run(status, result=result, errors=[RunError(error="a block failed")])
    decisions = drive(poller, clock, [run("running"), run("running"), finished])
    assert decisions[-1] == Done(finished)
    assert decisions[-1].result() is result
    assert clock.sleeps == [2.0, 4.0]


def test_done_without_result_raises(clock: FakeClock) -> None:
    decision = Poller(clock=clock).observe(run("completed"))
    assert isinstance(decision, Done)
    with pytest.raises(SpineAPIError, match="r1 finished with status completed") as info:
        decision.result()
    assert info.value.status_code == 0


def test_failed(clock: FakeClock) -> None:
    failed = run("failed", errors=[RunError(error="Agent execution failed")])
    decisions = drive(Poller(clock=clock), clock, [run("running"), failed])
    assert decisions[-1] == Failed(failed)
    error = decisions[-1].error()
    assert isinstance(error, RunFailedError)
    assert error.run is failed
    assert error.message == "Run r1 failed: Agent execution failed"


@pytest.mark.parametrize("status", ["queued", "cancelling", "Completed", ""])
def test_unknown_status_keeps_polling(clock: FakeClock, status: str) -> None:
    poller = Poller(timeout=20.0, clock=clock)
    unknown = run(status)
    assert not isinstance(unknown.status, RunStatus)
    decisions = drive(poller, clock, [unknown, unknown, run("completed")])
    assert [type(d) for d in decisions] == [Sleep, Sleep, Done]


def test_unknown_status_times_out_like_running(clock: FakeClock) -> None:
    decisions = drive(Poller(timeout=5.0, clock=clock), clock, [run("paused")])
    assert isinstance(decisions[-1], TimedOut)


def test_timed_out_error() -> None:
    error = TimedOut(900.0).error("r9")
    assert isinstance(error, SpineTimeoutError)
    assert error.run_id == "r9"
    assert error.timeout == 900.0
    assert str(error).startswith("Run r9 did not complete within 900s.")
    assert "wait() again" in str(error)


def test_remaining_never_negative(clock: FakeClock) -> None:
    poller = Poller(timeout=5.0, clock=clock)
    clock.advance(50.0)
    assert poller.remaining() == 0.0


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"timeout": -1}, "timeout must not be negative"),
        ({"timeout": math.inf}, "timeout must be finite"),
        ({"timeout": math.nan}, "timeout must be finite"),
        ({"timeout": "900"}, "timeout must be a number"),
        ({"timeout": True}, "timeout must be a number"),
        ({"poll_interval": 0}, "poll_interval must be positive"),
        ({"poll_interval": -2}, "poll_interval must be positive"),
        ({"max_poll_interval": math.inf}, "max_poll_interval must be finite"),
        ({"max_poll_interval": 0}, "max_poll_interval must be positive"),
    ],
)
def test_validation(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        Poller(**kwargs)


def test_a_first_interval_above_the_cap_is_capped(clock: FakeClock) -> None:
    # The documented meaning of max_poll_interval: no interval is longer. A poll_interval
    # above it is allowed (the official SDK accepts it too) and every interval is the cap.
    poller = Poller(timeout=None, poll_interval=40.0, max_poll_interval=30.0, clock=clock)
    assert [poller.observe(run("running")) for _ in range(3)] == [Sleep(30.0)] * 3


# ----------------------------------------------------------------------------- progress

PROGRESS = RunProgress(tasks_completed=3, tasks_total=8, elapsed_ms=480000)


def progress_steps(poll_interval: Any, clock: FakeClock, runs: list[GetRunResponse]) -> list[Any]:
    """What stream_progress()'s loop asks its driver to do, for these polled states."""
    steps = wait_steps(
        Poller(
            timeout=None, poll_interval=poll_interval, max_poll_interval=poll_interval, clock=clock
        ),
        "r1",
        report=True,
    )
    seen: list[Any] = []
    sent: Any = None
    polled = iter(runs)
    try:
        while True:
            step = steps.send(sent)
            seen.append(step)
            sent = next(polled) if isinstance(step, PollNow) else None
    except StopIteration:
        return seen


def test_progress_while_running(clock: FakeClock) -> None:
    steps = progress_steps(5.0, clock, [run("running", progress=PROGRESS)] * 2 + [run("completed")])
    # The interval is fixed: no backoff.
    assert steps[1:] == [Report(PROGRESS), Sleep(5.0), PollNow(None), Report(PROGRESS),
                         Sleep(5.0), PollNow(None)]  # fmt: skip


def test_progress_missing_is_skipped_but_polling_goes_on(clock: FakeClock) -> None:
    steps = progress_steps(2.0, clock, [run("running"), run("completed")])
    assert steps == [PollNow(None), Sleep(2.0), PollNow(None)]


def test_progress_of_unknown_status_keeps_polling(clock: FakeClock) -> None:
    steps = progress_steps(2.0, clock, [run("queued", progress=PROGRESS), run("completed")])
    assert steps == [PollNow(None), Report(PROGRESS), Sleep(2.0), PollNow(None)]


@pytest.mark.parametrize("status", ["completed", "partial", "failed"])
def test_progress_stops_at_terminal(clock: FakeClock, status: str) -> None:
    assert progress_steps(2.0, clock, [run(status, progress=PROGRESS)]) == [PollNow(None)]


@pytest.mark.parametrize("interval", [0, -1, math.inf, math.nan, "2"])
def test_progress_validation(interval: Any) -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        Poller(timeout=None, poll_interval=interval, max_poll_interval=interval)
