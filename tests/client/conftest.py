"""One test body for both clients: the ``api`` fixture runs each test with SpineClient and with
AsyncSpineClient, and ``api.call`` / ``api.collect`` hide whether a method must be awaited."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import spine

KEY = "sk_spine_test_0123456789abcdef"


class Api:
    def __init__(self, mode: str, runner: asyncio.Runner | None) -> None:
        self.mode = mode
        self._runner = runner
        self._clients: list[Any] = []

    def client(self, **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", KEY)
        cls = spine.SpineClient if self.mode == "sync" else spine.AsyncSpineClient
        client = cls(**kwargs)
        self._clients.append(client)
        return client

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        if inspect.isawaitable(result):
            assert self._runner is not None
            return self._runner.run(_await(result))
        return result

    def collect(self, it: Iterator[Any] | AsyncIterator[Any]) -> list[Any]:
        if isinstance(it, AsyncIterator):
            assert self._runner is not None

            async def drain() -> list[Any]:
                return [x async for x in it]

            return self._runner.run(drain())
        return list(it)

    def close(self) -> None:
        for client in self._clients:
            result = client.close()
            if inspect.isawaitable(result):
                assert self._runner is not None
                self._runner.run(_await(result))


async def _await(awaitable: Any) -> Any:
    return await awaitable


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
def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def envelope(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


RUN_ID = "550e8400-e29b-41d4-a716-446655440000"
CANVAS_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
CREATED = {
    "run_id": RUN_ID,
    "status": "running",
    "poll_url": f"/v1/run/{RUN_ID}",
    "estimated_duration_ms": 900000,
}
RUNNING = {
    "run_id": RUN_ID,
    "status": "running",
    "canvas_id": CANVAS_ID,
    "progress": {"tasks_completed": 3, "tasks_total": 8, "elapsed_ms": 480000},
}
COMPLETED = {
    "run_id": RUN_ID,
    "status": "completed",
    "canvas_id": CANVAS_ID,
    "duration_ms": 927300,
    "result": {
        "final_output": "synthesized answer",
        "artifacts": [
            {
                "id": "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f",
                "type": "docx",
                "name": "Q1_Report.docx",
                "download_url": "https://files.example.com/x",
                "size_bytes": 245000,
            }
        ],
    },
    "metadata": {
        "template_used": "report",
        "models_used": ["anthropic/claude-sonnet-4-6"],
        "credits_consumed": 45,
    },
}
FAILED = {"run_id": RUN_ID, "status": "failed", "errors": [{"error": "Agent execution failed"}]}
