"""What every figure's orchestration shares: paths, interpreters, worker and server processes.

The orchestrator (``python -m benchmarks``) never measures in its own process: each
measurement runs in a worker subprocess under the interpreter being measured, and every server
under test runs in a process of its own, so that neither the orchestrator's nor the server's CPU
is counted against a client.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / ".bench"
WORKERS = Path(__file__).resolve().parent / "workers"
#: The working directory of every subprocess: outside the source tree, so that ``import spine``
#: finds the package installed in the interpreter, never ``./spine``.
SCRATCH = BENCH_DIR / "cwd"

FLAVORS = ("ours", "official", "raw")


@dataclass(frozen=True)
class Pythons:
    """The interpreters: ours (the nox venv, also used for raw httpx) and the official SDK's;
    ``before``, when given (``--before REF``), has this SDK as it was at another commit."""

    ours: str
    official: str
    before: str | None = None

    def for_flavor(self, flavor: str) -> str:
        if flavor == "before":
            assert self.before is not None
            return self.before
        return self.official if flavor == "official" else self.ours

    def flavors(self) -> tuple[str, ...]:
        """The clients of a figure that can also measure this SDK at another commit."""
        return (*FLAVORS, "before") if self.before else FLAVORS


def log(message: str) -> None:
    """Progress on stderr, so that stdout carries only the final table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    """The environment of every subprocess: no PYTHONPATH, no SPINE_* settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "SPINE_")) and k not in {"VIRTUAL_ENV"}
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def run_worker(python: str, script: str, *args: str, timeout: float) -> dict[str, Any]:
    """Run a worker to completion and return the JSON object on its last stdout line."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [python, str(WORKERS / script), *args],
        cwd=SCRATCH,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(
            f"worker {script} {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1])
    return result


class Process:
    """A long-lived worker or server talking one JSON line per answer on stdout."""

    def __init__(self, python: str, script: str, *args: str, ready_timeout: float = 60.0) -> None:
        SCRATCH.mkdir(parents=True, exist_ok=True)
        self.name = f"{script} {' '.join(args)}".strip()
        self._proc = subprocess.Popen(
            [python, str(WORKERS / script), *args],
            cwd=SCRATCH,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump_stdout, daemon=True).start()
        threading.Thread(target=self._pump_stderr, daemon=True).start()
        self.hello = self.read(timeout=ready_timeout)

    def _pump_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            if line.strip():
                self._lines.put(line)
        self._lines.put(None)

    def _pump_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]  # keep the tail only

    @property
    def pid(self) -> int:
        return self._proc.pid

    def read(self, timeout: float) -> dict[str, Any]:
        """The next JSON line the process prints (fails after ``timeout`` seconds)."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name}: no answer within {timeout:g} s") from None
        if line is None:
            self._proc.wait(timeout=10)
            raise RuntimeError(
                f"{self.name} exited ({self._proc.returncode}):\n{''.join(self._stderr)[-3000:]}"
            )
        answer: dict[str, Any] = json.loads(line)
        return answer

    def send(self, command: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()

    def ask(self, command: str, timeout: float = 60.0) -> dict[str, Any]:
        self.send(command)
        return self.read(timeout)

    def close(self) -> None:
        """Ask it to quit; terminate it (this process only, by its pid) if it does not."""
        if self._proc.poll() is None:
            try:
                self.send("quit")
                self._proc.stdin.close()  # type: ignore[union-attr]
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=5)

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SandboxServer(Process):
    """The sandbox (``spine.testing.Sandbox``) serving in a process of its own."""

    def __init__(
        self, python: str, *, run_duration: str = "manual", max_file_size: int = 0, cpu: int = -1
    ) -> None:
        args = ["--run-duration", run_duration, "--cpu", str(cpu)]
        if max_file_size:
            args += ["--max-file-size", str(max_file_size)]
        super().__init__(python, "serve_sandbox.py", *args)
        self.url: str = self.hello["url"]
        self.api_key: str = self.hello["api_key"]


class SinkServer(Process):
    """The upload sink (``workers/sink.py``) serving in a process of its own."""

    def __init__(self, python: str, *, cpu: int = -1) -> None:
        super().__init__(python, "sink.py", "--cpu", str(cpu))
        self.url: str = self.hello["url"]
        self.api_key = "sk_spine_bench"


def create_run_raw(url: str, api_key: str, prompt: str = "benchmark run") -> str:
    """Create one run with plain httpx (setup, not measured) and return its id."""
    import httpx

    with httpx.Client(base_url=url, timeout=30) as http:
        response = http.post(
            "/v1/run",
            headers={"X-API-KEY": api_key},
            files={"prompt": (None, prompt.encode()), "template": (None, b"auto")},
        )
        response.raise_for_status()
        run_id: str = response.json()["data"]["run_id"]
        return run_id
