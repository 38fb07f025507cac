"""Helpers shared by the worker scripts (standard library only).

Workers run as plain scripts (``python benchmarks/workers/NAME.py``) under the interpreter being
measured: the nox venv's for this SDK and raw httpx, ``.bench/official``'s for the official
``spine-sdk``. Running them as scripts keeps the repository root off ``sys.path``, so ``import
spine`` always means the package installed in that interpreter, never the source tree.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

MiB = 1024 * 1024


def emit(payload: dict[str, Any]) -> None:
    """Write one JSON line to stdout (the orchestrator reads one line per answer)."""
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def commands() -> Any:
    """The orchestrator's commands, one per stdin line, until ``quit`` or end of input."""
    for line in sys.stdin:
        command = line.strip()
        if not command:
            continue
        if command == "quit":
            return
        yield command


def memory_kib() -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (peak resident) of this process, in KiB."""
    with open("/proc/self/status") as status:
        text = status.read()
    out = {}
    for key in ("VmRSS", "VmHWM"):
        match = re.search(rf"^{key}:\s+(\d+)\s+kB", text, re.MULTILINE)
        out[key] = int(match.group(1)) if match else 0
    return out


def reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux ``clear_refs`` 5); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def pin_to_cpu(index: int) -> None:
    """Run this process on one CPU (``index`` modulo the CPUs available), when allowed.

    The clients share one CPU and the server gets another, so that a client's CPU time is not
    disturbed by migrations between cores or by the server's work."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[index % len(cpus)]})
    except (AttributeError, OSError):
        pass


def sdk_version(flavor: str) -> str:
    """The version of what a flavor measures (the SDK's, or httpx's for raw)."""
    from importlib import metadata

    if flavor == "raw":
        return "httpx " + metadata.version("httpx")
    if flavor == "official":
        return "spine-sdk " + metadata.version("spine-sdk")
    return "spine-python " + metadata.version("spine-python")
