"""The config file, the ``--fault`` shorthand, and the command line in a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from spine.testing import Sandbox
from spine.testing._server._config import load_config, parse_fault_spec, parse_size

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
port = 0
api_keys = ["sk_spine_dev", "sk_spine_ci"]
run_duration = 0.5
tasks = 6
max_file_size = "2KiB"
canvas_id_after_polls = 1
outcomes = ["partial"]

[[faults]]
method = "POST"
path = "/v1/run"
status = 429
retry_after = 7

[[faults]]
path = "/v1/canvas/*"
status = 503
times = "forever"
headers = { X-Why = "maintenance" }
"""


def test_load_config(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.toml"
    path.write_text(CONFIG)
    options = load_config(path)
    assert options["api_keys"] == ["sk_spine_dev", "sk_spine_ci"]
    assert options["max_file_size"] == 2048
    assert options["run_duration"] == 0.5
    assert options["faults"][1]["times"] is None
    with Sandbox.from_config(path) as box:
        assert box.api_key == "sk_spine_dev"
        headers = {"X-API-KEY": "sk_spine_ci"}
        limited = httpx.post(box.url + "/v1/run", data={"prompt": "x"}, headers=headers)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
        created = httpx.post(box.url + "/v1/run", data={"prompt": "x"}, headers=headers)
        assert "canvas_id" not in created.json()["data"]
        box.advance(1)
        poll_url = box.url + created.json()["data"]["poll_url"]
        first = httpx.get(poll_url, headers=headers).json()
        assert first["data"]["status"] == "partial"
        assert "canvas_id" not in first["data"]  # hidden on the first poll
        run = httpx.get(poll_url, headers=headers).json()
        canvas = httpx.get(f"{box.url}/v1/canvas/{run['data']['canvas_id']}/dag", headers=headers)
        assert canvas.status_code == 503 and canvas.headers["x-why"] == "maintenance"


def test_config_sandbox_table_and_manual(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.toml"
    path.write_text('[sandbox]\nrun_duration = "manual"\n')
    assert load_config(path) == {"run_duration": None}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("port = 'eighty'\n", "port has the wrong type"),
        ("[[faults]]\nstatus = 500\nsparkle = true\n", "unknown key 'sparkle'"),
        ("[[faults]]\nstatus = 500\ntimes = 'often'\n", "times must be a number or 'forever'"),
        ("max_file_size = 'huge'\n", "not a size"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_parse_size() -> None:
    assert parse_size(10) == 10
    assert parse_size("50MiB") == 50 * 1024 * 1024
    assert parse_size("1.5 KiB") == 1536
    assert parse_size("10MB") == 10_000_000


def test_parse_fault_spec() -> None:
    assert parse_fault_spec("POST /v1/run status=429 retry_after=2 times=1") == {
        "method": "POST", "path": "/v1/run", "status": 429, "retry_after": 2, "times": 1,
    }
    assert parse_fault_spec("/v1/run/* drop=after times=forever") == {
        "path": "/v1/run/*", "drop": "after", "times": None,
    }
    spec = parse_fault_spec("* status=503 'error=Down for maintenance' header.X-A=1 delay=0.5")
    assert spec == {"path": "*", "status": 503, "error": "Down for maintenance",
                    "headers": {"X-A": "1"}, "delay": 0.5}
    with pytest.raises(ValueError):
        parse_fault_spec("POST /v1/run 42")


# ------------------------------------------------------------------ subprocess


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def serve() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _url_of(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("Spine sandbox listening on "):
        stderr = proc.stderr.read() if proc.stderr else ""
        pytest.fail(f"the sandbox did not start: {line!r} {stderr}")
    return line.split()[-1]


def test_cli_serves_and_stops_on_ctrl_c(serve: list[subprocess.Popen[str]]) -> None:
    began = time.perf_counter()
    proc = _spawn("-m", "spine.testing", "--port", "0", "--run-duration", "0", "-v")
    serve.append(proc)
    url = _url_of(proc)
    assert time.perf_counter() - began < 10  # interpreter start included
    created = httpx.post(url + "/v1/run", data={"prompt": "from the CLI"},
                         headers={"X-API-KEY": "sk_spine_sandbox"})
    assert created.status_code == 200
    run = httpx.get(url + created.json()["data"]["poll_url"],
                    headers={"X-API-KEY": "sk_spine_sandbox"}).json()["data"]
    assert run["status"] == "completed"
    art = run["result"]["artifacts"][0]
    assert len(httpx.get(art["download_url"]).content) == art["size_bytes"]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Spine sandbox stopped." in out
    assert "POST /v1/run -> 200" in err  # -v logs requests...
    assert "sk_spine_sandbox" not in err  # ...but never the key


def test_spine_cli_sandbox_with_config_and_faults(
    tmp_path: Path, serve: list[subprocess.Popen[str]]
) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text('api_keys = ["sk_spine_cfg"]\n')
    proc = _spawn("-m", "spine.cli", "sandbox", "--port", "0", "--config", str(config),
                  "--fault", "POST /v1/run status=503 retry_after=1", "--outcome", "failed",
                  "--api-key", "sk_spine_cli")
    serve.append(proc)
    url = _url_of(proc)
    headers = {"X-API-KEY": "sk_spine_cli"}
    assert httpx.post(url + "/v1/run", data={"prompt": "x"}, headers=headers).status_code == 503
    assert httpx.post(url + "/v1/run", data={"prompt": "x"}, headers=headers).status_code == 200
    denied = httpx.post(url + "/v1/run", data={"prompt": "x"},
                        headers={"X-API-KEY": "sk_spine_cfg"})
    assert denied.status_code == 401  # --api-key replaces the config's keys
    proc.terminate()
    proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_cli_reads_a_config_exactly_as_from_config(
    tmp_path: Path, serve: list[subprocess.Popen[str]]
) -> None:
    """One loader for both entry points: faults (``times = "forever"``, headers, Retry-After)
    and every other key behave the same whether the file is served by ``spine sandbox
    --config`` or built with ``Sandbox.from_config``."""
    config = tmp_path / "sandbox.toml"
    config.write_text(CONFIG)
    canvas = "/v1/canvas/3c90c3cc-0d44-4b50-8888-8dd25736052a/dag"
    headers = {"X-API-KEY": "sk_spine_ci"}

    def observe(url: str) -> list[tuple[int, str | None, str | None]]:
        seen = []
        for _ in range(3):
            answer = httpx.get(url + canvas, headers=headers)
            seen.append((answer.status_code, answer.headers.get("x-why"), None))
        create = httpx.post(url + "/v1/run", data={"prompt": "x"}, headers=headers)
        seen.append((create.status_code, None, create.headers.get("retry-after")))
        return seen

    with Sandbox.from_config(config) as box:
        expected = observe(box.url)
    assert expected[0] == (503, "maintenance", None) and expected[-1] == (429, None, "7")
    proc = _spawn("-m", "spine.cli", "sandbox", "--config", str(config))
    serve.append(proc)
    assert observe(_url_of(proc)) == expected
    proc.terminate()
    proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_cli_reports_bad_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spine.testing", "--fault", "status=999"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 2
    assert "status must be an HTTP status code" in result.stderr


def test_cli_port_in_use(serve: list[subprocess.Popen[str]]) -> None:
    with Sandbox() as box:
        result = subprocess.run(
            [sys.executable, "-m", "spine.testing", "--port", str(box.port)],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True, text=True, timeout=30, check=False,
        )
    assert result.returncode == 1
    assert "cannot serve" in result.stderr


def test_sandbox_main_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from spine.testing._server._main import main

    assert main(["--help"]) == 0
    assert "--run-duration" in capsys.readouterr().out
    assert main(["--port", "not-a-number"]) == 2
    assert main(["--max-file-size", "huge"]) == 2
    assert "not a size" in capsys.readouterr().err


def test_spine_cli_delegates_to_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    from spine.cli import main

    assert main(["sandbox", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: spine sandbox")
    assert "--run-duration" in out


def test_spine_help_is_fast_and_light() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import spine.cli; "
        "heavy = [m for m in ('h11', 'python_multipart', 'spine.testing._server._sandbox') "
        "if m in sys.modules]; print(heavy)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=30, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "[]"


def test_plugin_and_package_import_nothing_heavy() -> None:
    code = (
        "import sys; import spine.testing, spine.testing.pytest_plugin; "
        "print([m for m in ('h11', 'python_multipart', 'spine.testing._server._sandbox', 'httpx') "
        "if m in sys.modules])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=30, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "[]"
