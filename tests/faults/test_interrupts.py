"""Whatever interrupts a create after its request may have reached the server (Ctrl-C, a
cancelled task, an exception raised by the caller's code), the idempotency key goes on what
propagates, and that key gets the run without paying twice.

The server here acts on the create (the run exists) and then stalls, so the interruption
comes while the client waits for the answer: the ambiguous case.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import time
from typing import Any

import httpx
import pytest

import spine

from . import _server as b
from ._server import FaultServer
from .conftest import KEY

PROMPT = "Write a memo about Q1 sales"
NOTE = re.compile(r"idempotency_key='([^']+)'")


def _key_from_notes(exc: BaseException) -> str:
    notes = getattr(exc, "__notes__", [])
    keys = [m.group(1) for note in notes for m in [NOTE.search(note)] if m]
    assert len(keys) == 1, notes
    assert "may have been created" in notes[0]
    return keys[0]


def _when(condition: Any, then: Any, timeout: float = 10.0) -> threading.Thread:
    """Run ``then()`` in a thread as soon as ``condition()`` holds."""

    def watch() -> None:
        _wait_for(condition, timeout)
        then()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def acting_then_stalling(server: FaultServer) -> FaultServer:
    server.script(b.stall(act=True))
    return server


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.005)
    assert condition(), f"timed out after {timeout} s waiting for the condition"


def _recover(server: FaultServer, key: str) -> None:
    """The key from the interruption gets the run the interrupted create made."""
    server.script(b.api())
    with spine.SpineClient(api_key=KEY, base_url=server.url) as client:
        handle = client.runs.create(PROMPT, idempotency_key=key)
    assert server.runs == 1 and server.run_ids == [handle.run_id]
    assert {r.headers["idempotency-key"] for r in server.creates()} == {key}


def test_ctrl_c_during_a_create_notes_the_key(acting_then_stalling: FaultServer) -> None:
    server = acting_then_stalling
    client = spine.SpineClient(api_key=KEY, base_url=server.url)
    # A real SIGINT, delivered once the server has acted on the request.
    watcher = _when(lambda: server.runs == 1, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt) as info:
        client.runs.create(PROMPT)
    watcher.join()
    client.close()
    _recover(server, _key_from_notes(info.value))


def test_ctrl_c_keeps_a_caller_key_too(acting_then_stalling: FaultServer) -> None:
    server = acting_then_stalling
    client = spine.SpineClient(api_key=KEY, base_url=server.url)
    watcher = _when(lambda: server.runs == 1, lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt) as info:
        client.runs.create(PROMPT, idempotency_key="order-42")
    watcher.join()
    client.close()
    assert _key_from_notes(info.value) == "order-42"


def test_a_cancelled_create_task_notes_the_key(acting_then_stalling: FaultServer) -> None:
    server = acting_then_stalling

    async def main() -> BaseException:
        async with spine.AsyncSpineClient(api_key=KEY, base_url=server.url) as client:
            task = asyncio.ensure_future(client.runs.create(PROMPT))
            await asyncio.to_thread(_wait_for, lambda: server.runs == 1)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError as exc:
                return exc
        raise AssertionError("the create was not cancelled")

    cancelled = asyncio.run(main())
    _recover(server, _key_from_notes(cancelled))


def test_a_timeout_around_an_async_create_keeps_the_key_in_the_chain(
    acting_then_stalling: FaultServer,
) -> None:
    server = acting_then_stalling

    async def main() -> BaseException:
        async with spine.AsyncSpineClient(api_key=KEY, base_url=server.url) as client:
            try:
                async with asyncio.timeout(0.3):
                    await client.runs.create(PROMPT)
            except TimeoutError as exc:
                return exc
        raise AssertionError("no timeout")

    timed_out = asyncio.run(main())
    cancelled = timed_out.__cause__ or timed_out.__context__
    assert isinstance(cancelled, asyncio.CancelledError)
    _recover(server, _key_from_notes(cancelled))


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_a_base_exception_from_the_callers_hook_notes_the_key(
    server: FaultServer, raised: type[BaseException]
) -> None:
    # The caller's response hook runs after the server answered: the run exists.
    def hook(response: httpx.Response) -> None:
        raise raised()

    http = httpx.Client(event_hooks={"response": [hook]})
    client = spine.SpineClient(api_key=KEY, base_url=server.url, http_client=http)
    with pytest.raises(raised) as info:
        client.runs.create(PROMPT)
    http.close()
    _recover(server, _key_from_notes(info.value))


def test_an_exception_from_the_callers_hook_carries_the_key(server: FaultServer) -> None:
    def hook(response: httpx.Response) -> None:
        raise ValueError("my bookkeeping failed")

    http = httpx.Client(event_hooks={"response": [hook]})
    client = spine.SpineClient(api_key=KEY, base_url=server.url, http_client=http)
    with pytest.raises(spine.SpineError) as info:
        client.runs.create(PROMPT)
    http.close()
    err = info.value
    assert err.run_may_exist and err.idempotency_key
    assert isinstance(err.__cause__, ValueError)  # the caller's exception, chained
    _recover(server, err.idempotency_key)


def test_an_async_hook_that_raises_carries_the_key(server: FaultServer) -> None:
    async def hook(response: httpx.Response) -> None:
        raise RuntimeError("my bookkeeping failed")

    async def main() -> spine.SpineError:
        async with httpx.AsyncClient(event_hooks={"response": [hook]}) as http:
            client = spine.AsyncSpineClient(api_key=KEY, base_url=server.url, http_client=http)
            try:
                await client.runs.create(PROMPT)
            except spine.SpineError as exc:
                return exc
        raise AssertionError("no error")

    err = asyncio.run(main())
    assert err.run_may_exist and err.idempotency_key
    _recover(server, err.idempotency_key)


def test_a_read_or_a_wait_gets_no_note(server: FaultServer) -> None:
    # Only a create (it costs money) carries a key; an interrupted poll says nothing of keys.
    server.script(b.stall())
    client = spine.SpineClient(api_key=KEY, base_url=server.url)
    watcher = _when(
        lambda: len(server.requests) == 1, lambda: os.kill(os.getpid(), signal.SIGINT)
    )
    with pytest.raises(KeyboardInterrupt) as info:
        client.runs.get("550e8400-e29b-41d4-a716-446655440000")
    watcher.join()
    client.close()
    assert not getattr(info.value, "__notes__", [])
