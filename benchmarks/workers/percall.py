"""Worker: the client-side CPU of ``runs.get(run_id)`` for one SDK, paired with raw httpx.

``--flavor ours`` or ``official`` selects which ``spine`` this interpreter has (the nox venv's
or ``.bench/official``'s); the SDK call is ``spine.SpineClient(...).runs.get(run_id)``. The raw
httpx call sends the same request with a plain ``httpx.Client`` and parses the JSON
(``response.json()["data"]``), the least a caller without an SDK does. Each client is built
once, so every call reuses its one keep-alive connection.

After a warm-up it prints ``{"ready": ...}``. For each stdin line ``N`` it makes N SDK calls
and N raw calls, alternating in batches of ``BATCH`` (which side goes first alternates too),
and prints the CPU time (``time.process_time``) and wall time spent in each: noise from the
rest of the machine lands on both sides of the difference alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from _util import commands, emit, pin_to_cpu, sdk_version

WARMUP_CALLS = 300
BATCH = 10
MAX_CALLS = 100_000


def sdk_call(url: str, api_key: str, run_id: str) -> Callable[[], object]:
    import spine

    client = spine.SpineClient(api_key=api_key, base_url=url)

    def call() -> object:
        return client.runs.get(run_id).status

    return call


def raw_call(url: str, api_key: str, run_id: str) -> Callable[[], object]:
    import httpx

    http = httpx.Client(
        base_url=url + "/v1",
        headers={
            "X-API-KEY": api_key,
            "Accept": "application/json",
            "User-Agent": "bench-raw-httpx",
        },
        timeout=60.0,
    )
    path = f"/run/{run_id}"

    def call() -> object:
        response = http.get(path)
        response.raise_for_status()
        return response.json()["data"]["status"]

    return call


def timed(call: Callable[[], object], count: int) -> tuple[float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(count):
        call()
    return time.process_time() - cpu0, time.perf_counter() - wall0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavor", choices=["ours", "official"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--cpu", type=int, default=-1, help="pin to this CPU (-1: no)")
    args = parser.parse_args()
    if args.cpu >= 0:
        pin_to_cpu(args.cpu)

    calls = {
        "sdk": sdk_call(args.url, args.api_key, args.run_id),
        "raw": raw_call(args.url, args.api_key, args.run_id),
    }
    for name, call in calls.items():
        status = call()
        if getattr(status, "value", status) != "running":
            raise SystemExit(f"{name}: expected a running run, got {status!r}")
        timed(call, WARMUP_CALLS)
    emit({"ready": True, "version": sdk_version(args.flavor), "raw": sdk_version("raw")})

    for command in commands():
        count = min(int(command), MAX_CALLS)
        cpu = {"sdk": 0.0, "raw": 0.0}
        wall = {"sdk": 0.0, "raw": 0.0}
        done = 0
        while done < count:
            batch = min(BATCH, count - done)
            order = ("sdk", "raw") if (done // BATCH) % 2 == 0 else ("raw", "sdk")
            for name in order:
                c, w = timed(calls[name], batch)
                cpu[name] += c
                wall[name] += w
            done += batch
        emit({"calls": count, "cpu_s": cpu, "wall_s": wall})
    return 0


if __name__ == "__main__":
    sys.exit(main())
