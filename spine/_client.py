"""``SpineClient`` and ``AsyncSpineClient`` with their ``runs`` and ``canvas`` resources.

Every method is a one-liner over :mod:`spine._operations` (what to send, checked before any
request) and :mod:`spine._pipeline` (how it is sent), so the two clients cannot drift apart.

Threads, asyncio and fork
-------------------------

* **Threads.** One ``SpineClient`` is safe to share between threads: requests share its
  connection pool (up to 100 connections), and nothing else in the client changes after
  construction. Handles (``RunHandle``) are cheap; give each thread its own for the same run.
* **asyncio.** One ``AsyncSpineClient`` serves any number of concurrent handles in one event
  loop; at most 16 of its requests are on the wire at once and the others wait their turn
  (cancelling a waiting or running call is immediate). Use a client in the event loop that
  created its first connection: connections belong to a loop, so create the client inside
  ``asyncio.run(...)`` (or per loop), and ``await client.aclose()`` (or ``async with``) at the
  end.
* **fork.** Create clients after ``os.fork()`` (or in the worker, with ``multiprocessing`` or
  a pre-forking server such as gunicorn or Celery) where you can. A client that crosses a fork
  anyway is safe: on its first call in the child it notices the new process id and opens a new
  connection pool, leaving the inherited connections untouched (not closed: their sockets are
  shared with the parent, and the parent keeps using them). Two processes never talk on one
  connection, which would mix their answers. An ``http_client`` you passed in is yours to
  recreate in the child; the SDK cannot renew it. An ``AsyncSpineClient`` cannot be used
  across a fork with a running event loop; create it in the child's loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from spine import _operations as ops
from spine._enums import BlockType, Template
from spine._handle import AsyncRunHandle, RunHandle
from spine._models import CanvasDAG, GetRunResponse, TaskNode, TaskTree
from spine._pipeline import AsyncPipeline, Settings, SyncPipeline, install_budget
from spine._retry import RetryPolicy
from spine._webhooks import Webhooks

if TYPE_CHECKING:
    from spine._files import FileInput

__all__ = ["AsyncSpineClient", "SpineClient"]

# Enough keep-alive connections that concurrent polling reuses them instead of reconnecting.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
# Requests of one async client on the wire at once; the rest wait their turn in the SDK.
# httpcore's pool scheduling costs grow with (queued requests x connections): a thousand
# handles polling at once spent most of their time there (27 s for 1,000 creates on loopback,
# against 5 s with this limit).
_MAX_IN_FLIGHT = 16


def _check_http_client(http_client: object, expected: type) -> None:
    if http_client is not None and not isinstance(http_client, expected):
        raise TypeError(
            f"http_client must be an {expected.__module__}.{expected.__qualname__}, "
            f"not {type(http_client).__name__}"
        )


class _ClientBase:
    _settings: Settings

    @property
    def base_url(self) -> str:
        """The API base in use, normalised to end in ``/v1``."""
        return self._settings.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._settings.retry_policy

    def __repr__(self) -> str:
        # Never the key: only where requests go.
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class SpineClient(_ClientBase):
    """A synchronous client of the Spine API. Safe to share between threads.

    Args:
        api_key: ``sk_spine_...``; defaults to the ``SPINE_API_KEY`` environment variable.
        base_url: the API host; defaults to ``SPINE_BASE_URL``, then ``https://api.getspine.ai``.
            ``/v1`` is appended unless present. Plain ``http://`` is refused except on loopback
            or with ``allow_http=True``.
        timeout: per request: seconds (total) or an ``httpx.Timeout``; default 60 s total and
            10 s to connect.
        retry_policy: how transient failures are retried; default ``RetryPolicy()``.
        http_client: an ``httpx.Client`` to send with. The SDK adds its headers per request
            and never closes it.
        allow_http: permit a non-loopback ``http://`` base URL.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        allow_http: bool = False,
    ) -> None:
        _check_http_client(http_client, httpx.Client)
        self._settings = Settings(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry_policy=retry_policy,
            http_client=http_client,
            allow_http=allow_http,
        )
        self._owns_http = http_client is None
        self._sleep = time.sleep
        self._pipeline = SyncPipeline(
            self._settings,
            http_client or self._new_http(),
            lambda s: self._sleep(s),
            renew=self._new_http if http_client is None else None,
        )
        self.runs = Runs(self)
        self.canvas = Canvas(self)
        self.webhooks = Webhooks()

    def _new_http(self) -> httpx.Client:
        http = httpx.Client(timeout=self._settings.timeout, limits=_LIMITS, follow_redirects=False)
        install_budget(http)
        return http

    @property
    def _http(self) -> httpx.Client:
        http: httpx.Client = self._pipeline.http
        return http

    def close(self) -> None:
        """Close the connection pool (not an injected ``http_client``). Idempotent."""
        if self._owns_http:
            self._pipeline.http.close()

    def __enter__(self) -> SpineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncSpineClient(_ClientBase):
    """The asynchronous twin of :class:`SpineClient`; every method is awaitable, handles are
    :class:`AsyncRunHandle`. ``http_client`` must be an ``httpx.AsyncClient``."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        allow_http: bool = False,
    ) -> None:
        _check_http_client(http_client, httpx.AsyncClient)
        self._settings = Settings(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry_policy=retry_policy,
            http_client=http_client,
            allow_http=allow_http,
        )
        self._owns_http = http_client is None
        import asyncio  # here, not at import: `import spine` for sync code stays lighter

        self._sleep = asyncio.sleep
        self._pipeline = AsyncPipeline(
            self._settings,
            http_client or self._new_http(),
            lambda s: self._sleep(s),
            renew=self._new_http if http_client is None else None,
            max_in_flight=_MAX_IN_FLIGHT if http_client is None else None,
        )
        self.runs = AsyncRuns(self)
        self.canvas = AsyncCanvas(self)
        self.webhooks = Webhooks()

    def _new_http(self) -> httpx.AsyncClient:
        http = httpx.AsyncClient(
            timeout=self._settings.timeout, limits=_LIMITS, follow_redirects=False
        )
        install_budget(http)
        return http

    @property
    def _http(self) -> httpx.AsyncClient:
        http: httpx.AsyncClient = self._pipeline.http
        return http

    async def aclose(self) -> None:
        """Close the connection pool (not an injected ``http_client``). Idempotent."""
        if self._owns_http:
            await self._pipeline.http.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> AsyncSpineClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Runs:
    """``client.runs``: create runs and read their state."""

    def __init__(self, client: SpineClient) -> None:
        self._client = client

    def create(
        self,
        prompt: str,
        *,
        template: Template | str = Template.AUTO,
        blocks: Iterable[BlockType | str] | None = None,
        agent_instructions: str | None = None,
        webhook_url: str | None = None,
        files: FileInput | Iterable[FileInput] | None = None,
        idempotency_key: str | None = None,
    ) -> RunHandle:
        """Create a run (``POST /v1/run``) and return its handle.

        Input is checked before anything is sent. The request carries an ``Idempotency-Key``
        (``idempotency_key``, or a fresh UUID) so that a server that honours it can deduplicate;
        Spine does not document that it does (the sandbox does). It is re-sent automatically
        only when it never reached the server or was refused with 429 or 503; after an
        ambiguous failure the exception has ``run_may_exist=True``, the key, and says how to
        check for the run before creating it again. Files given as paths are opened and closed
        by the SDK; file objects you pass stay open.
        """
        op = ops.create_run(
            prompt,
            template=template,
            blocks=blocks,
            agent_instructions=agent_instructions,
            webhook_url=webhook_url,
            files=files,
            idempotency_key=idempotency_key,
        )
        created = self._client._pipeline.call(op)
        return RunHandle(self._client, created.run_id, created)

    def get(self, run_id: str) -> GetRunResponse:
        """The run's current state (``GET /v1/run/{run_id}``)."""
        return self._client._pipeline.call(ops.get_run(run_id))

    def attach(self, run_id: str) -> RunHandle:
        """A handle for an existing run (no request is sent)."""
        return RunHandle(self._client, run_id)


