"""``client.runs`` and ``client.canvas``: one-liners over :mod:`spine._operations` (what to
send, checked before any request) and the client's driver (how it is sent).

Handles (:mod:`spine._handle`, and the poller behind them) are imported where a method returns
one, so that a process that only reads runs never loads them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from spine import _operations as ops
from spine._enums import BlockType, Template

if TYPE_CHECKING:
    from spine._base_client import AsyncPipeline, SyncPipeline
    from spine._canvas_models import CanvasDAG, TaskNode, TaskTree
    from spine._files import FileInput
    from spine._handle import AsyncRunHandle, RunHandle
    from spine._models import GetRunResponse

__all__ = ["AsyncCanvas", "AsyncRuns", "Canvas", "Runs"]


def _bound(run: GetRunResponse, runtime: object) -> GetRunResponse:
    """``run``, its result's downloads tied to this client (retries, and a new read of the run
    when a link is refused)."""
    if run.result is not None:
        from spine._artifacts import bind

        bind(run, runtime, ops.get_run)
    return run


class Runs:
    """``client.runs``: create runs and read their state."""

    def __init__(self, runtime: SyncPipeline) -> None:
        self._runtime = runtime

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
        from spine._handle import RunHandle

        created = self._runtime.call(op)
        return RunHandle(self._runtime, created.run_id, created)

    def get(self, run_id: str | uuid.UUID) -> GetRunResponse:
        """The run's current state (``GET /v1/run/{run_id}``).

        ``run_id`` is a UUID (a str in the canonical form, or a :class:`uuid.UUID`); anything
        else raises :class:`InvalidRequestError` before any request is sent."""
        return _bound(self._runtime.call(ops.get_run(run_id)), self._runtime)

    def attach(self, run_id: str | uuid.UUID) -> RunHandle:
        """A handle for an existing run (no request is sent; ``run_id`` is checked as for
        :meth:`get`)."""
        from spine._handle import RunHandle

        return RunHandle(self._runtime, run_id)


class AsyncRuns:
    """``client.runs`` of :class:`AsyncSpineClient`."""

    def __init__(self, runtime: AsyncPipeline) -> None:
        self._runtime = runtime

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
        from spine._handle import AsyncRunHandle

        created = await self._runtime.call(op)
        return AsyncRunHandle(self._runtime, created.run_id, created)

    async def get(self, run_id: str | uuid.UUID) -> GetRunResponse:
        """See :meth:`Runs.get`."""
        return _bound(await self._runtime.call(ops.get_run(run_id)), self._runtime)

    def attach(self, run_id: str | uuid.UUID) -> AsyncRunHandle:
        """See :meth:`Runs.attach`."""
        from spine._handle import AsyncRunHandle

        return AsyncRunHandle(self._runtime, run_id)


class Canvas:
    """``client.canvas``: the block graph and task tree of a run's canvas (read-only)."""

    def __init__(self, runtime: SyncPipeline) -> None:
        self._runtime = runtime

    def get_dag(self, canvas_id: str | uuid.UUID) -> CanvasDAG:
        """The canvas's blocks and edges (``GET /v1/canvas/{canvas_id}/dag``). Ids are UUIDs,
        checked before any request as for :meth:`Runs.get`."""
        return self._runtime.call(ops.get_dag(canvas_id))

    def get_tasks(self, canvas_id: str | uuid.UUID) -> TaskTree:
        """The task tree (``GET /v1/canvas/{canvas_id}/tasks``)."""
        return self._runtime.call(ops.get_tasks(canvas_id))

    def get_task(self, canvas_id: str | uuid.UUID, task_id: str | uuid.UUID) -> TaskNode:
        """One task with its immediate children."""
        return self._runtime.call(ops.get_task(canvas_id, task_id))


class AsyncCanvas:
    """``client.canvas`` of :class:`AsyncSpineClient`."""

    def __init__(self, runtime: AsyncPipeline) -> None:
        self._runtime = runtime

    async def get_dag(self, canvas_id: str | uuid.UUID) -> CanvasDAG:
        """See :meth:`Canvas.get_dag`."""
        return await self._runtime.call(ops.get_dag(canvas_id))

    async def get_tasks(self, canvas_id: str | uuid.UUID) -> TaskTree:
        """See :meth:`Canvas.get_tasks`."""
        return await self._runtime.call(ops.get_tasks(canvas_id))

    async def get_task(self, canvas_id: str | uuid.UUID, task_id: str | uuid.UUID) -> TaskNode:
        """See :meth:`Canvas.get_task`."""
        return await self._runtime.call(ops.get_task(canvas_id, task_id))
