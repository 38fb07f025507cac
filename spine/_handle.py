"""``RunHandle`` and ``AsyncRunHandle``: follow one run until it ends.

The poll loop's decisions (when to poll again, when it is done, failed or out of time) are made
by :class:`spine._poller.Poller`; the two handles below only do the I/O. While waiting, a
transient failure of one poll (a 5xx or 429 after the retry budget, a dropped connection, a
slow response) does not end the wait: the next poll is scheduled as usual and only the deadline
ends it, with the last failure chained as the cause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

from spine._enums import RunStatus
from spine._exceptions import (
    RateLimitError,
    ServerError,
    SpineConnectionError,
    SpineError,
    SpineTimeoutError,
)
from spine._models import CreateRunResponse, GetRunResponse, RunProgress, RunResult
from spine._operations import check_id
from spine._poller import Done, Failed, Poller, ProgressPoller, Sleep, TimedOut

if TYPE_CHECKING:
    from spine._client import AsyncSpineClient, SpineClient

__all__ = ["AsyncRunHandle", "RunHandle"]

_TRANSIENT = (ServerError, RateLimitError, SpineConnectionError, SpineTimeoutError)


def _after_error(poller: Poller, run_id: str, exc: SpineError) -> float:
    """Seconds to sleep after a transient failure, or raise the wait's timeout from it.

    A poll that failed is scheduled like a poll that saw the run still running."""
    decision = poller.observe(GetRunResponse(run_id=run_id, status=RunStatus.RUNNING))
    if isinstance(decision, TimedOut):
        raise decision.error(run_id) from exc
    assert isinstance(decision, Sleep)
    return decision.seconds


def _start_poll(poller: Poller, run_id: str, failure: SpineError | None) -> None:
    """Raise the wait's timeout when no time is left for another poll (from the last failure)."""
    timed_out = poller.start_poll()
    if timed_out is not None:
        raise timed_out.error(run_id) from failure


def _terminal(decision: Done | Failed | Sleep | TimedOut, run_id: str) -> bool:
    if isinstance(decision, TimedOut):
        raise decision.error(run_id)
    return isinstance(decision, Done | Failed)


def _result(run: GetRunResponse) -> RunResult:
    from spine._pipeline import scrub

    try:
        if run.status == RunStatus.FAILED:
            raise Failed(run).error()
        return Done(run).result()
    except SpineError as exc:
        scrub(exc)  # the run's errors are the server's text: no secret may ride along
        raise


def poll_until_terminal(
    poll: Callable[[float | None], GetRunResponse],
    run_id: str,
    poller: Poller,
    sleep: Callable[[float], object],
    on_poll: Callable[[GetRunResponse], object] | None = None,
) -> GetRunResponse:
    """The synchronous wait loop: ``poll(request_deadline)`` until the run is terminal, sleeping
    as ``poller`` decides; a transient failure is scheduled like a poll that saw the run still
    running, and only the deadline ends the wait. ``on_poll`` sees every polled state (the
    command line draws its progress bar from it). :class:`AsyncRunHandle` is the async twin."""
    failure: SpineError | None = None
    while True:
        _start_poll(poller, run_id, failure)
        try:
            run = poll(poller.request_deadline)
        except _TRANSIENT as exc:
            failure = exc
            sleep(_after_error(poller, run_id, exc))
            continue
        failure = None
        if on_poll is not None:
            on_poll(run)
        decision = poller.observe(run)
        if _terminal(decision, run_id):
            return run
        assert isinstance(decision, Sleep)
        sleep(decision.seconds)


class _HandleState:
    """What both handles know about their run."""

    run_id: str
    create_response: CreateRunResponse | None
    last: GetRunResponse | None

    def __init__(self, run_id: str, create_response: CreateRunResponse | None) -> None:
        self.run_id = check_id(run_id, "run_id")
        self.create_response = create_response
        self.last = None

    @property
    def canvas_id(self) -> str | None:
        """The run's canvas id: from the latest poll, else from the create response."""
        if self.last is not None and self.last.canvas_id:
            return self.last.canvas_id
        if self.create_response is not None:
            return self.create_response.canvas_id
        return None

    @property
    def canvas_url(self) -> str | None:
        """The canvas in the Spine web app, once the canvas id is known."""
        from spine._links import canvas_url

        canvas_id = self.canvas_id
        return None if canvas_id is None else canvas_url(canvas_id)

    @property
    def status(self) -> str | None:
        """The status seen by the latest poll (None before the first one)."""
        return None if self.last is None else self.last.status

    def _observe(self, run: GetRunResponse) -> GetRunResponse:
        self.last = run
        return run

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(run_id={self.run_id!r}, status={self.status!r}, "
            f"canvas_id={self.canvas_id!r})"
        )


