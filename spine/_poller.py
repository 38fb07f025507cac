"""The sans-I/O poll loop behind ``RunHandle.wait()`` and ``stream_progress()``.

The decisions live here, once; the sync and async handles only do the I/O::

    poller = Poller(timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_interval)
    while True:
        decision = poller.observe(handle.refresh())        # or: await handle.refresh()
        if isinstance(decision, Sleep):
            time.sleep(decision.seconds)                    # or: await anyio.sleep(...)
        elif isinstance(decision, Done):
            return decision.result()                        # RunResult (raises if missing)
        elif isinstance(decision, Failed):
            raise decision.error()                          # RunFailedError
        else:
            raise decision.error(handle.run_id)             # SpineTimeoutError

The schedule: poll, then sleep ``min(interval, time left)`` with the interval starting at
``poll_interval`` and doubling up to ``max_poll_interval`` (2, 4, 8, 16, 30, 30... by default).
``completed`` and ``partial`` are done, ``failed`` is failed; ``running`` and any status this SDK
does not know keep polling. One deadline (``poller.deadline``, a ``clock()`` value fixed at
construction) covers the whole wait, HTTP retries included.

:func:`wait_steps` is the loop itself, written once for ``wait()``, ``wait_for_terminal()``,
``stream_progress()`` (a fixed interval: ``poll_interval == max_poll_interval``) and
``spine wait``. A poll that fails does not end it unless the failure is definitive: which
failures are transient is one column of the SDK's one outcome table,
:data:`spine._retry.OUTCOMES`, the same table the retry policy reads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

from spine._enums import DONE_STATUSES, FAILED_STATUSES, RunStatus
from spine._exceptions import RunFailedError, SpineAPIError, SpineError, SpineTimeoutError
from spine._models import GetRunResponse, RunProgress, RunResult
from spine._retry import is_transient

__all__ = [
    "Decision",
    "Done",
    "Failed",
    "PollNow",
    "Poller",
    "Report",
    "Sleep",
    "TimedOut",
    "is_transient",
    "wait_steps",
]


@dataclass(frozen=True)
class Done:
    """The run ended ``completed`` or ``partial``."""

    run: GetRunResponse

    def result(self) -> RunResult:
        """The run's result; a finished run without one raises :class:`SpineAPIError`."""
        if self.run.result is None:
            raise SpineAPIError(
                f"Run {self.run.run_id} finished with status {self.run.status!s}"
                " but the API returned no result",
                status_code=0,
            )
        return self.run.result


@dataclass(frozen=True)
class Failed:
    """The run ended ``failed``."""

    run: GetRunResponse

    def error(self) -> RunFailedError:
        """The exception that ``wait()`` raises for this run."""
        return RunFailedError.from_run(self.run)


@dataclass(frozen=True)
class Sleep:
    """Not finished yet: sleep this many seconds, then poll again."""

    seconds: float


@dataclass(frozen=True)
class TimedOut:
    """The deadline passed before the run finished (it keeps going on the server)."""

    timeout: float

    def error(self, run_id: str) -> SpineTimeoutError:
        """The exception that ``wait()`` raises."""
        return SpineTimeoutError(
            f"Run {run_id} did not complete within {self.timeout:g}s. It keeps running on the"
            " server: call wait() again, or refresh() later.",
            run_id=run_id,
            timeout=self.timeout,
        )


Decision = Done | Failed | Sleep | TimedOut


