"""One test body for both clients: ``Api`` runs a test with SpineClient or AsyncSpineClient and
hides whether a method must be awaited (``api.call``, ``api.collect``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import spine


class Api:
    key = "sk_spine_test_0123456789abcdef"

    def __init__(self, mode: str, runner: asyncio.Runner | None) -> None:
        self.mode = mode
        self.runner = runner
        self._clients: list[Any] = []

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    def client(self, **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", self.key)
        cls = spine.AsyncSpineClient if self.is_async else spine.SpineClient
        client = cls(**kwargs)
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
            self.call(client.close)


async def _await(awaitable: Any) -> Any:
    return await awaitable


def api_fixture(cls: type[Api]) -> Any:
    """A pytest fixture, parametrised sync/async, yielding a ``cls``."""

    @pytest.fixture(params=["sync", "async"])
    def api(request: pytest.FixtureRequest) -> Iterator[Api]:
        runner = asyncio.Runner() if request.param == "async" else None
        helper = cls(request.param, runner)
        try:
            yield helper
        finally:
            helper.close()
            if runner is not None:
                runner.close()

    return api
