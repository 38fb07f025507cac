"""Creating and following runs with a ledger: ``record(client)`` and the handles it returns.

The order of a create is what makes a paid run impossible to lose:

1. describe the request (fields, file names, sizes and SHA-256) and pick the Idempotency-Key;
2. commit that to the ledger (durably). If this fails, :class:`LedgerError` is raised and
   nothing has been sent;
3. send ``client.runs.create(..., idempotency_key=key)``;
4. record the run id. If *this* write fails the handle is returned anyway, with
   ``ledger_error`` set and a :class:`LedgerWarning` issued: the run id is never lost to a
   ledger problem, and it is written with the next write that succeeds (a state seen by
   ``wait()``, say). A create that fails with ``run_may_exist=True`` is recorded
   ``ambiguous`` with its key; one the server provably did not act on is recorded
   ``rejected``; one stopped before it was handed to the SDK (cancelled, interrupted) is
   forgotten, as it was never sent.

Before step 1 the arguments are checked with the SDK's own rules (the very checks
``runs.create`` makes), so input the SDK refuses raises the SDK's error and writes no row.

Every state the wrappers see afterwards (``refresh``, ``wait``, ``wait_for_terminal``,
``stream_progress``) is recorded the same way: best effort, warnings instead of exceptions.
The decisions live in :class:`_Creation` and :class:`_Recorder`; the sync and async classes
only do the I/O.
"""

from __future__ import annotations

import builtins
import functools
import logging
import math
import os
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import urlsplit

from spine import (
    AsyncSpineClient,
    AuthenticationError,
    NotFoundError,
    SpineClient,
    SpineError,
    SpineTimeoutError,
    Template,
)
from spine.ledger._errors import LedgerError, LedgerUsageError, LedgerWarning
from spine.ledger._fingerprint import describe_request, is_iterable, split_files
from spine.ledger._paths import open_ledger

if TYPE_CHECKING:
    from spine import (
        AsyncRunHandle,
        BlockType,
        GetRunResponse,
        RunArtifact,
        RunHandle,
        RunProgress,
        RunResult,
    )
    from spine.ledger._store import Ledger, RunRecord

__all__ = [
    "AsyncRecordedRun",
    "AsyncRecordedRuns",
    "RecordedRun",
    "RecordedRuns",
    "api_host",
    "record",
]

log = logging.getLogger("spine.ledger")

#: Failed polls of one run in a row (other than the SDK's transient outcomes, which are retried
#: until the deadline: SpineError.transient) before resume and batches stop following it and
#: say why.
POLL_ATTEMPTS = 3


