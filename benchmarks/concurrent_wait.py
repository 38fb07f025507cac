"""Figure 4: 1,000 runs awaited at once with ``AsyncRunHandle.wait()`` in one process.

For each client (ours, official, raw async httpx) a fresh sandbox starts in a process of its
own with ``run_duration = RUN_DURATION`` seconds. The worker (``workers/wait_many.py``) creates
``RUNS`` runs, the sandbox's request log is cleared, and then the worker awaits them all with
``asyncio.gather`` polling from ``POLL_INTERVAL`` s doubling to ``MAX_POLL_INTERVAL`` s. The polls
are counted on the server (``GET /v1/run/{id}`` in the sandbox's request log); CPU per poll is
the worker's CPU time over the whole wait divided by that count, pooled over the rounds.

The first poll of all handles is one burst of 1,000 requests, during which the client is
CPU-bound (httpcore's pool scans its queue and connections on every request); the first interval
of 4 s lets that burst drain before the handles come back, so that the rest of the wait runs
below the client's capacity and rounds are comparable. Ours and raw httpx, the pair the target
compares, get three rounds each, in the order ``ORDER``: a round's cost per poll still moves by
±30 % with whatever else the machine does.
"""

from __future__ import annotations

from typing import Any

from benchmarks._common import FLAVORS, Process, Pythons, SandboxServer, log

RUNS = 1000
RUN_DURATION = 20.0
POLL_INTERVAL = 4.0
MAX_POLL_INTERVAL = 8.0
TIMEOUT = 120.0
MAX_RSS_MIB = 200
MAX_CPU_RATIO = 1.2
#: Rounds, in this order: ours and raw three times each (the pair the target compares), official
#: once.
ORDER = ("ours", "raw", "official", "raw", "ours", "ours", "raw")


def measure_one(pythons: Pythons, flavor: str) -> dict[str, Any]:
    with SandboxServer(pythons.ours, run_duration=str(RUN_DURATION), cpu=0) as server:
        worker = Process(
            pythons.for_flavor(flavor),
            "wait_many.py",
            "--flavor", flavor,
            "--url", server.url,
            "--api-key", server.api_key,
            "--runs", str(RUNS),
            "--poll-interval", str(POLL_INTERVAL),
            "--max-poll-interval", str(MAX_POLL_INTERVAL),
            "--timeout", str(TIMEOUT),
            "--cpu", "1",
            ready_timeout=180,
        )
        with worker:
            created = worker.hello
            server.ask("clear")
            worker.send("go")
            result = worker.read(timeout=TIMEOUT + 60)
        stats = server.ask("stats")
    polls = stats["polls"]
    result.update(
        created=created["created"],
        create_s=created["create_s"],
        version=created["version"],
        polls=polls,
        polls_per_run=polls / RUNS,
        server_errors=stats["failed"],
        cpu_us_per_poll=result["cpu_s"] / polls * 1e6 if polls else float("nan"),
    )
    return result


def pooled(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One client's rounds together: CPU per poll over all polls, worst RSS, summed errors."""
    polls = sum(r["polls"] for r in rounds)
    cpu = sum(r["cpu_s"] for r in rounds)
    return {
        "rounds": rounds,
        "errors": sum(r["errors"] for r in rounds),
        "server_errors": sum(r["server_errors"] for r in rounds),
        "first_error": next((r["first_error"] for r in rounds if r["first_error"]), None),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in rounds),
        "polls": polls,
        "polls_per_run": polls / (RUNS * len(rounds)),
        "wall_s": sum(r["wall_s"] for r in rounds) / len(rounds),
        "cpu_us_per_poll": cpu / polls * 1e6 if polls else float("nan"),
        "version": rounds[0]["version"],
    }


def measure(pythons: Pythons) -> dict[str, Any]:
    log(
        f"concurrent wait: {RUNS} runs of {RUN_DURATION:g} s per client and round, polling "
        f"{POLL_INTERVAL:g} s doubling to {MAX_POLL_INTERVAL:g} s; order {', '.join(ORDER)}"
    )
    rounds: dict[str, list[dict[str, Any]]] = {flavor: [] for flavor in FLAVORS}
    for flavor in ORDER:
        rounds[flavor].append(measure_one(pythons, flavor))
    results = {flavor: pooled(rs) for flavor, rs in rounds.items()}
    ours, raw = results["ours"], results["raw"]
    ratio = ours["cpu_us_per_poll"] / raw["cpu_us_per_poll"]
    return {
        "runs": RUNS,
        "run_duration_s": RUN_DURATION,
        "poll_interval_s": POLL_INTERVAL,
        "max_poll_interval_s": MAX_POLL_INTERVAL,
        "order": list(ORDER),
        "results": results,
        "cpu_per_poll_ratio_vs_raw": ratio,
        "target": f"no errors; RSS <= {MAX_RSS_MIB} MiB; CPU per poll <= {MAX_CPU_RATIO} x raw",
        "pass_errors": ours["errors"] == 0 and ours["server_errors"] == 0,
        "pass_rss": ours["peak_rss_mib"] <= MAX_RSS_MIB,
        "pass_cpu": ratio <= MAX_CPU_RATIO,
    }
