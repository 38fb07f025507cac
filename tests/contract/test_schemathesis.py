"""Wire contract: schemathesis fuzzes the sandbox with openapi.yaml (examples, coverage,
fuzzing and stateful phases, every check): no server errors, status codes, content types,
headers and bodies as the spec says, schema-violating input rejected, valid input accepted."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spine.testing import Sandbox

from ._spec import SPEC_PATH


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.5) as sb:
        yield sb


def _st() -> list[str]:
    exe = shutil.which("st", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "schemathesis.cli"]


@pytest.mark.timeout(300)
def test_sandbox_conforms_to_openapi_yaml(sandbox: Sandbox, tmp_path: Path) -> None:
    cmd = [
        *_st(),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        str(SPEC_PATH),
        "--url",
        sandbox.url,
        "--header",
        f"X-API-KEY: {sandbox.api_key}",
        "--max-examples",
        "25",
        "--seed",
        "20261122",
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--report-dir",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=280)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "generated" in output  # it really ran test cases
    assert sandbox.runs_created > 0  # and reached the create endpoint