def api_host(client: SpineClient | AsyncSpineClient) -> str:
    """``scheme://host[:port]`` of the client's API (what the ledger keeps; never the key)."""
    parts = urlsplit(client.base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _warn(exc: LedgerError, what: str) -> None:
    message = f"{what}: {exc}"
    log.warning("%s", message)
    warnings.warn(message, LedgerWarning, stacklevel=3)


class _Recorder:
    """Best-effort recording after the server answered: never raises a ledger failure.

    A write that must not be lost (the run id of a create) and failed is kept as ``pending``
    and made again before every later write, until one succeeds."""

    def __init__(self, ledger: Ledger | None) -> None:
        self.ledger = ledger
        self.error: LedgerError | None = None
        self.pending: Callable[[Ledger], object] | None = None

    def safely(
        self, what: str, write: Callable[[Ledger], object], *, keep: bool = False
    ) -> bool:
        """Make ``write``; on a ledger failure warn and return False (with ``keep``, the
        write is retried before the next one)."""
        if self.ledger is None:
            return True
        try:
            if self.pending is not None:
                self.pending(self.ledger)
                self.pending = None
            write(self.ledger)
        except LedgerError as exc:
            self.error = exc
            if keep:
                self.pending = write
            _warn(exc, what)
            return False
        return True

    def flush(self) -> None:
        """Retry a pending write now (warns again when it still fails)."""
        if self.pending is not None:
            self.safely("Could not record a run id the server returned", lambda led: None)

    def observe(self, run: GetRunResponse | None) -> None:
        if run is not None:
            self.safely(
                f"Could not record the state of run {run.run_id}", lambda led: led.observe(run)
            )


class _Creation:
    """One create, recorded before it is sent (the sans-I/O half of ``create``)."""

    def __init__(
        self,
        ledger: Ledger | None,
        host: str,
        prompt: str,
        *,
        template: Template | str,
        blocks: Iterable[BlockType | str] | None,
        agent_instructions: str | None,
        webhook_url: str | None,
        files: Any,
        idempotency_key: str | None,
        label: str | None,
        batch: str | None = None,
        item_id: str | None = None,
        item_seq: int | None = None,
        row: int | None = None,
    ) -> None:
        self.ledger = ledger
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label must be a str, not {type(label).__name__}")
        # None means "pick one"; anything else (even "") is the caller's key, checked below.
        self.key = str(uuid.uuid4()) if idempotency_key is None else idempotency_key
        self.blocks = (
            list(blocks)
            if blocks is not None and not isinstance(blocks, str | bytes) and is_iterable(blocks)
            else blocks
        )
        self.files = split_files(files)
        self.kwargs: dict[str, Any] = {
            "template": template,
            "blocks": self.blocks,
            "agent_instructions": agent_instructions,
            "webhook_url": webhook_url,
            "files": self.files,
            "idempotency_key": self.key,
        }
        self.prompt = prompt
        self.host = host
        self.label = label
        self.batch, self.item_id, self.item_seq = batch, item_id, item_seq
        self.row = row
        self.previous_state: str | None = "ambiguous" if row is not None else None
        self.on_wire = False  # set just before the request is handed to the SDK
        self.recorder = _Recorder(ledger)

    def check(self) -> None:
        """Check the arguments with the SDK's own rules; raises what ``runs.create`` would
        (``TypeError``, :class:`spine.InvalidRequestError`, ``FileNotFoundError``...), before
        anything is recorded or sent."""
        check_create(self.prompt, self.kwargs)

    def begin(self) -> None:
        """Check, then record the create (raises :class:`LedgerError`: then nothing is sent)."""
        self.check()
        if self.ledger is None:
            return
        if self.row is not None:  # re-sending an ambiguous create with its original key
            self.ledger.resend(self.row)
            return
        request, fingerprint = describe_request(
            self.prompt,
            template=self.kwargs["template"],
            blocks=self.blocks,
            agent_instructions=self.kwargs["agent_instructions"],
            webhook_url=self.kwargs["webhook_url"],
            files=self.files,
        )
        self.row, self.previous_state = self.ledger.begin_create_row(
            idempotency_key=self.key,
            api_host=self.host,
            request=request,
            fingerprint=fingerprint,
            label=self.label,
            batch=self.batch,
            item_id=self.item_id,
            item_seq=self.item_seq,
        )

    def __enter__(self) -> None:
        """``with creation:`` around handing the request to the SDK: from here it may be on
        the wire, and a failure is recorded (:meth:`failed`) before it goes on."""
        self.on_wire = True

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            self.failed(exc)

    def created(self, run_id: str, canvas_id: str | None) -> None:
        """Record the run id; when the ledger cannot take it now, it is written with the next
        write of this run that succeeds (it is never dropped while this process knows it)."""
        row = self.row
        if row is not None:
            self.recorder.safely(
                f"Run {run_id} was created but the ledger could not record it",
                lambda led: led.mark_created(row, run_id, canvas_id),
                keep=True,
            )

    def failed(self, exc: BaseException) -> str:
        """Record why the create failed (called with the exception about to propagate);
        returns the state recorded: ``ambiguous``, ``rejected`` or ``not_started`` (never
        sent: the row is forgotten)."""
        state, message = classify(exc, on_wire=self.on_wire)
        if state == "rejected" and self.previous_state == "ambiguous":
            # This send was refused, but an earlier one with the same key may have made the
            # run: the create stays ambiguous (a new key could pay twice).
            state = "ambiguous"
            message = (
                f"sent again with its original Idempotency-Key and refused ({message}); the"
                " first send may have made the run"
            )
        row = self.row
        if row is None or self.ledger is None:
            return state
        if state == "not_started":
            previous = self.previous_state
            self.recorder.safely(
                f"The create with Idempotency-Key {self.key} was not sent and the ledger could"
                " not record that",
                lambda led: led.unsend(row, previous),
            )
            return state
        self.recorder.safely(
            f"The create with Idempotency-Key {self.key} failed and the ledger could not"
            " record it",
            lambda led: led.mark_failed_create(
                row, ambiguous=state == "ambiguous", message=message
            ),
        )
        return state


def classify(exc: BaseException, *, on_wire: bool) -> tuple[str, str]:
    """What a failed create means: ``(state, message)`` with state ``ambiguous`` (the run may
    exist: only when the SDK says ``run_may_exist``, or the request was interrupted on the
    wire), ``rejected`` (the server did not act on it, or the SDK refused it before sending) or
    ``not_started`` (stopped before the request was handed to the SDK)."""
    if not on_wire:
        return "not_started", f"not sent ({type(exc).__name__})"
    if isinstance(exc, SpineError):
        return ("ambiguous" if exc.run_may_exist else "rejected"), str(exc)
    if not isinstance(exc, Exception):
        # Cancelled or interrupted inside the SDK's call: the request may be on the wire.
        return (
            "ambiguous",
            f"interrupted while sending ({type(exc).__name__}); the run may exist",
        )
    if isinstance(exc, OSError | TypeError | ValueError):
        # The SDK checks its input and opens files before anything is sent.
        return "rejected", f"refused before sending: {type(exc).__name__}: {exc}"
    return "ambiguous", f"{type(exc).__name__}: {exc}; the run may exist"


def check_schedule(
    timeout: float | None, poll_interval: float, max_poll_interval: float
) -> None:
    """Check a wait's schedule before anything is sent: ``timeout`` None or a number >= 0,
    the intervals positive finite numbers with ``poll_interval <= max_poll_interval``."""
    if timeout is not None:
        _number("timeout", timeout)
        if not timeout >= 0:
            raise LedgerUsageError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
    for name, value in (("poll_interval", poll_interval),
                        ("max_poll_interval", max_poll_interval)):
        _number(name, value)
        if not (value > 0 and math.isfinite(value)):
            raise LedgerUsageError(
                f"{name} must be a positive, finite number of seconds, got {value!r}"
            )
    if poll_interval > max_poll_interval:
        raise LedgerUsageError(
            f"poll_interval ({poll_interval!r}) must not exceed max_poll_interval"
            f" ({max_poll_interval!r})"
        )


def _number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")


def check_create(prompt: object, kwargs: dict[str, Any]) -> None:
    """Run ``runs.create``'s own input checks without sending anything
    (:func:`spine.check_create`); raises what ``runs.create`` would raise. A ledger row is
    never written for input that ``runs.create`` refuses."""
    from spine import check_create as check

    check(prompt, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- handles


class _Recording:
    """``with _Recording(lost, after):`` around a call of the SDK: a 404 is passed to
    ``lost`` (to record the run ``lost``), then goes on; ``after()`` (recording the state the
    call ended on) runs whatever happens (``always``; else only when the call returned)."""

    __slots__ = ("after", "always", "lost")

    def __init__(
        self,
        lost: Callable[[NotFoundError], object],
        after: Callable[[], object] | None = None,
        *,
        always: bool = True,
    ) -> None:
        self.lost = lost
        self.after = after
        self.always = always

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        try:
            if isinstance(exc, NotFoundError):
                self.lost(exc)
        finally:
            if self.after is not None and (exc is None or self.always):
                self.after()


class _RecordedBase:
    _recorder: _Recorder
    handle: Any

    def __init__(
        self,
        handle: RunHandle | AsyncRunHandle,
        recorder: _Recorder,
        idempotency_key: str | None = None,
    ) -> None:
        self.handle = handle
        self.run_id = handle.run_id
        self.idempotency_key = idempotency_key
        self._recorder = recorder

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.handle!r})"

    def _recording(self, *, always: bool = True) -> _Recording:
        return _Recording(self._lost, self._observe_last, always=always)

    def _observe_last(self) -> None:
        self._recorder.observe(self.handle.last)

    @property
    def ledger_error(self) -> LedgerError | None:
        """The last ledger failure while recording this run (None when all went well)."""
        return self._recorder.error

    @property
    def record(self) -> RunRecord | None:
        """The run's ledger record as it is now (None when the ledger is off)."""
        ledger = self._recorder.ledger
        if ledger is None:
            return None
        self._recorder.flush()
        return ledger.get(self.run_id)

    def _lost(self, exc: NotFoundError) -> None:
        """The API answered 404 for this run: record it ``lost`` (then the error goes on)."""
        message = str(exc)
        self._recorder.safely(
            f"Could not record that run {self.run_id} is lost",
            lambda led: led.mark_lost(self.run_id, message),
        )

    def flush_ledger(self) -> bool:
        """Write now what the ledger could not take earlier (the run id of the create, when
        the ledger was locked right after it was sent); returns True when nothing is left
        pending. Every later recorded state does this on its own."""
        self._recorder.flush()
        return self._recorder.pending is None

    def record_downloads(
        self, saved: Iterable[tuple[RunArtifact, str | os.PathLike[str]]]
    ) -> bool:
        """Record where artifacts of this run were saved, ``(artifact, path)`` pairs (paths
        are stored absolute), e.g. after your own ``artifact.download(...)``. Best effort:
        returns False (and warns) when the ledger could not record them."""
        pairs = list(saved)
        return self._recorder.safely(
            f"Artifacts of run {self.run_id} were saved but not recorded",
            lambda led: led.record_artifacts(self.run_id, pairs),
        )

    def _result(self) -> RunResult:
        run: GetRunResponse | None = self.handle.last
        if run is None or run.result is None:
            raise ValueError(f"run {self.run_id} has no result yet: wait() for it first")
        return run.result

    def _saved(self, result: RunResult, paths: list[Path]) -> list[Path]:
        self.record_downloads(list(zip(result.artifacts, paths, strict=True)))
        return paths


