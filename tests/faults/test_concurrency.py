"""Concurrency: one sync client shared by many threads, one async client serving a thousand
handles, prompt cancellation of an async wait(), and a client inherited across fork()."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import spine
from spine.testing import Sandbox

from . import _server as b
from ._server import FaultServer
from .conftest import KEY, RETRY

FAST = spine.RetryPolicy(max_retries=6, base_delay=0.001, max_delay=0.005)


@pytest.fixture
def timed_sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.4) as box:
        yield box


def test_one_sync_client_is_safe_across_threads(sandbox: Sandbox) -> None:
    threads, calls = 16, 6
    client = spine.SpineClient(api_key=KEY, base_url=sandbox.url, retry_policy=FAST)
    sandbox.inject(status=503, path="/v1/run/*", times=25)  # retries interleave with the rest
    sandbox.inject(status=429, method="POST", path="/v1/run", times=10)
    failures: list[BaseException] = []
    seen: dict[str, str] = {}
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for call in range(calls):
                prompt = f"worker {worker} call {call}"
                handle = client.runs.create(prompt, idempotency_key=f"w{worker}-c{call}")
                for _ in range(2):
                    run = client.runs.get(handle.run_id)
                    assert run.run_id == handle.run_id
                    assert run.prompt == prompt
                with lock:
                    seen[handle.run_id] = prompt
        except BaseException as exc:  # reported below
            failures.append(exc)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    client.close()
    assert not failures, failures[0]
    assert len(seen) == threads * calls
    assert sandbox.runs_created == threads * calls, "no run lost, none created twice"
    for run_id, prompt in seen.items():
        assert sandbox.run_info(run_id)["prompt"] == prompt


def test_one_async_client_serves_a_thousand_handles(sandbox: Sandbox) -> None:
    """1,000 runs created and waited on at once by one AsyncSpineClient: every handle polls
    while its run is running, sleeps, and returns once the sandbox completes them all."""
    count = 1000

    async def main() -> list[spine.RunResult]:
        async with spine.AsyncSpineClient(
            api_key=KEY, base_url=sandbox.url, retry_policy=FAST
        ) as client:
            handles = await asyncio.gather(
                *(client.runs.create(f"memo {i}", template="memo") for i in range(count))
            )
            assert len({h.run_id for h in handles}) == count
            waits = asyncio.gather(
                *(h.wait(timeout=120, poll_interval=0.5, max_poll_interval=0.5) for h in handles)
            )
            polls = lambda: sum(r.method == "GET" for r in sandbox.requests)  # noqa: E731
            await _until(lambda: polls() >= count, timeout=60)
            assert sandbox.complete() and not waits.done()
            return await waits

    began = time.monotonic()
    results = asyncio.run(main())
    elapsed = time.monotonic() - began
    assert len(results) == count and all(r.final_output for r in results)
    assert sandbox.runs_created == count
    assert elapsed < 40, f"{count} handles took {elapsed:.1f}s"


# ----------------------------------------------------------------------------- cancellation


async def _until(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


async def _cancel_and_time(task: asyncio.Task[object]) -> float:
    began = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.monotonic() - began


def test_cancelling_wait_while_it_sleeps_is_prompt(sandbox: Sandbox) -> None:
    async def main() -> None:
        async with spine.AsyncSpineClient(api_key=KEY, base_url=sandbox.url) as client:
            handle = await client.runs.create("cancel me")
            task = asyncio.create_task(handle.wait(poll_interval=30, max_poll_interval=30))
            await _until(lambda: any(r.method == "GET" for r in sandbox.requests))
            await asyncio.sleep(0.05)  # the poll is answered; the task sleeps 30 s
            assert await _cancel_and_time(task) < 0.1
            # The client is still usable, and nothing was created or lost.
            run = await client.runs.get(handle.run_id)
            assert run.run_id == handle.run_id
            sandbox.complete(handle.run_id)
            assert (await handle.wait(poll_interval=0.01)).final_output
        assert sandbox.runs_created == 1

    asyncio.run(main())


def test_cancelling_wait_during_a_request_in_flight_is_prompt(server: FaultServer) -> None:
    async def main() -> None:
        async with spine.AsyncSpineClient(
            api_key=KEY, base_url=server.url, retry_policy=RETRY
        ) as client:
            handle = await client.runs.create("cancel me")
            server.script(b.stall())  # the next poll never gets an answer
            task = asyncio.create_task(handle.wait(poll_interval=0.01))
            await _until(lambda: len(server.requests) == 2)
            await asyncio.sleep(0.02)
            assert await _cancel_and_time(task) < 0.1
            server.script(b.api())
            for _ in range(3):  # the pool recovered: new requests go through
                run = await client.runs.get(handle.run_id)
                assert run.run_id == handle.run_id
        assert server.runs == 1

    asyncio.run(main())


def test_cancelling_a_create_in_flight_closes_its_files(
    server: FaultServer, tmp_path: Path
) -> None:
    path = tmp_path / "doc.txt"
    path.write_bytes(b"x" * 1000)
    opened: list[object] = []
    real_open = open

    def tracking_open(*args: object, **kwargs: object) -> object:
        fh = real_open(*args, **kwargs)  # type: ignore[call-overload]
        opened.append(fh)
        return fh

    async def main() -> None:
        async with spine.AsyncSpineClient(api_key=KEY, base_url=server.url) as client:
            server.script(b.stall(act=True))
            task = asyncio.create_task(client.runs.create("paid", files=[path]))
            await _until(lambda: len(server.requests) == 1)
            assert await _cancel_and_time(task) < 0.1

    import spine._files as files_module

    files_module.open = tracking_open  # type: ignore[attr-defined]
    try:
        asyncio.run(main())
    finally:
        del files_module.open  # type: ignore[attr-defined]
    assert opened and all(f.closed for f in opened)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- fork


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_client_used_after_fork_opens_its_own_connections(sandbox: Sandbox) -> None:
    """The child must never talk on the parent's pooled sockets (both would read the same
    stream and get each other's answers): its first call opens a new pool."""
    client = spine.SpineClient(api_key=KEY, base_url=sandbox.url)
    handle = client.runs.create("before fork")
    client.runs.get(handle.run_id)
    parent_conns = {r.connection for r in sandbox.requests}
    assert len(parent_conns) == 1
    sandbox.clear_requests()

    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        code = 1
        try:
            run = client.runs.get(handle.run_id)
            code = 0 if run.run_id == handle.run_id else 2
        except BaseException:
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the child hung")
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    (child_request,) = sandbox.requests
    assert child_request.connection not in parent_conns
    # The parent's pool is untouched: it goes on with its own connection.
    assert client.runs.get(handle.run_id).run_id == handle.run_id
    assert sandbox.requests[-1].connection in parent_conns
    client.close()


def test_the_fork_story_is_documented() -> None:
    doc = sys.modules["spine._client"].__doc__ or ""
    assert "fork" in doc and "thread" in doc.lower() and "asyncio" in doc


def test_waiting_for_a_free_connection_counts_against_the_deadline(server: FaultServer) -> None:
    """With every connection of the client stalled, a wait() queued behind them still ends at its
    own deadline: the time spent waiting for a turn is part of its budget."""

    async def main() -> None:
        async with spine.AsyncSpineClient(
            api_key=KEY, base_url=server.url, timeout=5.0, retry_policy=RETRY
        ) as client:
            handle = await client.runs.create("queued")
            server.script(b.stall())
            hogs = [asyncio.create_task(client.runs.get(handle.run_id)) for _ in range(40)]
            await _until(lambda: len(server.requests) >= 17)
            began = time.monotonic()
            with pytest.raises(spine.SpineTimeoutError):
                await handle.wait(timeout=0.4, poll_interval=0.05)
            elapsed = time.monotonic() - began
            for hog in hogs:
                hog.cancel()
            await asyncio.gather(*hogs, return_exceptions=True)
            assert elapsed < 0.8, f"wait() overran its deadline: {elapsed:.2f}s"

    asyncio.run(main())