def _check_seconds(name: str, value: object, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if number < 0 or (number == 0 and not allow_zero):
        qualifier = "must not be negative" if allow_zero else "must be positive"
        raise ValueError(f"{name} {qualifier}, got {value!r}")
    return number


class Poller:
    """Decides, after each poll of a run, whether ``wait()`` is done, failed, timed out or sleeps.

    Args:
        timeout: seconds for the whole wait (None: no deadline; 0: check once).
        poll_interval: the first sleep between polls, in seconds.
        max_poll_interval: the cap of every interval. A ``poll_interval`` above it is
            allowed: every interval is then ``max_poll_interval``. Equal values give a fixed
            interval (``stream_progress()``).
        clock: a monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = (
            None if timeout is None else _check_seconds("timeout", timeout, allow_zero=True)
        )
        self.poll_interval = _check_seconds("poll_interval", poll_interval, allow_zero=False)
        self.max_poll_interval = _check_seconds(
            "max_poll_interval", max_poll_interval, allow_zero=False
        )
        self._clock = clock
        self._interval = min(self.poll_interval, self.max_poll_interval)
        self._polls = 0
        self.deadline: float | None = None if self.timeout is None else clock() + self.timeout

    def start_poll(self) -> TimedOut | None:
        """Call before each poll: TimedOut when no time is left for another one.

        The first poll is always made. A later one is not started at or after the deadline: a
        request with no time left could not succeed, and the wait's timeout is then raised from
        the last failure instead (a 429, a dropped connection...), which says what went wrong.
        """
        if self._polls and self.deadline is not None and self.remaining() <= 0:
            return TimedOut(self.timeout if self.timeout is not None else 0.0)
        self._polls += 1
        return None

    @property
    def request_deadline(self) -> float | None:
        """The deadline each poll's HTTP request (retries included) must meet: the wait's own.
        ``timeout=0`` ("check once") gives its single request the client's own timeout instead,
        as a request with no time at all could never answer."""
        return None if self.timeout == 0 else self.deadline

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative; ``math.inf`` without one)."""
        if self.deadline is None:
            return math.inf
        return max(0.0, self.deadline - self._clock())

    def observe(self, run: GetRunResponse) -> Decision:
        """The next step after a poll returned ``run``."""
        status = run.status
        if isinstance(status, RunStatus):
            if status in DONE_STATUSES:  # from RUN_STATUS_OUTCOMES in spine/_enums.py
                return Done(run)
            if status in FAILED_STATUSES:
                return Failed(run)
        # running, or a status this SDK does not know: never terminal, keep polling.
        left = self.remaining()
        if left <= 0:
            # Only reachable with a deadline, so self.timeout is set.
            return TimedOut(self.timeout if self.timeout is not None else 0.0)
        seconds = min(self._interval, left)
        self._interval = min(self._interval * 2, self.max_poll_interval)
        return Sleep(seconds)


# ----------------------------------------------------------------------------- the wait loop


@dataclass(frozen=True)
class PollNow:
    """Driver: poll the run once, its HTTP request bounded by ``deadline`` (a ``clock()`` value
    or None), and send back the state or the :class:`SpineError` it raised."""

    deadline: float | None


@dataclass(frozen=True)
class Report:
    """Driver (``stream_progress()``): hand this progress to the caller, then send None."""

    progress: RunProgress


OnPoll = Callable[[GetRunResponse], object]


def wait_steps(
    poller: Poller, run_id: str, on_poll: OnPoll | None = None, *, report: bool = False
) -> Generator[PollNow | Sleep | Report, GetRunResponse | SpineError | None, GetRunResponse]:
    """The wait loop, written once for both handles, as a generator of I/O requests.

    It yields :class:`PollNow` (the driver polls and sends back the state, or the SpineError the
    poll raised), :class:`Sleep` (the driver sleeps, then sends None) and, with ``report``, a
    :class:`Report` of each running state's progress (the driver hands it on, then sends None).
    It returns the terminal state, or raises :class:`SpineTimeoutError` at the deadline (chained
    from the last transient failure) or a definitive poll error as it came (see
    :func:`spine._retry.is_transient`). ``on_poll`` sees every polled state.
    """
    failure: SpineError | None = None
    while True:
        timed_out = poller.start_poll()
        if timed_out is not None:
            raise timed_out.error(run_id) from failure
        outcome = yield PollNow(poller.request_deadline)
        if isinstance(outcome, SpineError):
            if not is_transient(outcome):
                raise outcome
            failure = outcome
            # A poll that failed is scheduled like a poll that saw the run still running.
            decision = poller.observe(GetRunResponse(run_id=run_id, status=RunStatus.RUNNING))
        else:
            assert outcome is not None, "the driver sends the polled state after PollNow"
            failure = None
            if on_poll is not None:
                on_poll(outcome)
            decision = poller.observe(outcome)
            if isinstance(decision, Done | Failed):
                return outcome
            if report and outcome.progress is not None:
                yield Report(outcome.progress)
        if isinstance(decision, TimedOut):
            raise decision.error(run_id) from failure
        assert isinstance(decision, Sleep)
        yield decision
