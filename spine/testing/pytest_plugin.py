"""pytest fixtures for testing code that talks to Spine, backed by the local sandbox.

Registered automatically (the ``spine`` entry point in the ``pytest11`` group), so any test can
ask for:

``spine_sandbox``
    A running :class:`spine.testing.Sandbox`, stopped after the test. Configure it with the
    ``spine_sandbox`` marker, whose keyword arguments go to the constructor::

        @pytest.mark.spine_sandbox(run_duration=None, outcomes=["failed"])
        def test_failure(spine_sandbox): ...

``spine_client``
    A ``spine.SpineClient`` pointed at that sandbox with a key it accepts; closed afterwards.

``async_spine_client``
    A ``spine.AsyncSpineClient`` likewise (an async fixture: use it from tests run by anyio,
    ``@pytest.mark.anyio``, or pytest-asyncio).

This module imports nothing heavy: the sandbox and the SDK are imported inside the fixtures.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from spine.testing._server._sandbox import Sandbox

__all__ = ["async_spine_client", "pytest_configure", "spine_client", "spine_sandbox"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spine_sandbox(**options): keyword options for the spine_sandbox fixture's Sandbox",
    )


@pytest.fixture
def spine_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A running Spine sandbox (see ``spine.testing.Sandbox``), stopped after the test."""
    from spine.testing._server._sandbox import Sandbox

    marker = request.node.get_closest_marker("spine_sandbox")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    with Sandbox(**options) as sandbox:
        yield sandbox


@pytest.fixture
def spine_client(spine_sandbox: Sandbox) -> Iterator[Any]:
    """A ``spine.SpineClient`` for the sandbox, closed after the test."""
    spine = importlib.import_module("spine")
    client = spine.SpineClient(api_key=spine_sandbox.api_key, base_url=spine_sandbox.url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
async def async_spine_client(spine_sandbox: Sandbox) -> AsyncIterator[Any]:
    """A ``spine.AsyncSpineClient`` for the sandbox, closed after the test."""
    spine = importlib.import_module("spine")
    client = spine.AsyncSpineClient(api_key=spine_sandbox.api_key, base_url=spine_sandbox.url)
    try:
        yield client
    finally:
        await client.aclose()