class RecordedRun(_RecordedBase):
    """A :class:`spine.RunHandle` whose states are recorded in the ledger.

    It has the handle's methods and attributes (``run_id``, ``canvas_id``, ``canvas_url``,
    ``status``, ``last``, ``refresh()``, ``wait()``, ``wait_for_terminal()``,
    ``stream_progress()``) with the same arguments; ``handle`` is the SDK's own handle and
    ``idempotency_key`` the key the create was sent with (None for an attached run).
    """

    handle: RunHandle

    def refresh(self) -> GetRunResponse:
        """Poll once (``GET /v1/run/{id}``) and record what changed (a 404 records the run
        ``lost``, then is raised)."""
        with self._recording(always=False):
            return self.handle.refresh()

    def wait_for_terminal(self, **kwargs: Any) -> GetRunResponse:
        """:meth:`spine.RunHandle.wait_for_terminal`, recording the terminal state (a 404
        records the run ``lost``: the API no longer knows it)."""
        with self._recording():
            return self.handle.wait_for_terminal(**kwargs)

    def wait(self, **kwargs: Any) -> RunResult:
        """:meth:`spine.RunHandle.wait`, recording the terminal state (also when it raises
        ``RunFailedError``)."""
        with self._recording():
            return self.handle.wait(**kwargs)

    def stream_progress(self, **kwargs: Any) -> Iterator[RunProgress]:
        """:meth:`spine.RunHandle.stream_progress`, recording the state it ends on."""
        with self._recording():
            yield from self.handle.stream_progress(**kwargs)

    def download_all(self, directory: str | os.PathLike[str], **kwargs: Any) -> list[Path]:
        """Download the artifacts of the last state seen (``wait()`` first) into
        ``directory`` with :meth:`spine.RunResult.download_all`, and record their paths."""
        result = self._result()
        return self._saved(result, result.download_all(directory, **kwargs))


