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
