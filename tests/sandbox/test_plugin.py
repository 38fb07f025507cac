"""The pytest plugin's fixtures, and the real SDK driving the sandbox end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
import pytest

from spine.testing import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def test_spine_sandbox_fixture(spine_sandbox: Sandbox) -> None:
    response = httpx.get(spine_sandbox.url + "/_sandbox/health")
    assert response.status_code == 200
    assert spine_sandbox.api_key == "sk_spine_sandbox"


@pytest.mark.spine_sandbox(api_keys=["sk_spine_marker"], run_duration=None)
def test_marker_configures_the_sandbox(spine_sandbox: Sandbox) -> None:
    assert spine_sandbox.api_key == "sk_spine_marker"
    created = httpx.post(spine_sandbox.url + "/v1/run", data={"prompt": "x"},
                         headers={"X-API-KEY": "sk_spine_marker"})
    run_id = created.json()["data"]["run_id"]
    spine_sandbox.advance(10_000)
    assert spine_sandbox.run_status(run_id) == "running"  # manual mode


def _sdk() -> Any:
    try:
        import spine

        return spine if hasattr(spine, "SpineClient") else None
    except ImportError:  # pragma: no cover - the SDK is built alongside
        return None


needs_sdk = pytest.mark.skipif(_sdk() is None, reason="spine.SpineClient is not available")


@needs_sdk
@pytest.mark.spine_sandbox(run_duration=0.3)
def test_spine_client_fixture_end_to_end(spine_client: Any, spine_sandbox: Sandbox,
                                         tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    data.write_bytes(b"region,revenue\nnorth,1\n")
    handle = spine_client.runs.create("Summarise the sales data", template="excel",
                                      files=[data])
    result = handle.wait(poll_interval=0.05, timeout=30)
    assert "Summarise the sales data" in result.final_output
    assert result.artifacts and result.artifacts[0].type == "xlsx"
    assert spine_sandbox.runs_created == 1
    assert spine_sandbox.uploads(handle.run_id)[0].filename == "sales.csv"
    create = next(r for r in spine_sandbox.requests if r.method == "POST")
    assert create.user_agent and "spine" in create.user_agent.lower()
    assert create.idempotency_key  # the SDK sends one on every create
    dag = spine_client.canvas.get_dag(handle.canvas_id or handle.refresh().canvas_id)
    assert {n.type for n in dag.nodes} >= {"prompt-block", "file-block", "excel-block"}


@needs_sdk
@pytest.mark.spine_sandbox(run_duration=None)
def test_readme_example_failed_run(spine_client: Any, spine_sandbox: Sandbox) -> None:
    spine = _sdk()
    run = spine_client.runs.create("Anything")
    spine_sandbox.complete(run.run_id, outcome="failed")
    with pytest.raises(spine.RunFailedError):
        run.wait(poll_interval=0.01)


@needs_sdk
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.spine_sandbox(run_duration=0.2)
async def test_async_spine_client_fixture(async_spine_client: Any,
                                          spine_sandbox: Sandbox) -> None:
    handle = await async_spine_client.runs.create("Write a short memo", template="memo")
    result = await handle.wait(poll_interval=0.05, timeout=30)
    assert result.artifacts[0].type == "docx"
    assert spine_sandbox.runs_created == 1


def _plugin_args() -> list[str]:
    """Load the plugin by name when the package (and its pytest11 entry point) is not
    installed; installed, pytest loads it on its own."""
    installed = any(e.name == "spine" and e.value == "spine.testing.pytest_plugin"
                    for e in entry_points(group="pytest11"))
    return [] if installed else ["-p", "spine.testing.pytest_plugin"]


def run_user_project(project: Path, files: dict[str, str], *args: str
                     ) -> subprocess.CompletedProcess[str]:
    """Write a small user project into ``project`` and run pytest on it in a fresh process,
    with unraisable and thread exceptions as errors (a client closed on a loop that is gone
    shows up as one)."""
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(textwrap.dedent(text))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *_plugin_args(),
         "-W", "error::pytest.PytestUnraisableExceptionWarning",
         "-W", "error::pytest.PytestUnhandledThreadExceptionWarning",
         "-p", "no:cacheprovider", *args, str(project)],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


# A user's tests: the sync and async fixtures side by side, each awaiting a real run.
_ASYNC_TEST_BODY = """
    handle = await async_spine_client.runs.create("Write a short memo", template="memo")
    result = await handle.wait(poll_interval=0.02, timeout=30)
    assert "Write a short memo" in result.final_output
    assert result.artifacts[0].type == "docx"
    assert spine_sandbox.runs_created == 1
