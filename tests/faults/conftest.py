"""Fixtures of the fault tests: one test body for both clients (the ``api`` fixture), the sandbox,
and the misbehaving loopback server of ``_server.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import spine
from spine.testing import Sandbox
from tests._twins import Api as _Api, api_fixture

from ._server import FaultServer

KEY = "sk_spine_faults_0123456789abcdef"
#: Retries without real waiting: the clients' sleep is replaced by a recorder (see Api.client).
RETRY = spine.RetryPolicy(max_retries=4, base_delay=0.5, max_delay=30.0)


class Api(_Api):
    """``api.client(...)`` builds a client whose sleep only records the delays (``api.sleeps``)
    unless ``real_sleep=True``; ``api.call(fn, ...)`` calls a method and awaits it when needed.
    """

    key = KEY

    def __init__(self, mode: str, runner: asyncio.Runner | None) -> None:
        super().__init__(mode, runner)
        self.sleeps: list[float] = []
        self.fake_now = 1000.0

    def fake_clock(self) -> float:
        return self.fake_now

    def _fake_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.fake_now += seconds

    def client(self, *, real_sleep: bool = False, **kwargs: Any) -> Any:
        """A client; unless ``real_sleep``, its sleeps only advance a fake clock (``fake_now``)
        that the client also reads, so retries and wait() deadlines run without waiting."""
        kwargs.setdefault("retry_policy", RETRY)
        client = super().client(**kwargs)
        if not real_sleep:
            if self.is_async:

                async def sleep_async(seconds: float) -> None:
                    self._fake_sleep(seconds)

                client._runtime.sleep = sleep_async
            else:
                client._runtime.sleep = self._fake_sleep
            client._runtime.clock = self.fake_clock
        return client


@pytest.fixture(autouse=True)
def _restore_spine_logger() -> Iterator[None]:
    """SPINE_LOG=debug in a test attaches a stderr handler: take it away afterwards."""
    from spine._log import logger

    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


api = api_fixture(Api)


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