class AsyncRecordedRun(_RecordedBase):
    """The async twin of :class:`RecordedRun` (wraps a :class:`spine.AsyncRunHandle`)."""

    handle: AsyncRunHandle

    async def refresh(self) -> GetRunResponse:
        """See :meth:`RecordedRun.refresh`."""
        with self._recording(always=False):
            return await self.handle.refresh()

    async def wait_for_terminal(self, **kwargs: Any) -> GetRunResponse:
        """See :meth:`RecordedRun.wait_for_terminal`."""
        with self._recording():
            return await self.handle.wait_for_terminal(**kwargs)

    async def wait(self, **kwargs: Any) -> RunResult:
        """See :meth:`RecordedRun.wait`."""
        with self._recording():
            return await self.handle.wait(**kwargs)

    async def stream_progress(self, **kwargs: Any) -> AsyncIterator[RunProgress]:
        """See :meth:`RecordedRun.stream_progress`."""
        with self._recording():
            async for progress in self.handle.stream_progress(**kwargs):
                yield progress

    async def adownload_all(self, directory: str | os.PathLike[str], **kwargs: Any) -> list[Path]:
        """See :meth:`RecordedRun.download_all` (:meth:`spine.RunResult.adownload_all`)."""
        result = self._result()
        return self._saved(result, await result.adownload_all(directory, **kwargs))


