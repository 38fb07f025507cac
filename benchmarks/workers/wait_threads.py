"""Worker: many threads sharing one sync client, each waiting on its own run.

Starts ``--threads`` threads once (a pool that lives as long as the worker) and prints
``{"ready": ...}``. Then, per round, two commands from the orchestrator:

* ``create``: create ``--threads`` runs with this flavor's client, one after the other (setup,
  not measured), and print ``{"created": N}``;
* ``go`` (sent once the orchestrator has cleared the sandbox's request log): every thread
  waits on its own run at once, on the one shared client; the worker prints the CPU time of
  the whole process (``time.process_time``, all threads) and the wall time of the wait, and
  the errors.

``ours`` and ``official``: one ``spine.SpineClient(...)``; ``handle.wait(timeout=,
poll_interval=, max_poll_interval=)`` in each thread. ``raw``: one ``httpx.Client`` with
httpx's default limits (what a caller gets from ``httpx.Client()``) and the loop a caller would
write by hand: GET, parse the JSON, stop at a terminal status, else sleep the same doubling
interval.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _util import commands, emit, pin_to_cpu, sdk_version

TERMINAL = {"completed", "partial", "failed"}


class Sdk:
    def __init__(self, args: argparse.Namespace) -> None:
        import spine

        self.args = args
        self.client = spine.SpineClient(api_key=args.api_key, base_url=args.url)
        self.handles: list[Any] = []

    def create(self, count: int) -> None:
        self.handles = [self.client.runs.create(f"benchmark run {i}") for i in range(count)]

    def waiters(self) -> list[Callable[[], object]]:
        a = self.args

        def waiter(handle: Any) -> Callable[[], object]:
            return lambda: handle.wait(
                timeout=a.timeout, poll_interval=a.poll_interval,
                max_poll_interval=a.max_poll_interval,
            )

        return [waiter(h) for h in self.handles]


class Raw:
    def __init__(self, args: argparse.Namespace) -> None:
        import httpx

        self.args = args
        self.http = httpx.Client(
            base_url=args.url + "/v1",
            headers={"X-API-KEY": args.api_key, "Accept": "application/json"},
            timeout=60.0,
        )
        self.run_ids: list[str] = []

    def create(self, count: int) -> None:
        ids = []
        for i in range(count):
            response = self.http.post(
                "/run", files={"prompt": (None, f"benchmark run {i}".encode())}
            )
            response.raise_for_status()
            ids.append(response.json()["data"]["run_id"])
        self.run_ids = ids

    def wait(self, run_id: str) -> object:
        a = self.args
        deadline = time.monotonic() + a.timeout
        interval = a.poll_interval
        while True:
            response = self.http.get(f"/run/{run_id}")
            response.raise_for_status()
            data = response.json()["data"]
            if data["status"] in TERMINAL:
                if data["status"] == "failed":
                    raise RuntimeError(f"run {run_id} failed")
                return data["result"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"run {run_id} did not finish in time")
            time.sleep(min(interval, left))
            interval = min(interval * 2, a.max_poll_interval)

    def waiters(self) -> list[Callable[[], object]]:
        return [lambda r=r: self.wait(r) for r in self.run_ids]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavor", choices=["ours", "official", "raw"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--poll-interval", type=float, default=0.25)
    parser.add_argument("--max-poll-interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--cpu", type=int, default=-1)
    args = parser.parse_args()
    if args.cpu >= 0:
        pin_to_cpu(args.cpu)

    client: Sdk | Raw = Raw(args) if args.flavor == "raw" else Sdk(args)
    pool = ThreadPoolExecutor(max_workers=args.threads)
    # Start every thread now, so that no round pays for starting them.
    barrier = threading.Barrier(args.threads)
    for future in [pool.submit(barrier.wait) for _ in range(args.threads)]:
        future.result()
    emit({"ready": True, "version": sdk_version(args.flavor)})

    for command in commands():
        if command == "create":
            client.create(args.threads)
            emit({"created": args.threads})
        elif command == "go":
            waiters = client.waiters()
            wall0, cpu0 = time.perf_counter(), time.process_time()
            futures = [pool.submit(w) for w in waiters]
            errors = [f.exception() for f in futures]
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            failed = [e for e in errors if e is not None]
            emit({"runs": len(futures), "errors": len(failed),
                  "first_error": repr(failed[0]) if failed else None,
                  "cpu_s": cpu, "wall_s": wall})
        else:
            emit({"error": f"unknown command {command!r}"})
    pool.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