class RunHandle(_HandleState):
    """A run created by ``client.runs.create()`` (or attached with ``client.runs.attach()``)."""

    def __init__(
        self,
        client: SpineClient,
        run_id: str,
        create_response: CreateRunResponse | None = None,
    ) -> None:
        super().__init__(run_id, create_response)
        self._client = client

    def refresh(self) -> GetRunResponse:
        """Poll the run once (``GET /v1/run/{run_id}``)."""
        return self._observe(self._client.runs.get(self.run_id))

    def _poll(self, deadline: float | None) -> GetRunResponse:
        from spine import _operations as ops

        run = self._client._pipeline.call(ops.get_run(self.run_id), deadline=deadline)
        return self._observe(run)

    def wait_for_terminal(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
    ) -> GetRunResponse:
        """Poll until the run is ``completed``, ``partial`` or ``failed`` and return that state.

        Unlike :meth:`wait`, a failed run is returned, not raised. Raises
        :class:`SpineTimeoutError` when ``timeout`` seconds pass first (the run goes on).
        """
        poller = Poller(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            clock=self._client._settings.clock,
        )
        return poll_until_terminal(self._poll, self.run_id, poller, self._client._sleep)

    def wait(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
    ) -> RunResult:
        """Poll until the run ends and return its result.

        The interval starts at ``poll_interval`` seconds and doubles up to
        ``max_poll_interval``; ``timeout`` bounds the whole wait, HTTP retries included.
        ``partial`` returns normally (see ``handle.last.errors``); ``failed`` raises
        :class:`RunFailedError`; running out of time raises :class:`SpineTimeoutError`.
        """
        run = self.wait_for_terminal(
            timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )
        return _result(run)

    def stream_progress(self, *, poll_interval: float = 2.0) -> Iterator[RunProgress]:
        """Yield the run's progress at a fixed interval while it runs; stop when it ends.

        Call :meth:`wait` (it returns at once) or :meth:`refresh` afterwards for the outcome.
        """
        stepper = ProgressPoller(poll_interval)
        while True:
            step = stepper.observe(self.refresh())
            if step.progress is not None:
                yield step.progress
            if step.sleep is None:
                return
            self._client._sleep(step.sleep)


class AsyncRunHandle(_HandleState):
    """The async twin of :class:`RunHandle` (``await handle.wait()``,
    ``async for p in handle.stream_progress()``). Cancelling the awaiting task stops it at once."""

    def __init__(
        self,
        client: AsyncSpineClient,
        run_id: str,
        create_response: CreateRunResponse | None = None,
    ) -> None:
        super().__init__(run_id, create_response)
        self._client = client

    async def refresh(self) -> GetRunResponse:
        """Poll the run once (``GET /v1/run/{run_id}``)."""
        return self._observe(await self._client.runs.get(self.run_id))

    async def _poll(self, deadline: float | None) -> GetRunResponse:
        from spine import _operations as ops

        run = await self._client._pipeline.call(ops.get_run(self.run_id), deadline=deadline)
        return self._observe(run)

    async def wait_for_terminal(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
    ) -> GetRunResponse:
        """See :meth:`RunHandle.wait_for_terminal`."""
        poller = Poller(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            clock=self._client._settings.clock,
        )
        sleep = self._client._sleep
        failure: SpineError | None = None
        while True:
            _start_poll(poller, self.run_id, failure)
            try:
                run = await self._poll(poller.request_deadline)
            except _TRANSIENT as exc:
                failure = exc
                await sleep(_after_error(poller, self.run_id, exc))
                continue
            failure = None
            decision = poller.observe(run)
            if _terminal(decision, self.run_id):
                return run
            assert isinstance(decision, Sleep)
            await sleep(decision.seconds)

    async def wait(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
    ) -> RunResult:
        """See :meth:`RunHandle.wait`."""
        run = await self.wait_for_terminal(
            timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )
        return _result(run)

    async def stream_progress(self, *, poll_interval: float = 2.0) -> AsyncIterator[RunProgress]:
        """See :meth:`RunHandle.stream_progress`."""
        stepper = ProgressPoller(poll_interval)
        while True:
            step = stepper.observe(await self.refresh())
            if step.progress is not None:
                yield step.progress
            if step.sleep is None:
                return
            await self._client._sleep(step.sleep)
