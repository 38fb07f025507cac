"""Worker: many runs awaited at once in one process, on one async client.

Phase 1 (not measured): create ``--runs`` runs on the sandbox with this flavor's client (at most
``CREATE_CONCURRENCY`` at a time) and print ``{"created": N, "create_s": ...}``. Phase 2 starts
when the orchestrator sends ``go`` (after clearing the sandbox's request log): every run is
awaited concurrently with ``asyncio.gather`` and the worker prints the wall time, the CPU time
of the process, the errors and the peak RSS.

``ours`` and ``official``: ``spine.AsyncSpineClient(...)``, ``await client.runs.create(...)``
and ``await handle.wait(timeout=, poll_interval=, max_poll_interval=)``. ``raw``: a plain
``httpx.AsyncClient`` (the same connection limits as ours: 100 connections, all kept alive)
and the loop a caller would write by hand: GET, parse the JSON, stop at a terminal status,
else sleep the same doubling interval.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _util import emit, memory_kib, pin_to_cpu, sdk_version

TERMINAL = {"completed", "partial", "failed"}
CREATE_CONCURRENCY = 4


async def bounded(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run the calls with at most CREATE_CONCURRENCY in flight (setup, not measured: fewer
    requests in flight than pooled connections keeps the creation phase short)."""
    gate = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return list(await asyncio.gather(*(one(c) for c in calls)))


async def with_sdk(args: argparse.Namespace) -> tuple[list[Callable[[], Awaitable[Any]]], Any]:
    import spine

    client = spine.AsyncSpineClient(api_key=args.api_key, base_url=args.url)
    handles = await bounded(
        [lambda i=i: client.runs.create(f"benchmark run {i}") for i in range(args.runs)]
    )

    def waiter(handle: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: handle.wait(
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            max_poll_interval=args.max_poll_interval,
        )

    return [waiter(h) for h in handles], client


async def with_raw(args: argparse.Namespace) -> tuple[list[Callable[[], Awaitable[Any]]], Any]:
    import httpx

    http = httpx.AsyncClient(
        base_url=args.url + "/v1",
        headers={"X-API-KEY": args.api_key, "Accept": "application/json"},
        timeout=60.0,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
    )

    async def create(i: int) -> str:
        response = await http.post(
            "/run", files={"prompt": (None, f"benchmark run {i}".encode())}
        )
        response.raise_for_status()
        run_id: str = response.json()["data"]["run_id"]
        return run_id

    async def wait(run_id: str) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.timeout
        interval = args.poll_interval
        while True:
            response = await http.get(f"/run/{run_id}")
            response.raise_for_status()
            data = response.json()["data"]
            if data["status"] in TERMINAL:
                if data["status"] == "failed":
                    raise RuntimeError(f"run {run_id} failed")
                return data["result"]
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"run {run_id} did not finish in time")
            await asyncio.sleep(min(interval, left))
            interval = min(interval * 2, args.max_poll_interval)

    run_ids = await bounded([lambda i=i: create(i) for i in range(args.runs)])

    def waiter(run_id: str) -> Callable[[], Awaitable[Any]]:
        return lambda: wait(run_id)

    return [waiter(r) for r in run_ids], http


async def main_async(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    make = with_raw if args.flavor == "raw" else with_sdk
    waiters, client = await make(args)
    emit({"created": len(waiters), "create_s": time.perf_counter() - start,
          "version": sdk_version(args.flavor)})

    # Wait for "go": the orchestrator clears the server's request log first.
    command = await asyncio.to_thread(sys.stdin.readline)
    if command.strip() != "go":
        raise SystemExit(f"expected 'go', got {command!r}")

    rss_before = memory_kib()["VmRSS"]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    results = await asyncio.gather(*(w() for w in waiters), return_exceptions=True)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    memory = memory_kib()
    errors = [r for r in results if isinstance(r, BaseException)]
    empty = sum(1 for r in results if not isinstance(r, BaseException) and r is None)
    await (client.aclose() if hasattr(client, "aclose") else client.close())
    emit(
        {
            "runs": len(results),
            "errors": len(errors) + empty,
            "first_error": repr(errors[0]) if errors else None,
            "wall_s": wall,
            "cpu_s": cpu,
            "rss_before_mib": rss_before / 1024,
            "peak_rss_mib": memory["VmHWM"] / 1024,
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavor", choices=["ours", "official", "raw"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--max-poll-interval", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--cpu", type=int, default=-1)
    args = parser.parse_args()
    if args.cpu >= 0:
        pin_to_cpu(args.cpu)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
