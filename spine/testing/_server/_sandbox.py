"""The :class:`Sandbox`: a local server that behaves like the Spine API on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from spine.testing._server._app import (
    DEFAULT_API_KEY,
    OUTCOMES,
    SandboxApp,
    SandboxState,
    Settings,
)
from spine.testing._server._faults import Fault, FaultList, MaskedKey, RequestRecord
from spine.testing._server._http import HttpServer
from spine.testing._server._runs import Run, parse_outcome_marker

__all__ = ["ManualClock", "Sandbox", "UploadedFile"]

MiB = 1024 * 1024


class ManualClock:
    """A clock that only moves when told to: pass it as ``Sandbox(clock=...)``.

    >>> clock = ManualClock()
    >>> clock.advance(2.5)
    >>> clock()
    2.5
    """

    def __init__(self, start: float = 0.0) -> None:
        """A clock reading ``start`` seconds until :meth:`advance` or :meth:`set` moves it."""
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"ManualClock(now={self():g})"

    def set(self, now: float) -> None:
        """Set the clock to ``now``."""
        with self._lock:
            self._now = float(now)


class UploadedFile:
    """A file the sandbox received with a run: name, content type, size and SHA-256."""

    __slots__ = ("content_type", "filename", "sha256", "size")

    def __init__(self, filename: str, content_type: str, size: int, sha256: str) -> None:
        self.filename = filename
        self.content_type = content_type
        self.size = size
        self.sha256 = sha256

    def __repr__(self) -> str:
        return (
            f"UploadedFile(filename={self.filename!r}, content_type={self.content_type!r}, "
            f"size={self.size}, sha256={self.sha256[:12]}…)"
        )


class Sandbox:
    """A local server that behaves like the Spine API on the wire, for tests, demos and CI.

    It serves every endpoint under ``/v1`` with the documented envelopes, status codes and error
    messages. A created run starts ``running``, its canvas and task tree grow as time passes, and
    it ends ``completed`` (or ``partial`` / ``failed`` when scripted) with a Markdown
    ``final_output`` and real artifact files (``.docx``, ``.xlsx``, ``.pptx``, ``.png``,
    ``.html``) downloadable from pre-signed-style URLs on the sandbox itself.

    Use it as a context manager (it runs on its own event loop in a background thread)::

        from spine.testing import Sandbox

        with Sandbox() as sandbox:
            client = SpineClient(api_key=sandbox.api_key, base_url=sandbox.url)
            run = client.runs.create("Write a memo about Q1 sales", template="memo")
            result = run.wait(poll_interval=0.2)
            assert sandbox.runs_created == 1

    Options (all keyword-only):
        host, port: where to listen; ``port=0`` (the default) picks a free port.
        api_keys: the accepted ``X-API-KEY`` values. By default any key that starts with
            ``sk_spine_`` is accepted. Runs are private to the key that created them: another
            key gets 404, as on Spine.
        run_duration: seconds from creation to the end of a run (default 3.0). ``None`` is
            *manual mode*: runs stay ``running`` (their progress creeping towards 90 %) until
            :meth:`complete` finishes them.
        tasks: the number of tasks in each run's task tree (default: about seven per canvas
            block). Tasks appear as the run goes on, so ``progress.tasks_total`` grows.
        clock: a callable returning the current time in seconds (default :func:`time.time`).
            Pass a :class:`ManualClock` to move time without sleeping. :meth:`advance` works
            with any clock.
        max_file_size: the per-file upload limit in bytes (default 50 MiB); a larger file is
            answered with 413.
        canvas_id_after_polls: omit ``canvas_id`` from the create response and from the first
            N polls of each run (default 0: always present), as Spine may do.
        artifact_ttl: seconds an artifact download link stays valid (default 3600); an
            expired link is answered with 403.
        outcomes: outcomes (``"completed"``, ``"partial"``, ``"failed"``) for the next runs
            created, in order; see :meth:`script_outcomes`.
        default_outcome: the outcome of runs with nothing scripted (default ``"completed"``).
        estimated_duration_ms: reported by create (default: ``run_duration`` in ms).
        public_url: the base of artifact download links (default: the ``Host`` the client
            used, so the links work for that client).
        faults: faults to install from the start (see :meth:`inject`).
        request_log_limit: how many requests :attr:`requests` keeps (the most recent; default
            100,000; None keeps all).

    A run's outcome follows one rule (:data:`OUTCOME_RULE`): a ``[sandbox:failed]``,
    ``[sandbox:partial]`` or ``[sandbox:completed]`` marker in the prompt, else the script,
    else ``default_outcome``; the marker wins over :meth:`complete`'s ``outcome`` too.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Iterable[str] | None = None,
        run_duration: float | None = 3.0,
        tasks: int | None = None,
        clock: Callable[[], float] | None = None,
        max_file_size: int = 50 * MiB,
        canvas_id_after_polls: int = 0,
        artifact_ttl: float = 3600.0,
        outcomes: Iterable[str] = (),
        default_outcome: str = "completed",
        estimated_duration_ms: int | None = None,
        public_url: str | None = None,
        faults: Iterable[Fault | Mapping[str, Any]] = (),
        request_log_limit: int | None = 100_000,
    ) -> None:
        # The options are documented in the class docstring, shown by help(Sandbox.__init__)
        # too (set below the class).
        key_list = None if api_keys is None else list(dict.fromkeys(api_keys))
        keys = None if key_list is None else frozenset(key_list)
        if key_list is not None and not key_list:
            raise ValueError("api_keys must name at least one key (or be None for any sk_spine_)")
        if run_duration is not None and run_duration < 0:
            raise ValueError("run_duration must be >= 0 (or None for manual mode)")
        if tasks is not None and tasks < 1:
            raise ValueError("tasks must be >= 1")
        if max_file_size < 1:
            raise ValueError("max_file_size must be >= 1")
        _check_outcome(default_outcome)
        self._host = host
        self._port = port
        self._api_key = DEFAULT_API_KEY if key_list is None else key_list[0]
        self._state = SandboxState(
            Settings(
                api_keys=keys,
                run_duration=run_duration,
                tasks=tasks,
                max_file_size=max_file_size,
                canvas_id_after_polls=canvas_id_after_polls,
                artifact_ttl=artifact_ttl,
                default_outcome=default_outcome,
                estimated_duration_ms=estimated_duration_ms,
                public_url=public_url,
                request_log_limit=request_log_limit,
            ),
            clock,
        )
        self.script_outcomes(*outcomes)
        for fault in faults:
            if isinstance(fault, Fault):
                self.inject(fault)
            else:
                self.inject(**fault)
        self._server: HttpServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._address: tuple[str, int] | None = None
        self.startup_seconds: float | None = None
        """How long the last :meth:`start` took, in seconds."""

    @classmethod
    def from_config(cls, path: str | os.PathLike[str], **overrides: Any) -> Sandbox:
        """Build a sandbox from a TOML config file (see the README), with keyword overrides.

        The file is read exactly as ``spine sandbox --config FILE`` reads it. Raises
        ``ValueError`` for an unknown key or a wrong type, ``OSError`` if it cannot be read.
        """
        from spine.testing._server._config import sandbox_options

        return cls(**sandbox_options(Path(path), overrides))

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Sandbox:
        """Start serving in a background thread; returns once the port is open."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        began = time.perf_counter()
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=run, name="spine-sandbox", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        self._loop = loop
        self._thread = thread
        self.startup_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop serving and close every connection. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(self, on_ready: Callable[[Sandbox], None] | None = None) -> None:
        """Serve in the foreground (the command line uses this) until SIGINT or SIGTERM."""

        async def main() -> None:
            await self._open()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, stop.set)
            if on_ready is not None:
                on_ready(self)
            try:
                await stop.wait()
            finally:
                await self._close()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())

    async def _open(self) -> None:
        began = time.perf_counter()
        server = HttpServer(SandboxApp(self._state), self._host, self._port)
        self._address = await server.start()
        self._server = server
        self._state.bound_url = self.url
        self.startup_seconds = time.perf_counter() - began

    async def _close(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None

    # ------------------------------------------------------------------ addresses

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:54321`` (without ``/v1``)."""
        if self._address is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._address
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a wildcard bind is reached via loopback
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        if self._address is None:
            raise RuntimeError("the sandbox is not started")
        return self._address[1]

    @property
    def api_key(self) -> str:
        """A key the sandbox accepts (``sk_spine_sandbox`` unless ``api_keys`` was given)."""
        return self._api_key

    # ------------------------------------------------------------------ observing

    @property
    def runs_created(self) -> int:
        """How many runs were created (idempotent replays do not count)."""
        with self._state.lock:
            return len(self._state.runs)

    @property
    def run_ids(self) -> list[str]:
        """The ids of the runs created, oldest first."""
        with self._state.lock:
            return list(self._state.runs)

    @property
    def requests(self) -> list[RequestRecord]:
        """The request log: one :class:`RequestRecord` per request, oldest first (capped at
        ``request_log_limit``, dropping the oldest)."""
        with self._state.lock:
            return list(self._state.log)

    def on_request(self, callback: Callable[[RequestRecord], None]) -> None:
        """Call ``callback(record)`` (on the server's thread) after every request is logged."""
        with self._state.lock:
            self._state.listeners.append(callback)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._state.lock:
            self._state.log.clear()

    def run_status(self, run_id: str) -> str:
        """The status the API would report for ``run_id`` right now."""
        with self._state.lock:
            run = self._get(run_id)
            return run.phase(self._state.now())[0]

    def uploads(self, run_id: str) -> list[UploadedFile]:
        """The files that came with ``run_id``: name, content type, size and SHA-256."""
        with self._state.lock:
            run = self._get(run_id)
            return [
                UploadedFile(u.filename, u.content_type, u.size, u.sha256) for u in run.uploads
            ]

    def run_info(self, run_id: str) -> dict[str, Any]:
        """What the run was created with: prompt, template, blocks, agent_instructions, key."""
        with self._state.lock:
            run = self._get(run_id)
            return {
                "run_id": run.run_id,
                "canvas_id": run.canvas_id,
                "prompt": run.prompt,
                "template": run.template,
                "blocks": run.blocks,
                "agent_instructions": run.agent_instructions,
                "api_key": MaskedKey(run.api_key),
                "outcome": run.outcome,
            }

    def _get(self, run_id: str) -> Run:
        run = self._state.runs.get(run_id.lower())
        if run is None:
            raise KeyError(f"no such run: {run_id}")
        return run

    # ------------------------------------------------------------------ steering

    @property
    def faults(self) -> FaultList:
        """The active faults; ``sandbox.faults.add(...)`` is the same as :meth:`inject`."""
        return self._state.faults

    def inject(
        self,
        fault: Fault | None = None,
        /,
        *,
        method: str | None = None,
        path: str = "*",
        times: int | None = 1,
        after: int = 0,
        status: int | None = None,
        error: str | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | str | datetime | None = None,
        retry_after_format: Literal["seconds", "http-date"] = "seconds",
        delay: float = 0.0,
        trickle: float | None = None,
        trickle_chunk: int = 16,
        drop: Literal["before", "after"] | None = None,
    ) -> Fault:
        """Make the next matching request(s) misbehave; returns the :class:`Fault`.

        Examples::

            sandbox.inject(status=429, retry_after=2, method="POST", path="/v1/run")
            sandbox.inject(status=503, times=3)                      # a burst of 503s
            sandbox.inject(status=429, retry_after=1, retry_after_format="http-date")
            sandbox.inject(delay=5, path="/v1/run/*")                # slow polls
            sandbox.inject(trickle=0.2, trickle_chunk=8, path="/v1/run/*")
            sandbox.inject(drop="before", path="/v1/run/*")          # connection dropped
            sandbox.inject(drop="after", method="POST", path="/v1/run")  # act, then drop

        ``times`` (default 1) is how many requests it applies to (None: all), ``after`` how
        many matching requests to let through first. See :class:`Fault` for every field.
        """
        if fault is not None:
            return self._state.faults.add(fault)
        return self._state.faults.add(
            Fault(
                method=method,
                path=path,
                times=times,
                after=after,
                status=status,
                error=error,
                body=body,
                content_type=content_type,
                headers=dict(headers or {}),
                retry_after=retry_after,
                retry_after_format=retry_after_format,
                delay=delay,
                trickle=trickle,
                trickle_chunk=trickle_chunk,
                drop=drop,
            )
        )

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._state.faults.clear()

    def script_outcomes(self, *outcomes: str) -> None:
        """Queue the outcomes of the next runs created, e.g. ``("failed", "partial")``.

        Runs created after the queue is used up get ``default_outcome``.
        """
        for outcome in outcomes:
            _check_outcome(outcome)
        with self._state.lock:
            self._state.outcomes.extend(outcomes)

    def complete(self, run_id: str | None = None, *, outcome: str | None = None) -> list[str]:
        """Finish a running run now (or every running run when ``run_id`` is None).

        The run ends with its own outcome, decided when it was created (see
        :data:`OUTCOME_RULE`): the prompt's ``[sandbox:...]`` marker, else the scripted
        outcome, else ``default_outcome``. ``outcome`` (``"completed"``, ``"partial"`` or
        ``"failed"``) replaces that, except for a run whose prompt has a marker: the marker
        always wins, and asking one such run for another outcome raises ``ValueError`` (with
        ``run_id`` None, marked runs simply keep theirs). Returns the ids of the runs
        finished. Finishing a run that has already ended raises ``ValueError``.
        """
        if outcome is not None:
            _check_outcome(outcome)
        with self._state.lock:
            now = self._state.now()
            if run_id is not None:
                run = self._get(run_id)
                if run.phase(now)[0] != "running":
                    raise ValueError(f"run {run_id} has already finished")
                marked = parse_outcome_marker(run.prompt)
                if marked is not None and outcome is not None and outcome != marked:
                    raise ValueError(
                        f"run {run_id} ends {marked}: its prompt says [sandbox:{marked}],"
                        f" which wins over outcome={outcome!r}"
                    )
                run.force_end(now, _final_outcome(run, outcome))
                return [run.run_id]
            done = []
            for run in self._state.runs.values():
                if run.phase(now)[0] == "running":
                    run.force_end(now, _final_outcome(run, outcome))
                    done.append(run.run_id)
            return done

    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward by ``seconds`` (works with any clock)."""
        if seconds < 0:
            raise ValueError("time does not go backwards")
        with self._state.lock:
            self._state.offset += seconds

    def now(self) -> float:
        """The sandbox's current time (its clock plus any :meth:`advance`)."""
        return self._state.now()

    def reset(self) -> None:
        """Forget every run, fault, scripted outcome, idempotency key and logged request."""
        with self._state.lock:
            self._state.runs.clear()
            self._state.canvases.clear()
            self._state.artifacts.clear()
            self._state.idempotency.clear()
            self._state.outcomes.clear()
            self._state.log.clear()
            self._state.faults.clear()

    def __repr__(self) -> str:
        if self._address is None:
            where = "not started"
        else:
            where = f"{self.url} {'running' if self._server is not None else 'stopped'}"
        duration = self._state.settings.run_duration
        mode = "manual" if duration is None else f"{duration:g}s"
        return f"<Sandbox {where}, run_duration={mode}, runs_created={self.runs_created}>"


OUTCOME_RULE = (
    "A run's outcome is decided when it is created: a [sandbox:completed|partial|failed]"
    " marker in its prompt, else the next scripted outcome (outcomes=, script_outcomes),"
    " else default_outcome. A timed run ends with it after run_duration; complete(run_id)"
    " ends a run now with it; complete(run_id, outcome=...) replaces it, except that a"
    " prompt's marker always wins."
)
"""The one precedence for run outcomes, in timed and manual mode alike."""


Sandbox.__init__.__doc__ = Sandbox.__doc__


def _final_outcome(run: Run, requested: str | None) -> str:
    marked = parse_outcome_marker(run.prompt)
    if marked is not None:
        return marked
    return run.outcome if requested is None else requested


def _check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
