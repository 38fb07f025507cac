"""Fixtures of the fault tests: one test body for both clients (the ``api`` fixture), the sandbox,
and the misbehaving loopback server of ``_server.py``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import spine
from spine.testing import Sandbox

from ._server import FaultServer

KEY = "sk_spine_faults_0123456789abcdef"
#: Retries without real waiting: the clients' sleep is replaced by a recorder (see Api.client).
RETRY = spine.RetryPolicy(max_retries=4, base_delay=0.5, max_delay=30.0)


class Api:
    """Runs one test body with SpineClient or AsyncSpineClient.

    ``api.client(...)`` builds a client whose sleep only records the delays (``api.sleeps``)
    unless ``real_sleep=True``; ``api.call(fn, ...)`` calls a method and awaits it when needed.
    """

    def __init__(self, mode: str, runner: asyncio.Runner | None) -> None:
        self.mode = mode
        self.runner = runner
        self.sleeps: list[float] = []
        self.fake_now = 1000.0
        self._clients: list[Any] = []

    def fake_clock(self) -> float:
        return self.fake_now

    def _fake_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.fake_now += seconds

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    def client(self, *, real_sleep: bool = False, **kwargs: Any) -> Any:
        """A client; unless ``real_sleep``, its sleeps only advance a fake clock (``fake_now``)
        that the client also reads, so retries and wait() deadlines run without waiting."""
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("retry_policy", RETRY)
        cls = spine.AsyncSpineClient if self.is_async else spine.SpineClient
        client = cls(**kwargs)
        if not real_sleep:
            if self.is_async:

                async def sleep_async(seconds: float) -> None:
                    self._fake_sleep(seconds)

                client._sleep = sleep_async
            else:
                client._sleep = self._fake_sleep
            client._settings.clock = self.fake_clock
        self._clients.append(client)
        return client

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            assert self.runner is not None
            return self.runner.run(_await(result))
        return result

    def collect(self, it: Iterator[Any] | AsyncIterator[Any]) -> list[Any]:
        if isinstance(it, AsyncIterator):
            assert self.runner is not None

            async def drain() -> list[Any]:
                return [x async for x in it]

            return self.runner.run(drain())
        return list(it)

    def close(self) -> None:
        for client in self._clients:
            result = client.close()
            if inspect.isawaitable(result):
                assert self.runner is not None
                self.runner.run(_await(result))


async def _await(awaitable: Any) -> Any:
    return await awaitable


@pytest.fixture(autouse=True)
def _restore_spine_logger() -> Iterator[None]:
    """SPINE_LOG=debug in a test attaches a stderr handler: take it away afterwards."""
    from spine._log import logger

    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    runner = asyncio.Runner() if request.param == "async" else None
    helper = Api(request.param, runner)
    try:
        yield helper
    finally:
        helper.close()
        if runner is not None:
            runner.close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A sandbox in manual mode: runs stay ``running`` until ``sandbox.complete()``."""
    with Sandbox(run_duration=None) as box:
        yield box


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def other_server() -> Iterator[FaultServer]:
    """A second server on another host name (``localhost`` instead of ``127.0.0.1``)."""
    with FaultServer() as srv:
        yield srv