class AsyncRuns:
    """``client.runs`` of :class:`AsyncSpineClient`."""

    def __init__(self, client: AsyncSpineClient) -> None:
        self._client = client

    async def create(
        self,
        prompt: str,
        *,
        template: Template | str = Template.AUTO,
        blocks: Iterable[BlockType | str] | None = None,
        agent_instructions: str | None = None,
        webhook_url: str | None = None,
        files: FileInput | Iterable[FileInput] | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncRunHandle:
        """See :meth:`Runs.create`."""
        op = ops.create_run(
            prompt,
            template=template,
            blocks=blocks,
            agent_instructions=agent_instructions,
            webhook_url=webhook_url,
            files=files,
            idempotency_key=idempotency_key,
        )
        created = await self._client._pipeline.call(op)
        return AsyncRunHandle(self._client, created.run_id, created)

    async def get(self, run_id: str) -> GetRunResponse:
        """See :meth:`Runs.get`."""
        return await self._client._pipeline.call(ops.get_run(run_id))

    def attach(self, run_id: str) -> AsyncRunHandle:
        """See :meth:`Runs.attach`."""
        return AsyncRunHandle(self._client, run_id)


class Canvas:
    """``client.canvas``: the block graph and task tree of a run's canvas (read-only)."""

    def __init__(self, client: SpineClient) -> None:
        self._client = client

    def get_dag(self, canvas_id: str) -> CanvasDAG:
        """The canvas's blocks and edges (``GET /v1/canvas/{canvas_id}/dag``)."""
        return self._client._pipeline.call(ops.get_dag(canvas_id))

    def get_tasks(self, canvas_id: str) -> TaskTree:
        """The task tree (``GET /v1/canvas/{canvas_id}/tasks``)."""
        return self._client._pipeline.call(ops.get_tasks(canvas_id))

    def get_task(self, canvas_id: str, task_id: str) -> TaskNode:
        """One task with its immediate children."""
        return self._client._pipeline.call(ops.get_task(canvas_id, task_id))


class AsyncCanvas:
    """``client.canvas`` of :class:`AsyncSpineClient`."""

    def __init__(self, client: AsyncSpineClient) -> None:
        self._client = client

    async def get_dag(self, canvas_id: str) -> CanvasDAG:
        """See :meth:`Canvas.get_dag`."""
        return await self._client._pipeline.call(ops.get_dag(canvas_id))

    async def get_tasks(self, canvas_id: str) -> TaskTree:
        """See :meth:`Canvas.get_tasks`."""
        return await self._client._pipeline.call(ops.get_tasks(canvas_id))

    async def get_task(self, canvas_id: str, task_id: str) -> TaskNode:
        """See :meth:`Canvas.get_task`."""
        return await self._client._pipeline.call(ops.get_task(canvas_id, task_id))