# ----------------------------------------------------------------------------- runs


class _RunsBase:
    def __init__(
        self, client: Any, ledger: Ledger | None, label: str | None
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.label = label
        self.host = api_host(client)

    def __repr__(self) -> str:
        where = "off" if self.ledger is None else repr(self.ledger.path)
        label = f", label={self.label!r}" if self.label is not None else ""
        return f"{type(self).__name__}(host={self.host!r}, ledger={where}{label})"

    def _creation(self, prompt: str, kwargs: dict[str, Any]) -> _Creation:
        label = kwargs.pop("label", None)
        return _Creation(
            self.ledger,
            self.host,
            prompt,
            label=label if label is not None else self.label,
            **kwargs,
        )

    def _follow(self, run_id: str, label: str | None) -> _Recorder:
        recorder = _Recorder(self.ledger)
        recorder.safely(
            f"Could not record run {run_id}",
            lambda led: led.follow(run_id, self.host, label=label or self.label),
        )
        return recorder

    def list(self, **filters: Any) -> builtins.list[RunRecord]:
        """:meth:`Ledger.list` (empty when the ledger is off)."""
        return [] if self.ledger is None else self.ledger.list(**filters)

    def lookup(self, ref: str) -> RunRecord | None:
        """:meth:`Ledger.get`: a record by run id, key, row number or id prefix."""
        return None if self.ledger is None else self.ledger.get(ref)

    def record_downloads(
        self,
        run: GetRunResponse,
        saved: Iterable[tuple[RunArtifact, str | os.PathLike[str]]],
        *,
        label: str | None = None,
    ) -> bool:
        """Record where artifacts of ``run`` were saved (``(artifact, path)`` pairs, stored as
        absolute paths), with the run's state; a run the ledger does not know yet is recorded
        as followed first. Best effort: returns False (and warns) when the ledger failed."""
        pairs = list(saved)
        host = self.host

        def write(led: Ledger) -> None:
            led.follow(run.run_id, host, label=label or self.label)
            led.observe(run)
            led.record_artifacts(run.run_id, pairs)

        return _Recorder(self.ledger).safely(
            f"Artifacts of run {run.run_id} were saved but not recorded", write
        )

    def _to_resume(self) -> builtins.list[RunRecord]:
        """Unfinished records of this API host; rows orphaned by a dead process become
        ``ambiguous`` first. Returns the ones with a run id to follow."""
        if self.ledger is None:
            return []
        records = self.ledger.unfinished(api_host=self.host)
        orphans = [r.id for r in records if r.run_id is None and self.ledger.is_orphan(r)]
        self.ledger.mark_orphans_ambiguous(orphans)
        return [r for r in records if r.state in ("running", "sending") and r.run_id]

    def other_hosts(self) -> dict[str, int]:
        """Unfinished records of *other* API hosts, counted by host (``resume`` follows only
        this client's host: set ``SPINE_BASE_URL`` / ``base_url=`` to follow those)."""
        if self.ledger is None:
            return {}
        counts: dict[str, int] = {}
        for r in self.ledger.unfinished():
            if r.api_host != self.host:
                counts[r.api_host] = counts.get(r.api_host, 0) + 1
        return counts

    def _unfollowed(self, run_id: str, exc: SpineError) -> None:
        message = f"could not read the state of run {run_id}: {exc}"
        log.warning("%s", message)
        _Recorder(self.ledger).safely(
            f"Could not record why run {run_id} is not followed",
            lambda led: led.note(run_id, message),
        )

    def _lost(self, run_id: str, exc: NotFoundError) -> None:
        _Recorder(self.ledger).safely(
            f"Could not record that run {run_id} is lost",
            lambda led: led.mark_lost(run_id, str(exc)),
        )


class RecordedRuns(_RunsBase):
    """``client.runs`` with a ledger: ``create``, ``attach`` and ``get`` record what they do.

    Made by :func:`record`. ``create`` takes the arguments of :meth:`spine.SpineClient.runs.create`
    plus ``label`` (a name of yours, kept in the ledger).
    """

    client: SpineClient

    def create(
        self,
        prompt: str,
        *,
        template: Template | str = Template.AUTO,
        blocks: Iterable[BlockType | str] | None = None,
        agent_instructions: str | None = None,
        webhook_url: str | None = None,
        files: Any = None,
        idempotency_key: str | None = None,
        label: str | None = None,
    ) -> RecordedRun:
        """Record, then create a run; see the module docstring for the order and guarantees.

        Raises what ``runs.create`` raises (after recording the failure), and
        :class:`LedgerError` when the ledger cannot record the create (nothing was sent)."""
        creation = self._creation(
            prompt,
            {
                "template": template,
                "blocks": blocks,
                "agent_instructions": agent_instructions,
                "webhook_url": webhook_url,
                "files": files,
                "idempotency_key": idempotency_key,
                "label": label,
            },
        )
        creation.begin()
        with creation:
            handle = self.client.runs.create(prompt, **creation.kwargs)
        creation.created(handle.run_id, handle.canvas_id)
        return RecordedRun(handle, creation.recorder, creation.key)

    def attach(self, run_id: str, *, label: str | None = None) -> RecordedRun:
        """A recorded handle for an existing run (recorded as followed if unknown)."""
        handle = self.client.runs.attach(run_id)
        return RecordedRun(handle, self._follow(handle.run_id, label))

    def get(self, run_id: str) -> GetRunResponse:
        """``runs.get``, recording the state when the run is in the ledger (a 404 records a
        known run ``lost``, then is raised)."""
        with _Recording(functools.partial(self._lost, run_id)):
            run = self.client.runs.get(run_id)
        _Recorder(self.ledger).observe(run)
        return run

    def resume(
        self,
        *,
        timeout: float | None = None,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        on_update: Callable[[RunRecord, GetRunResponse], object] | None = None,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> builtins.list[RunRecord]:
        """Follow every run of this API host the ledger has not seen end, until each ends
        (or ``timeout`` seconds pass), recording each state; returns their records.

        Polls round-robin in this thread, each run on its own schedule (``poll_interval``
        doubling to ``max_poll_interval``). A run the API does not know any more (404: a run
        of another account's key, or of a server that forgot its runs) is recorded ``lost``
        with the API's answer and not followed again. ``on_update(record, run)`` is called
        after each poll. Creates left ``sending`` by a process that died are marked
        ``ambiguous`` (see :meth:`Ledger.unfinished`). Runs of other API hosts are left alone
        (:meth:`other_hosts` counts them).

        Raises ``ValueError`` (:class:`LedgerUsageError`) for a ``timeout`` that is negative
        or not a number, or intervals that are not positive finite numbers, before any
        request."""
        check_schedule(timeout, poll_interval, max_poll_interval)
        records = self._to_resume()
        schedule = {r.run_id: (r, 0.0, poll_interval) for r in records if r.run_id}
        failures: dict[str, int] = {}
        deadline = None if timeout is None else clock() + timeout
        recorder = _Recorder(self.ledger)
        while schedule:
            now = clock()
            if deadline is not None and now >= deadline:
                break
            for run_id, (rec, due, interval) in list(schedule.items()):
                if due > now:
                    continue
                try:
                    run = self.client.runs.get(run_id)
                except NotFoundError as exc:
                    self._lost(run_id, exc)
                    del schedule[run_id]
                    continue
                except AuthenticationError:
                    raise  # the key is refused: no other run can be read either
                except SpineError as exc:
                    if exc.transient:  # the SDK's one list (wait() reads it too)
                        schedule[run_id] = (rec, now + interval, interval)
                        continue
                    # a malformed answer, 403...: retried, then left
                    failures[run_id] = failures.get(run_id, 0) + 1
                    if failures[run_id] >= POLL_ATTEMPTS:
                        self._unfollowed(run_id, exc)
                        del schedule[run_id]
                    else:
                        schedule[run_id] = (rec, now + interval, interval)
                    continue
                failures.pop(run_id, None)
                recorder.observe(run)
                if on_update is not None:
                    on_update(rec, run)
                if run.is_terminal:
                    del schedule[run_id]
                else:
                    nxt = min(interval * 2, max_poll_interval)
                    schedule[run_id] = (rec, clock() + interval, nxt)
            if schedule:
                wake = min(due for _, due, _ in schedule.values())
                if deadline is not None:
                    wake = min(wake, deadline)
                pause = wake - clock()
                if pause > 0:
                    sleep(pause)
        assert self.ledger is not None or not records
        return [self.ledger.row(r.id) for r in records] if self.ledger is not None else []


class AsyncRecordedRuns(_RunsBase):
    """The async twin of :class:`RecordedRuns` (for an :class:`spine.AsyncSpineClient`)."""

    client: AsyncSpineClient

    async def create(
        self,
        prompt: str,
        *,
        template: Template | str = Template.AUTO,
        blocks: Iterable[BlockType | str] | None = None,
        agent_instructions: str | None = None,
        webhook_url: str | None = None,
        files: Any = None,
        idempotency_key: str | None = None,
        label: str | None = None,
    ) -> AsyncRecordedRun:
        """See :meth:`RecordedRuns.create`. Files are hashed, and the create recorded, in a
        worker thread."""
        creation = self._creation(
            prompt,
            {
                "template": template,
                "blocks": blocks,
                "agent_instructions": agent_instructions,
                "webhook_url": webhook_url,
                "files": files,
                "idempotency_key": idempotency_key,
                "label": label,
            },
        )
        await self._begin(creation)
        return await self._send(creation)

    async def _begin(self, creation: _Creation) -> None:
        # In a worker thread: hashing files and the durable commit (an fsync) must not stall
        # the event loop, which meanwhile polls every other run.
        if creation.ledger is None:
            creation.check()
            return
        import asyncio

        work = asyncio.ensure_future(asyncio.to_thread(creation.begin))
        cancelled: BaseException | None = None
        while True:
            try:
                await asyncio.shield(work)
                break
            except asyncio.CancelledError as exc:
                # The thread goes on regardless: wait for its commit (a few milliseconds),
                # then forget the row, which was never sent.
                cancelled = exc
                if work.done():
                    break
        if cancelled is not None:
            if not work.cancelled() and work.exception() is None:
                creation.failed(cancelled)
            raise cancelled

    async def _send(self, creation: _Creation) -> AsyncRecordedRun:
        with creation:
            handle = await self.client.runs.create(creation.prompt, **creation.kwargs)
        creation.created(handle.run_id, handle.canvas_id)
        return AsyncRecordedRun(handle, creation.recorder, creation.key)

    def attach(self, run_id: str, *, label: str | None = None) -> AsyncRecordedRun:
        """See :meth:`RecordedRuns.attach`."""
        handle = self.client.runs.attach(run_id)
        return AsyncRecordedRun(handle, self._follow(handle.run_id, label))

    async def get(self, run_id: str) -> GetRunResponse:
        """See :meth:`RecordedRuns.get`."""
        with _Recording(functools.partial(self._lost, run_id)):
            run = await self.client.runs.get(run_id)
        _Recorder(self.ledger).observe(run)
        return run

    async def resume(
        self,
        *,
        timeout: float | None = None,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
        on_update: Callable[[RunRecord, GetRunResponse], object] | None = None,
    ) -> builtins.list[RunRecord]:
        """See :meth:`RecordedRuns.resume`: here every run is awaited concurrently with
        ``wait_for_terminal`` (one client, at most 16 requests on the wire)."""
        import asyncio

        check_schedule(timeout, poll_interval, max_poll_interval)
        records = self._to_resume()
        recorder = _Recorder(self.ledger)

        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout

        async def follow(rec: RunRecord) -> None:
            assert rec.run_id is not None
            handle = self.client.runs.attach(rec.run_id)
            attempts = 0
            while True:
                left = None if deadline is None else max(deadline - loop.time(), 0.0)
                try:
                    run = await handle.wait_for_terminal(
                        timeout=left, poll_interval=poll_interval,
                        max_poll_interval=max_poll_interval,
                    )
                    break
                except NotFoundError as exc:
                    self._lost(rec.run_id, exc)
                    return
                except SpineTimeoutError:
                    recorder.observe(handle.last)
                    return
                except AuthenticationError:
                    raise
                except SpineError as exc:  # a malformed answer, 403...: retried, then left
                    attempts += 1
                    if attempts >= POLL_ATTEMPTS or (left is not None and left <= 0):
                        self._unfollowed(rec.run_id, exc)
                        return
                    await asyncio.sleep(poll_interval)
            recorder.observe(run)
            if on_update is not None:
                on_update(rec, run)

        await asyncio.gather(*(follow(r) for r in records))
        return [self.ledger.row(r.id) for r in records] if self.ledger is not None else []


@overload
def record(
    client: AsyncSpineClient,
    ledger: Ledger | str | os.PathLike[str] | None = ...,
    *,
    label: str | None = ...,
    store_prompts: bool | None = ...,
) -> AsyncRecordedRuns: ...


@overload
def record(
    client: SpineClient,
    ledger: Ledger | str | os.PathLike[str] | None = ...,
    *,
    label: str | None = ...,
    store_prompts: bool | None = ...,
) -> RecordedRuns: ...


def record(
    client: SpineClient | AsyncSpineClient,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    *,
    label: str | None = None,
    store_prompts: bool | None = None,
) -> RecordedRuns | AsyncRecordedRuns:
    """Record the runs created and followed through ``client`` in a ledger (the one line)::

        runs = spine.ledger.record(client)    # then runs.create(...), not client.runs.create(...)

    ``ledger`` is a :class:`Ledger`, a path, ``"off"``, or None for ``SPINE_LEDGER`` and then
    the default file (:func:`spine.ledger.default_path`). ``label`` is kept with every run
    created (``create(label=...)`` overrides it). ``store_prompts=False`` keeps only a hash of
    prompts and instructions (default: stored, unless ``SPINE_LEDGER_PROMPTS=off``).

    Returns :class:`RecordedRuns` for a :class:`spine.SpineClient`, :class:`AsyncRecordedRuns`
    for an :class:`spine.AsyncSpineClient`. Raises :class:`LedgerError` when the ledger file
    cannot be used (with ``off`` nothing is recorded and nothing can fail)."""
    if not isinstance(client, SpineClient | AsyncSpineClient):
        raise TypeError(
            "record() takes a spine.SpineClient or a spine.AsyncSpineClient, not"
            f" {type(client).__name__}"
        )
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a str, not {type(label).__name__}")
    opened = open_ledger(ledger, store_prompts=store_prompts)
    if isinstance(client, AsyncSpineClient):
        return AsyncRecordedRuns(client, opened, label)
    return RecordedRuns(client, opened, label)
