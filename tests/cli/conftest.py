"""Drive the installed ``spine`` console script as a subprocess.

A :class:`~spine.testing.Sandbox` runs in the test process and the child gets its URL and key
through ``SPINE_BASE_URL`` / ``SPINE_API_KEY``. Every invocation is checked for two things
whatever the test: the API key never appears in stdout or stderr, and there is no traceback
unless ``--debug`` was given.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import spine
from spine.testing import Sandbox

KEY = "sk_spine_cli_SECRET_0123456789abcdef"
RUN_DURATION = 0.6
FAST = ("--poll-interval", "0.1")
"""Poll the sandbox often: its runs last RUN_DURATION seconds, not minutes."""


@pytest.fixture(autouse=True, scope="session")
def _private_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`spine run` records into the user's ledger by default: the commands these tests start
    record into a folder of the test session instead (children inherit the environment)."""
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg"))
    yield
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


def spine_command() -> list[str]:
    """The console script installed next to this interpreter (``python -m spine`` if absent)."""
    script = shutil.which("spine", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "spine"]


_DATA_HOME = tempfile.mkdtemp(prefix="spine-cli-tests-")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINE_")}
    env.pop("NO_COLOR", None)
    env["PYTHONIOENCODING"] = "utf-8"
    # The commands record runs in a ledger by default: in a folder of the tests' own, never
    # in the user's data folder (a test may still name its own XDG_DATA_HOME or ledger).
    env["XDG_DATA_HOME"] = _DATA_HOME
    env.update(extra or {})
    return env


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    args: Sequence[str]

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if ": error: " in line]


def run_spine(
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> Result:
    proc = subprocess.run(
        [*spine_command(), *args],
        env=child_env(env),
        input=input,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    result = Result(proc.returncode, proc.stdout, proc.stderr, args)
    check_output(result, secrets=[KEY, *(v for k, v in (env or {}).items() if "KEY" in k)])
    return result


def check_output(result: Result, secrets: Sequence[str]) -> None:
    for secret in secrets:
        if secret:
            assert secret not in result.stdout, f"key leaked on stdout by {result.args}"
            assert secret not in result.stderr, f"key leaked on stderr by {result.args}"
    if "--debug" not in result.args:
        assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_duration=RUN_DURATION, api_keys=[KEY]) as box:
        yield box


@pytest.fixture(scope="session")
def env(sandbox: Sandbox) -> dict[str, str]:
    return {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": sandbox.url}


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[spine.SpineClient]:
    with spine.SpineClient(api_key=KEY, base_url=sandbox.url) as c:
        yield c


def finished_run(client: spine.SpineClient, prompt: str = "Quarterly memo", **kw: Any) -> str:
    """A run created in-process and waited for; returns its id."""
    handle = client.runs.create(prompt, **kw)
    handle.wait_for_terminal(poll_interval=0.1, max_poll_interval=0.2, timeout=30)
    return handle.run_id