"""


def _async_test(decorators: str, name: str) -> str:
    return (f"{decorators}\nasync def {name}(async_spine_client, spine_sandbox):"
            + textwrap.indent(textwrap.dedent(_ASYNC_TEST_BODY), "    "))


_SYNC_TEST = """
def test_sync_client(spine_client):
    assert spine_client.runs.create("x").wait(poll_interval=0.02).final_output
"""


@pytest.mark.slow
def test_async_fixture_under_pytest_asyncio_strict_mode(tmp_path: Path) -> None:
    """pytest-asyncio's default (strict) mode runs only async fixtures it is told about: the
    plugin's async client must be one of them, not "an async fixture with no plugin"."""
    pytest.importorskip("pytest_asyncio")
    result = run_user_project(tmp_path, {
        "pytest.ini": """
            [pytest]
            asyncio_mode = strict
            asyncio_default_fixture_loop_scope = function
        """,
        "test_user.py": "import pytest\n"
        + _async_test("@pytest.mark.asyncio", "test_marked")
        + _async_test("@pytest.mark.asyncio(loop_scope='function')", "test_marked_again")
        + _SYNC_TEST,
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.slow
def test_async_fixture_under_pytest_asyncio_auto_mode(tmp_path: Path) -> None:
    pytest.importorskip("pytest_asyncio")
    result = run_user_project(tmp_path, {
        "pytest.ini": """
            [pytest]
            asyncio_mode = auto
            asyncio_default_fixture_loop_scope = function
        """,
        "test_user.py": _async_test("", "test_unmarked") + _SYNC_TEST,
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


_ANYIO_PROJECT = {
    "test_user.py": textwrap.dedent("""
        import pytest

        @pytest.fixture(params=["asyncio"])
        def anyio_backend(request):
            return request.param
    """) + _async_test("@pytest.mark.anyio", "test_anyio") + _SYNC_TEST,
}


@pytest.mark.slow
@pytest.mark.parametrize("asyncio_plugin", ["with pytest-asyncio", "without pytest-asyncio"])
def test_async_fixture_under_anyio(tmp_path: Path, asyncio_plugin: str) -> None:
    """anyio runs the test and the client's setup and teardown on one loop, whether
    pytest-asyncio (strict) is installed beside it or not."""
    if asyncio_plugin == "with pytest-asyncio":
        pytest.importorskip("pytest_asyncio")
        files = {**_ANYIO_PROJECT, "pytest.ini": """
            [pytest]
            asyncio_default_fixture_loop_scope = function
        """}
        args: tuple[str, ...] = ()
    else:
        files = {**_ANYIO_PROJECT, "pytest.ini": "[pytest]\n"}
        args = ("-p", "no:asyncio")
    result = run_user_project(tmp_path, files, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.slow
def test_anyio_test_under_pytest_asyncio_auto_mode_fails_at_setup(tmp_path: Path) -> None:
    """With asyncio_mode = auto, pytest-asyncio also takes a test marked for anyio: two loops,
    one client. The fixture refuses at setup and says to use strict mode (it used to pass and
    then error at teardown with "Event loop is closed")."""
    pytest.importorskip("pytest_asyncio")
    result = run_user_project(tmp_path, {**_ANYIO_PROJECT, "pytest.ini": """
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
    """})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "RuntimeError: Event loop is closed" not in output, output
    assert "asyncio_mode = strict" in output and "UsageError" in output, output
    assert "1 passed" in output  # the sync test beside it is unaffected


@pytest.mark.slow
def test_async_fixture_without_an_async_plugin_says_what_to_do(tmp_path: Path) -> None:
    result = run_user_project(tmp_path, {
        "pytest.ini": "[pytest]\n",
        "test_user.py": """
            def test_no_runner(async_spine_client):
                pass
        """,
    }, "-p", "no:asyncio", "-p", "no:anyio")
    assert result.returncode != 0
    assert "mark the test @pytest.mark.anyio" in result.stdout + result.stderr


def test_fixture_runs_are_fast_by_default(spine_sandbox: Sandbox) -> None:
    """Without any configuration a fixture's run ends well under a second after creation
    (the sandbox's clock is moved, not waited for)."""
    created = httpx.post(spine_sandbox.url + "/v1/run", data={"prompt": "x"},
                         headers={"X-API-KEY": spine_sandbox.api_key})
    run_id = created.json()["data"]["run_id"]
    spine_sandbox.advance(0.5)
    assert spine_sandbox.run_status(run_id) == "completed"


@needs_sdk
def test_fixture_client_waits_briefly_by_default(spine_client: Any) -> None:
    """The quickest form a user writes, ``wait(poll_interval=...)`` aside, returns as soon as
    the short default run ends."""
    handle = spine_client.runs.create("Quick")
    result = handle.wait(poll_interval=0.05, timeout=5)
    assert result.final_output


_DURATION_PROBE = """
import pytest

def _create(sandbox):
    import httpx
    answer = httpx.post(sandbox.url + "/v1/run", data={{"prompt": "x"}},
                        headers={{"X-API-KEY": sandbox.api_key}})
    return answer.json()["data"]["run_id"]

def test_{name}(spine_sandbox):
    run_id = _create(spine_sandbox)
    spine_sandbox.advance({before})
    assert spine_sandbox.run_status(run_id) == "running"
    spine_sandbox.advance({after})
    assert spine_sandbox.run_status(run_id) == "{end}"
"""


@pytest.mark.slow
def test_run_duration_is_set_suite_wide_in_one_place(tmp_path: Path) -> None:
    """The ini option sets every fixture sandbox's run duration; a conftest's
    ``spine_sandbox_options`` fixture wins over it for its folder, and a marker over both."""
    result = run_user_project(tmp_path, {
        "pytest.ini": """
            [pytest]
            spine_sandbox_run_duration = 30
        """,
        "tests_ini/test_ini.py": _DURATION_PROBE.format(
            name="ini", before=29, after=2, end="completed"),
        "tests_conftest/conftest.py": """
            import pytest

            @pytest.fixture
            def spine_sandbox_options():
                return {"run_duration": 7, "tasks": 3}
        """,
        "tests_conftest/test_conftest.py": _DURATION_PROBE.format(
            name="conftest", before=6, after=2, end="completed"),
        "tests_marker/test_marker.py": "import pytest\npytestmark ="
        " pytest.mark.spine_sandbox(run_duration=None)\n" + _DURATION_PROBE.format(
            name="marker", before=100, after=10_000, end="running"),
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.slow
def test_run_duration_ini_option_refuses_nonsense(tmp_path: Path) -> None:
    result = run_user_project(tmp_path, {
        "pytest.ini": "[pytest]\nspine_sandbox_run_duration = soon\n",
        "test_user.py": "def test_x(spine_sandbox):\n    pass\n",
    })
    assert result.returncode != 0
    assert "spine_sandbox_run_duration must be a number of seconds" in (
        result.stdout + result.stderr)


@pytest.mark.slow
def test_plugin_loads_by_name_in_a_fresh_pytest(tmp_path: Path) -> None:
    """A clean pytest session gets the fixtures and the marker from the plugin: through the
    ``pytest11`` entry point when the package is installed, else loaded by name with ``-p``."""
    (tmp_path / "test_uses_plugin.py").write_text(textwrap.dedent(
        """
        import httpx
        import pytest

        def test_fixture(spine_sandbox):
            assert httpx.get(spine_sandbox.url + "/_sandbox/health").status_code == 200

        @pytest.mark.spine_sandbox(api_keys=["sk_spine_x"])
        def test_marker(spine_sandbox):
            assert spine_sandbox.api_key == "sk_spine_x"
        """
    ))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    installed = any(e.name == "spine" and e.value == "spine.testing.pytest_plugin"
                    for e in entry_points(group="pytest11"))
    load = [] if installed else ["-p", "spine.testing.pytest_plugin"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *load,
         "--strict-markers", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
