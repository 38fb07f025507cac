"""``RunHandle`` and ``AsyncRunHandle``: follow one run until it ends.

A handle depends on a narrow runtime, not on its client: ``call(operation, deadline=...)``,
``clock()`` and ``sleep(seconds)`` (:class:`spine._base_client.SyncPipeline` or
:class:`~spine._base_client.AsyncPipeline`). The wait loop is written once, as the generator
:func:`spine._poller.wait_steps`; the two ``wait_for_terminal`` methods below only drive it
(poll, sleep), and so does ``stream_progress``. While waiting, a transient failure of one poll
(anything the pipeline retries, after its retry budget; whatever a proxy may put in the way: a
redirect, an HTML error page, a 2xx that is not the API's) does not end the wait: the next poll
is scheduled as usual and only the deadline ends it, with the last failure chained as the cause.
Only a definitive answer ends it early: a terminal run, 400 with the API's error envelope (an
invalid id), 401, 403, 404. The list is one column of :data:`spine._retry.OUTCOMES`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from spine import _operations as ops
from spine._enums import RunStatus
from spine._exceptions import SpineError, scrub
from spine._links import canvas_link
from spine._models import (
    CanvasDAG,
    CreateRunResponse,
    GetRunResponse,
    RunProgress,
    RunResult,
    TaskTree,
)
from spine._operations import check_id
from spine._poller import Done, Failed, OnPoll, Poller, PollNow, Report, wait_steps

if TYPE_CHECKING:
    from pydantic import BaseModel

    from spine._operations import Operation

__all__ = ["AsyncRunHandle", "RunHandle"]

_M = TypeVar("_M", bound="BaseModel")


class SyncRuntime(Protocol):
    """What a :class:`RunHandle` uses of its client."""

    def call(self, op: Operation[_M], *, deadline: float | None = None) -> _M: ...
    def clock(self) -> float: ...
    def sleep(self, seconds: float) -> Any: ...


class AsyncRuntime(Protocol):
    """What an :class:`AsyncRunHandle` uses of its client."""

    def call(self, op: Operation[_M], *, deadline: float | None = None) -> Awaitable[_M]: ...
    def clock(self) -> float: ...
    def sleep(self, seconds: float) -> Awaitable[Any]: ...


def _result(run: GetRunResponse, base_url: str | None) -> RunResult:
    try:
        if isinstance(run.status, RunStatus) and run.status.outcome == "failed":
            error = Failed(run).error()
            error.canvas_url = canvas_link(run.canvas_id, base_url)
            raise error
        return Done(run).result()
    except SpineError as exc:
        scrub(exc)  # the run's errors are the server's text: no secret may ride along
        raise


def _poller(
    timeout: float | None,
    poll_interval: float,
    max_poll_interval: float,
    clock: Callable[[], float],
) -> Poller:
    return Poller(
        timeout=timeout,
        poll_interval=poll_interval,
        max_poll_interval=max_poll_interval,
        clock=clock,
    )


def _polled_canvas_id(run: GetRunResponse, run_id: str) -> str:
    """The canvas id of a run just polled; a :class:`SpineError` when the API has not reported
    one yet."""
    if run.canvas_id is None:
        raise SpineError(
            f"Run {run_id} has no canvas id yet: the API has not reported one. Ask again"
            " after the next poll (refresh() or wait())."
        )
    return run.canvas_id


_R = TypeVar("_R", "SyncRuntime", "AsyncRuntime")


class _HandleState(Generic[_R]):
    """What both handles know about their run."""

    run_id: str
    create_response: CreateRunResponse | None
    last: GetRunResponse | None
    _runtime: _R

    def __init__(
        self,
        runtime: _R,
        run_id: str | uuid.UUID,
        create_response: CreateRunResponse | None = None,
    ) -> None:
        self.run_id = str(check_id(run_id, "run_id"))
        self.create_response = create_response
        self.last = None
        self._runtime = runtime

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
        """The canvas in the Spine web app (``https://app.getspine.ai/canvas/{canvas_id}``), once
        the canvas id is known; None before that, and always None for a client whose base URL
        is not the Spine API host (a sandbox's canvases are not on the web app: use
        :meth:`get_dag`)."""
        return canvas_link(self.canvas_id, self._base_url())

    def _base_url(self) -> str | None:
        return getattr(getattr(self, "_runtime", None), "base_url", None)

    @property
    def status(self) -> str | None:
        """The run's latest known status: from the latest poll, else from the create response
        (``running``); None for a handle attached by id and not polled yet."""
        if self.last is not None:
            return self.last.status
        if self.create_response is not None:
            return self.create_response.status
        return None

    def _observe(self, run: GetRunResponse) -> GetRunResponse:
        self.last = run
        if run.result is not None:
            from spine._artifacts import bind

            bind(run, self._runtime, ops.get_run)  # downloads retry, refresh through the client
        return run

    def __repr__(self) -> str:
        # Only what is known: an attached handle not polled yet has no status to show.
        parts = [f"run_id={self.run_id!r}"]
        if self.status is not None:
            parts.append(f"status={str(self.status)!r}")
        if self.canvas_id is not None:
            parts.append(f"canvas_id={self.canvas_id!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class RunHandle(_HandleState["SyncRuntime"]):
    """A run created by ``client.runs.create()`` (or attached with ``client.runs.attach()``)."""

    def _poll(self, deadline: float | None) -> GetRunResponse:
        return self._observe(self._runtime.call(ops.get_run(self.run_id), deadline=deadline))

    def refresh(self) -> GetRunResponse:
        """Poll the run once (``GET /v1/run/{run_id}``)."""
        return self._poll(None)

    def _follow(
        self, poller: Poller, on_poll: OnPoll | None, report: bool
    ) -> Generator[RunProgress | GetRunResponse, None, None]:
        """Drive :func:`wait_steps`: yields each reported progress, then the terminal state."""
        steps = wait_steps(poller, self.run_id, on_poll, report=report)
        sent: GetRunResponse | SpineError | None = None
        while True:
            try:
                step = steps.send(sent)
            except StopIteration as stop:
                yield stop.value
                return
            sent = None
            if isinstance(step, PollNow):
                try:
                    sent = self._poll(step.deadline)
                except SpineError as exc:
                    sent = exc
            elif isinstance(step, Report):
                yield step.progress
            else:
                self._runtime.sleep(step.seconds)

    def wait_for_terminal(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        on_poll: OnPoll | None = None,
    ) -> GetRunResponse:
        """Poll until the run is ``completed``, ``partial`` or ``failed`` and return that state.

        Unlike :meth:`wait`, a failed run is returned, not raised. ``on_poll(state)`` is called
        with every polled :class:`GetRunResponse` (to draw progress, say). A poll that fails
        transiently does not end the wait (see the module documentation). Raises
        :class:`SpineTimeoutError` when ``timeout`` seconds pass first (the run goes on), and
        a definitive failure (401, 403, 404, 400 with the API's error envelope) as it came.
        """
        poller = _poller(timeout, poll_interval, max_poll_interval, self._runtime.clock)
        for item in self._follow(poller, on_poll, report=False):
            if isinstance(item, GetRunResponse):
                return item
        raise AssertionError("the wait loop ends with the terminal state")  # pragma: no cover

    def wait(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        on_poll: OnPoll | None = None,
    ) -> RunResult:
        """Poll until the run ends and return its result.

        The interval starts at ``poll_interval`` seconds and doubles up to
        ``max_poll_interval``; ``timeout`` bounds the whole wait, HTTP retries included.
        ``on_poll(state)`` sees every polled state. ``failed`` raises :class:`RunFailedError`;
        running out of time raises :class:`SpineTimeoutError`.

        **A partial run returns normally too.** The :class:`RunResult` holds only what Spine
        documents for a result (``final_output``, ``artifacts``): no status, no errors. After
        ``wait()`` read ``handle.status`` (``"completed"`` or ``"partial"``) and, for a partial
        run, ``handle.last.errors``; or call :meth:`wait_for_terminal`, which returns the whole
        terminal :class:`GetRunResponse` (``status``, ``errors``, ``result``).
        """
        run = self.wait_for_terminal(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            on_poll=on_poll,
        )
        return _result(run, self._base_url())

    def _canvas_id(self) -> str:
        known = self.canvas_id
        return known if known is not None else _polled_canvas_id(self.refresh(), self.run_id)

    def get_dag(self) -> CanvasDAG:
        """The run's canvas block graph (``client.canvas.get_dag(canvas_id)``).

        The canvas id comes from the latest poll or the create response; when neither has
        one yet, the run is polled once. Raises :class:`SpineError` if the API still has not
        reported a canvas id (Spine may omit it from the first polls).
        """
        return self._runtime.call(ops.get_dag(self._canvas_id()))

    def get_tasks(self) -> TaskTree:
        """The run's task tree (``client.canvas.get_tasks(canvas_id)``); the canvas id is found
        as for :meth:`get_dag`."""
        return self._runtime.call(ops.get_tasks(self._canvas_id()))

    def stream_progress(
        self, *, poll_interval: float = 2.0, timeout: float | None = None
    ) -> Iterator[RunProgress]:
        """Yield the run's progress at a fixed interval while it runs; stop when it ends.

        Call :meth:`wait` (it returns at once) or :meth:`refresh` afterwards for the outcome.
        A poll that fails transiently does not end the stream, as for :meth:`wait`; a
        definitive failure raises. ``timeout`` (seconds, default None: no limit, as the
        official SDK) ends it with :class:`SpineTimeoutError`.
        """
        poller = _poller(timeout, poll_interval, poll_interval, self._runtime.clock)
        for item in self._follow(poller, None, report=True):
            if isinstance(item, RunProgress):
                yield item


class AsyncRunHandle(_HandleState["AsyncRuntime"]):
    """The async twin of :class:`RunHandle` (``await handle.wait()``,
    ``async for p in handle.stream_progress()``). Cancelling the awaiting task stops it at once."""

    async def _poll(self, deadline: float | None) -> GetRunResponse:
        run = await self._runtime.call(ops.get_run(self.run_id), deadline=deadline)
        return self._observe(run)

    async def refresh(self) -> GetRunResponse:
        """Poll the run once (``GET /v1/run/{run_id}``)."""
        return await self._poll(None)

    async def _follow(
        self, poller: Poller, on_poll: OnPoll | None, report: bool
    ) -> AsyncGenerator[RunProgress | GetRunResponse, None]:
        """See :meth:`RunHandle._follow`."""
        steps = wait_steps(poller, self.run_id, on_poll, report=report)
        sent: GetRunResponse | SpineError | None = None
        while True:
            try:
                step = steps.send(sent)
            except StopIteration as stop:
                yield stop.value
                return
            sent = None
            if isinstance(step, PollNow):
                try:
                    sent = await self._poll(step.deadline)
                except SpineError as exc:
                    sent = exc
            elif isinstance(step, Report):
                yield step.progress
            else:
                await self._runtime.sleep(step.seconds)

    async def wait_for_terminal(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        on_poll: OnPoll | None = None,
    ) -> GetRunResponse:
        """See :meth:`RunHandle.wait_for_terminal`."""
        poller = _poller(timeout, poll_interval, max_poll_interval, self._runtime.clock)
        async with contextlib.aclosing(self._follow(poller, on_poll, report=False)) as items:
            async for item in items:
                if isinstance(item, GetRunResponse):
                    return item
        raise AssertionError("the wait loop ends with the terminal state")  # pragma: no cover

    async def wait(
        self,
        *,
        timeout: float | None = 900.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        on_poll: OnPoll | None = None,
    ) -> RunResult:
        """See :meth:`RunHandle.wait`. A partial run returns normally too: the result has no
        status or errors; read ``handle.status`` and ``handle.last.errors`` after it."""
        run = await self.wait_for_terminal(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            on_poll=on_poll,
        )
        return _result(run, self._base_url())

    async def _canvas_id(self) -> str:
        known = self.canvas_id
        return known if known is not None else _polled_canvas_id(await self.refresh(), self.run_id)

    async def get_dag(self) -> CanvasDAG:
        """See :meth:`RunHandle.get_dag`."""
        return await self._runtime.call(ops.get_dag(await self._canvas_id()))

    async def get_tasks(self) -> TaskTree:
        """See :meth:`RunHandle.get_tasks`."""
        return await self._runtime.call(ops.get_tasks(await self._canvas_id()))

    async def stream_progress(
        self, *, poll_interval: float = 2.0, timeout: float | None = None
    ) -> AsyncIterator[RunProgress]:
        """See :meth:`RunHandle.stream_progress`."""
        poller = _poller(timeout, poll_interval, poll_interval, self._runtime.clock)
        async with contextlib.aclosing(self._follow(poller, None, report=True)) as items:
            async for item in items:
                if isinstance(item, RunProgress):
                    yield item
