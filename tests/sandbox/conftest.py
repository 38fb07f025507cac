"""Fixtures for the sandbox's own tests: a sandbox on a manual clock and an httpx client."""

from __future__ import annotations

import io
import ssl
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from spine.testing import ManualClock, Sandbox

# The plugin's fixtures, for runs where the package (and its pytest11 entry point) is not
# installed; when it is, these are the same functions.
from spine.testing.pytest_plugin import (  # noqa: F401
    _async_client_for_anyio,
    _async_client_for_asyncio,
    async_spine_client,
    pytest_configure,
    spine_client,
    spine_sandbox,
    spine_sandbox_options,
)

OTHER_KEY = "sk_spine_someone_else"
_TLS = ssl.create_default_context()  # shared: loading CA certificates per client is slow


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_000_000.0)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    """A sandbox whose time only moves when the test says so (runs last 10 clock seconds)."""
    with Sandbox(clock=clock, run_duration=10.0) as box:
        yield box


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sandbox.url, headers={"X-API-KEY": sandbox.api_key}, timeout=10, verify=_TLS
    ) as client:
        yield client


def create(client: httpx.Client, prompt: str = "Write a Q1 report", **kw: Any) -> dict[str, Any]:
    """POST /v1/run (multipart when files are given) and return ``data``; asserts 200."""
    files = kw.pop("files", None)
    headers = kw.pop("headers", None)
    data = {"prompt": prompt, **kw}
    if files is None:
        # Force multipart, as the SDK does, with an empty file list workaround: httpx sends
        # urlencoded for data-only requests, which the sandbox accepts too.
        response = client.post("/v1/run", data=data, headers=headers)
    else:
        response = client.post("/v1/run", data=data, files=files, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return dict(body["data"])


def get_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/run/{run_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert body["success"] is False
    assert set(body) == {"success", "error"}
    return str(body["error"])


def open_zip(data: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    return archive
