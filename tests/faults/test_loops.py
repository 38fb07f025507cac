"""One ``AsyncSpineClient`` used from one event loop after another (notebooks, scripts that call
``asyncio.run`` twice, test frameworks with a loop per test): it notices the new loop as it
notices a fork, opens a fresh pool there, and closing it never raises because of a dead loop's
connections."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import Iterator

import httpx
import pytest

import spine
from spine.testing import Sandbox

from .conftest import KEY

PROMPT = "Write a memo about Q1 sales"


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=None) as sandbox:
        yield sandbox


def _client(box: Sandbox, **kwargs: object) -> spine.AsyncSpineClient:
    return spine.AsyncSpineClient(api_key=KEY, base_url=box.url, **kwargs)  # type: ignore[arg-type]


def test_the_issue_example_two_asyncio_runs(box: Sandbox) -> None:
    client = _client(box)

    async def create() -> str:
        handle = await client.runs.create(PROMPT)
        return handle.run_id

    async def get(run_id: str) -> spine.GetRunResponse:
        return await client.runs.get(run_id)

    run_id = asyncio.run(create())  # its connection stays in the pool of a closed loop
    run = asyncio.run(get(run_id))  # a new loop: a new pool, not "Event loop is closed"
    assert run.run_id == run_id
    asyncio.run(client.aclose())  # a third loop: closing raises nothing
    gets = [r for r in box.requests if r.method == "GET"]
    assert len(gets) == 1, "the get was sent once: it succeeded at the first attempt"


def test_aclose_in_another_loop_right_after_use_never_raises(box: Sandbox) -> None:
    client = _client(box)

    async def use() -> None:
        await client.runs.create(PROMPT)

    asyncio.run(use())
    asyncio.run(client.aclose())
    asyncio.run(client.aclose())  # idempotent


def test_a_handle_follows_its_run_from_a_later_loop(box: Sandbox) -> None:
    client = _client(box)

    async def create() -> spine.AsyncRunHandle:
        return await client.runs.create(PROMPT)

    handle = asyncio.run(create())
    box.complete(handle.run_id)

    async def wait() -> spine.RunResult:
        async with client:
            return await handle.wait(poll_interval=0.01)

    assert asyncio.run(wait()).final_output


def test_many_loops_each_with_concurrent_calls(box: Sandbox) -> None:
    client = _client(box)
    run_ids: list[str] = []

    async def burst() -> None:
        handles = await asyncio.gather(*(client.runs.create(PROMPT) for _ in range(20)))
        runs = await asyncio.gather(*(client.runs.get(h.run_id) for h in handles))
        run_ids.extend(r.run_id for r in runs)

    for _ in range(4):
        asyncio.run(burst())
    asyncio.run(client.aclose())
    assert len(set(run_ids)) == 80 == box.runs_created


def test_runners_that_outlive_each_other(box: Sandbox) -> None:
    # pytest-asyncio style: one loop per test, the client from a longer-lived fixture. Here
    # the first loop is still open (not closed) when the second one takes over.
    client = _client(box)
    first, second = asyncio.Runner(), asyncio.Runner()
    try:
        handle = first.run(client.runs.create(PROMPT))
        assert second.run(client.runs.get(handle.run_id)).run_id == handle.run_id
        assert first.run(client.runs.get(handle.run_id)).run_id == handle.run_id
        first.close()
        second.run(client.aclose())
    finally:
        first.close()
        second.close()


def test_no_warning_or_error_is_left_behind(box: Sandbox) -> None:
    client = _client(box)

    async def get() -> None:
        await client.runs.get((await client.runs.create(PROMPT)).run_id)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(get())
        asyncio.run(get())
        asyncio.run(client.aclose())
        gc.collect()
    unraisable = [w for w in caught if "Event loop is closed" in str(w.message)]
    assert unraisable == []


def test_an_injected_http_client_is_the_callers(box: Sandbox) -> None:
    # The SDK cannot renew a client it was given: it keeps using it (the caller's to manage).
    http = httpx.AsyncClient()
    client = _client(box, http_client=http)

    async def create() -> None:
        await client.runs.create(PROMPT)

    asyncio.run(create())
    assert client._runtime.http is http
    asyncio.run(client.aclose())  # not the SDK's to close
    assert not http.is_closed
