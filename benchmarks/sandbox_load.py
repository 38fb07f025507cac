"""Load benchmark for the Spine sandbox (``spine.testing``).

    .venv/bin/python benchmarks/sandbox_load.py [--clients 1000] [--run-duration 5]
                                                [--poll-interval 1] [--upload-mib 256]

Measures, on loopback only:

1. start-up: ``Sandbox().start()`` in this process (median of several starts), and the command
   line (``python -m spine.testing``) from spawn to its "listening" line;
2. load: a sandbox in its own process (as ``spine sandbox`` runs it) and N concurrent clients,
   each with its own connection (one ``httpx.AsyncClient`` per client), that create a run with a
   small multipart upload and poll it until it is terminal. Prints polls served, errors, wall
   time and request latency percentiles. The whole phase is bounded by ``--timeout``;
3. upload: one large file streamed through multipart, with the server's peak memory before and
   after (a streaming server's peak barely moves).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore tries ``import sniffio`` on every lock it takes and falls back to asyncio when
    # it is missing; a failed import re-scans sys.path each time (~20 % of the clients' CPU
    # here). A None entry makes that import fail at once, with the same fallback.
    sys.modules["sniffio"] = None  # type: ignore[assignment]

from spine.testing import Sandbox  # noqa: E402

KEY = "sk_spine_bench"


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    poll_latencies: list[float] = field(default_factory=list)
    create_latencies: list[float] = field(default_factory=list)
    polls: int = 0
    creates: int = 0
    finished: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_start(repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        box = Sandbox().start()
        times.append(time.perf_counter() - began)
        box.stop()
    return statistics.median(times)


def spawn_cli(*extra: str) -> tuple[subprocess.Popen[str], str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    began = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "spine.testing", "--port", "0", "--api-key", KEY, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - began
    if not line.startswith("Spine sandbox listening on "):
        proc.kill()
        stderr = proc.stderr.read() if proc.stderr else ""
        raise SystemExit(f"sandbox did not start: {line!r} {stderr}")
    return proc, line.split()[-1], elapsed


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def one_client(
    i: int, url: str, tls: ssl.SSLContext, stats: Stats, interval: float, deadline: float
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=url, headers={"X-API-KEY": KEY}, verify=tls, limits=limits, timeout=30
    ) as client:
        began = time.perf_counter()
        try:
            response = await client.post(
                "/v1/run",
                data={"prompt": f"Benchmark run {i}", "template": "report"},
                files=[("files", (f"data-{i}.csv", b"region,revenue\nnorth,1\n", "text/csv"))],
                headers={"Idempotency-Key": f"bench-{i}"},
            )
        except httpx.HTTPError as exc:
            stats.error(type(exc).__name__)
            return
        stats.latencies.append(time.perf_counter() - began)
        stats.create_latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            stats.error(f"create {response.status_code}")
            return
        stats.creates += 1
        poll_url = response.json()["data"]["poll_url"]
        await asyncio.sleep(random.uniform(0, interval))
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                response = await client.get(poll_url)
            except httpx.HTTPError as exc:
                stats.error(type(exc).__name__)
                return
            took = time.perf_counter() - began
            stats.latencies.append(took)
            stats.poll_latencies.append(took)
            stats.polls += 1
            if response.status_code != 200:
                stats.error(f"poll {response.status_code}")
                return
            if response.json()["data"]["status"] != "running":
                stats.finished += 1
                return
            await asyncio.sleep(interval * random.uniform(0.8, 1.2))
        stats.error("timeout")


async def load(
    url: str, first: int, clients: int, interval: float, timeout: float
) -> tuple[Stats, float]:
    stats = Stats()
    tls = ssl.create_default_context()  # one context for all clients (loading CAs is slow)
    began = time.perf_counter()
    deadline = began + timeout
    tasks = [
        asyncio.create_task(one_client(i, url, tls, stats, interval, deadline))
        for i in range(first, first + clients)
    ]
    done, pending = await asyncio.wait(tasks, timeout=timeout + 30)
    for task in pending:
        task.cancel()
        stats.error("unfinished")
    for task in done:
        if task.exception() is not None:
            stats.error(type(task.exception()).__name__)
    return stats, time.perf_counter() - began


def load_worker(
    url: str, first: int, clients: int, interval: float, timeout: float
) -> tuple[Stats, float, float]:
    """One client process: its share of the clients; returns stats, wall and CPU seconds."""
    if "sniffio" not in sys.modules:
        try:
            import sniffio  # noqa: F401
        except ImportError:
            sys.modules["sniffio"] = None  # type: ignore[assignment]
    cpu = time.process_time()
    stats, wall = asyncio.run(load(url, first, clients, interval, timeout))
    return stats, wall, time.process_time() - cpu


def run_load(
    url: str, clients: int, processes: int, interval: float, timeout: float
) -> tuple[Stats, float, float]:
    """Spread the clients over ``processes`` client processes; merge what they measured."""
    shares = [clients // processes + (1 if p < clients % processes else 0)
              for p in range(processes)]
    starts = [sum(shares[:p]) for p in range(processes)]
    began = time.perf_counter()
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(load_worker, url, start, share, interval, timeout)
                   for start, share in zip(starts, shares, strict=True)]
        results = [f.result() for f in futures]
    wall = time.perf_counter() - began
    merged = Stats()
    for stats, _, _ in results:
        merged.latencies += stats.latencies
        merged.poll_latencies += stats.poll_latencies
        merged.create_latencies += stats.create_latencies
        merged.polls += stats.polls
        merged.creates += stats.creates
        merged.finished += stats.finished
        for kind, count in stats.error_kinds.items():
            merged.errors += count
            merged.error_kinds[kind] = merged.error_kinds.get(kind, 0) + count
    load_wall = max(w for _, w, _ in results)
    return merged, min(wall, load_wall) if load_wall else wall, sum(c for _, _, c in results)


async def upload(url: str, mib: int) -> tuple[float, int]:
    boundary = "bench-boundary-7f3a"
    chunk = os.urandom(1024 * 1024)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nSummarise\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        for _ in range(mib):
            yield chunk
        yield tail

    async with httpx.AsyncClient(timeout=600) as client:
        began = time.perf_counter()
        response = await client.post(
            url + "/v1/run",
            content=body(),
            headers={"X-API-KEY": KEY, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        return time.perf_counter() - began, response.status_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--run-duration", type=float, default=5.0)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--processes", type=int, default=min(2, os.cpu_count() or 1),
                        help="client processes to spread the clients over")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on the load phase")
    parser.add_argument("--upload-mib", type=int, default=256, help="0 to skip")
    args = parser.parse_args()

    print("== start-up")
    in_process = measure_start()
    print(f"Sandbox().start() in process (median of 15): {in_process * 1000:.1f} ms")
    proc, url, cli_start = spawn_cli("--run-duration", str(args.run_duration),
                                     "--max-file-size", f"{max(args.upload_mib, 1) + 1}MiB")
    print(f"CLI spawn to listening (interpreter start included): {cli_start * 1000:.0f} ms")
    try:
        print(f"\n== load: {args.clients} concurrent clients in {args.processes} client "
              f"process(es), runs of {args.run_duration:g} s, polling every "
              f"{args.poll_interval:g} s (server pid {proc.pid}, {url})")
        server_cpu = cpu_seconds(proc.pid)
        stats, wall, client_cpu = run_load(
            url, args.clients, args.processes, args.poll_interval, args.timeout
        )
        server_cpu = cpu_seconds(proc.pid) - server_cpu
        requests = stats.creates + stats.polls
        print(f"clients:            {args.clients}")
        print(f"runs created:       {stats.creates}")
        print(f"runs seen terminal: {stats.finished}")
        print(f"polls served:       {stats.polls}")
        print(f"errors:             {stats.errors} {stats.error_kinds or ''}")
        print(f"wall time:          {wall:.2f} s")
        print(f"throughput:         {requests / wall:.0f} requests/s")
        print(f"latency, all requests: p50 {percentile(stats.latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(stats.latencies, 0.99) * 1000:.1f} ms, "
              f"max {max(stats.latencies, default=0) * 1000:.1f} ms")
        print(f"CPU busy:           server {server_cpu / wall:.0%} of a core, "
              f"clients {client_cpu / wall:.0%} of a core ({os.cpu_count()} cores here)")
        print(f"latency, polls:        p50 {percentile(stats.poll_latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(stats.poll_latencies, 0.99) * 1000:.1f} ms")
        print("latency, creates (all at once, new connections, multipart): "
              f"p50 {percentile(stats.create_latencies, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(stats.create_latencies, 0.99) * 1000:.1f} ms")
        if args.upload_mib:
            print(f"\n== upload: one {args.upload_mib} MiB file, streamed")
            before = peak_rss_mib(proc.pid)
            took, status = asyncio.run(upload(url, args.upload_mib))
            after = peak_rss_mib(proc.pid)
            print(f"status {status}, {took:.2f} s, {args.upload_mib / took:.0f} MiB/s")
            print(f"server peak RSS: {before:.0f} MiB before, {after:.0f} MiB after")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 1 if stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
