"""pytest fixtures for testing code that talks to Spine, backed by the local sandbox.

Registered automatically (the ``spine`` entry point in the ``pytest11`` group), so any test can
ask for:

``spine_sandbox``
    A running :class:`spine.testing.Sandbox`, stopped after the test. Its runs last
    ``DEFAULT_RUN_DURATION`` (0.2 s) unless asked otherwise, so tests stay fast. Configure it
    with the ``spine_sandbox`` marker, whose keyword arguments go to the constructor::

        @pytest.mark.spine_sandbox(run_duration=None, outcomes=["failed"])
        def test_failure(spine_sandbox): ...

    For a whole suite: the ``spine_sandbox_run_duration`` ini option (seconds, or
    ``manual``), or a ``spine_sandbox_options`` fixture in ``conftest.py`` returning keyword
    arguments for every sandbox. The marker wins over the fixture, the fixture over the ini
    option, the ini option over the default.

``spine_client``
    A ``spine.SpineClient`` pointed at that sandbox with a key it accepts; closed afterwards.

``async_spine_client``
    A ``spine.AsyncSpineClient`` likewise, opened and closed in the event loop that runs the
    test. It works whichever plugin runs async tests:

    * pytest-asyncio, in its default *strict* mode (``@pytest.mark.asyncio``) and in *auto*
      mode (``asyncio_mode = "auto"``): the client lives in the loop of the fixture loop
      scope (``asyncio_default_fixture_loop_scope``, function by default), as any
      pytest-asyncio fixture does;
    * anyio (``@pytest.mark.anyio``), with or without pytest-asyncio installed.

    It dispatches to a private fixture that the plugin running the test knows how to set up
    (a plain async fixture for anyio, a ``pytest_asyncio.fixture`` for pytest-asyncio); a test
    that neither plugin runs gets an error saying so instead of an unawaited coroutine, and so
    does a test both would run (``@pytest.mark.anyio`` under ``asyncio_mode = "auto"``): use
    pytest-asyncio's strict mode with anyio.

This module imports nothing heavy: the sandbox and the SDK are imported inside the fixtures.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from spine.testing._server._sandbox import Sandbox

__all__ = [
    "DEFAULT_RUN_DURATION",
    "async_spine_client",
    "pytest_addoption",
    "pytest_configure",
    "spine_client",
    "spine_sandbox",
    "spine_sandbox_options",
]

_F = TypeVar("_F", bound=Callable[..., Any])


DEFAULT_RUN_DURATION = 0.2
"""Seconds a run of the ``spine_sandbox`` fixture takes unless configured (``Sandbox``'s own
default, 3 s, is for people watching a run)."""

_INI_RUN_DURATION = "spine_sandbox_run_duration"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        _INI_RUN_DURATION,
        help="seconds a run of the spine_sandbox fixture lasts, or 'manual'"
        f" (default {DEFAULT_RUN_DURATION})",
        default=str(DEFAULT_RUN_DURATION),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spine_sandbox(**options): keyword options for the spine_sandbox fixture's Sandbox",
    )


def _ini_run_duration(config: pytest.Config) -> float | None:
    from spine.testing._server._config import parse_duration

    try:
        value = config.getini(_INI_RUN_DURATION)
    except ValueError:  # the plugin's fixtures imported by a conftest, its hooks not loaded
        return DEFAULT_RUN_DURATION
    try:
        duration = parse_duration(str(value), _INI_RUN_DURATION, text=True)
    except ValueError:
        duration = -1.0
    if duration is not None and not (math.isfinite(duration) and duration >= 0):
        raise pytest.UsageError(
            f"{_INI_RUN_DURATION} must be a number of seconds (>= 0) or 'manual', not {value!r}"
        )
    return duration


@pytest.fixture
def spine_sandbox_options() -> dict[str, Any]:
    """Keyword arguments for every ``spine_sandbox`` of the suite: override this fixture in a
    ``conftest.py`` (a ``spine_sandbox`` marker still wins). Empty by default."""
    return {}


@pytest.fixture
def spine_sandbox(
    request: pytest.FixtureRequest, spine_sandbox_options: dict[str, Any]
) -> Iterator[Sandbox]:
    """A running Spine sandbox (see ``spine.testing.Sandbox``), stopped after the test.

    Its options, each source overriding the one before: ``run_duration`` from the
    ``spine_sandbox_run_duration`` ini option (default 0.2 s), the ``spine_sandbox_options``
    fixture, the ``spine_sandbox`` marker's keyword arguments.
    """
    from spine.testing._server._sandbox import Sandbox

    options: dict[str, Any] = {"run_duration": _ini_run_duration(request.config)}
    options.update(spine_sandbox_options)
    marker = request.node.get_closest_marker("spine_sandbox")
    if marker is not None:
        options.update(marker.kwargs)
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


@contextlib.asynccontextmanager
async def _open_async_client(sandbox: Sandbox) -> AsyncIterator[Any]:
    spine = importlib.import_module("spine")
    client = spine.AsyncSpineClient(api_key=sandbox.api_key, base_url=sandbox.url)
    try:
        yield client
    finally:
        await client.aclose()


def _asyncio_fixture(name: str) -> Callable[[_F], _F]:
    """``pytest_asyncio.fixture`` when pytest-asyncio is installed (strict mode runs only the
    async fixtures marked so), else a plain fixture that nothing will ask for."""
    try:
        pytest_asyncio = importlib.import_module("pytest_asyncio")
    except ImportError:
        return cast("Callable[[_F], _F]", pytest.fixture(name=name))
    return cast("Callable[[_F], _F]", pytest_asyncio.fixture(name=name))


@pytest.fixture(name="_spine_async_client_anyio")
async def _async_client_for_anyio(spine_sandbox: Sandbox) -> AsyncIterator[Any]:
    """``async_spine_client`` for tests run by anyio (use ``async_spine_client``)."""
    async with _open_async_client(spine_sandbox) as client:
        yield client


@_asyncio_fixture("_spine_async_client_asyncio")
async def _async_client_for_asyncio(spine_sandbox: Sandbox) -> AsyncIterator[Any]:
    """``async_spine_client`` for tests run by pytest-asyncio (use ``async_spine_client``)."""
    async with _open_async_client(spine_sandbox) as client:
        yield client


@pytest.fixture
def async_spine_client(request: pytest.FixtureRequest) -> Any:
    """A ``spine.AsyncSpineClient`` for the sandbox, opened and closed in the test's event
    loop, under anyio or pytest-asyncio (strict or auto mode)."""
    asyncio_plugin = request.config.pluginmanager.hasplugin("asyncio")
    asyncio_runs = asyncio_plugin and request.node.get_closest_marker("asyncio") is not None
    anyio_runs = request.node.get_closest_marker("anyio") is not None
    if asyncio_runs and anyio_runs:
        # Both plugins would run this test, each with its own event loop: the client would be
        # opened in one loop and closed after that loop is gone (an error at teardown).
        raise pytest.UsageError(
            "async_spine_client: this test is marked @pytest.mark.anyio and pytest-asyncio"
            " runs it too (asyncio_mode = auto marks every async test, or it is also marked"
            " @pytest.mark.asyncio), so two event loops would share one client. Use"
            " pytest-asyncio's strict mode (asyncio_mode = strict, its default) for anyio"
            " tests, or drop @pytest.mark.anyio and let pytest-asyncio run the test."
        )
    if asyncio_runs:
        # pytest-asyncio runs this test: marked, or any async test in auto mode (where it
        # also takes tests marked for anyio).
        return request.getfixturevalue("_spine_async_client_asyncio")
    if "anyio_backend" in request.fixturenames:
        return request.getfixturevalue("_spine_async_client_anyio")
    if asyncio_plugin:
        return request.getfixturevalue("_spine_async_client_asyncio")
    raise pytest.UsageError(
        "async_spine_client is an async fixture and no plugin here runs async tests: mark the"
        " test @pytest.mark.anyio (anyio's plugin, installed with httpx), or install"
        " pytest-asyncio and mark it @pytest.mark.asyncio"
    )
