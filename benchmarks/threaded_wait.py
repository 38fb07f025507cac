"""Figure: 64 threads sharing one ``SpineClient``, each waiting on its own run.

One sandbox process (runs last ``RUN_DURATION`` s) serves three long-lived workers
(``workers/wait_threads.py``), one per client: ours, the official SDK and raw httpx. Each holds
one client and a pool of ``THREADS`` started threads. The workers take turns, round after
round, the order rotating each round: in its turn a worker creates ``THREADS`` runs (setup, not
measured), the sandbox's request log is cleared, then every thread waits on its own run at once
(polling ``POLL_INTERVAL`` s doubling to ``MAX_POLL_INTERVAL`` s, so the connections stay within
httpx's 5 s keep-alive). CPU per poll = the worker's CPU time over the whole wait (all threads)
/ the polls the sandbox logged. The figure is each client's median over its rounds; the ratio is
ours' median over the official SDK's. With ``--before REF`` this SDK at commit REF takes its
turns as a fourth client.
"""

from __future__ import annotations

from typing import Any

from benchmarks._common import Process, Pythons, SandboxServer, log, median

THREADS = 64
ROUNDS = 5
RUN_DURATION = 4.0
POLL_INTERVAL = 0.25
MAX_POLL_INTERVAL = 1.0
TIMEOUT = 60.0
TARGET_RATIO = 1.0


def measure(pythons: Pythons) -> dict[str, Any]:
    log(
        f"threaded wait: {THREADS} threads on one client, runs of {RUN_DURATION:g} s, "
        f"{ROUNDS} rounds per client, order rotating"
    )
    flavors = pythons.flavors()
    rounds: dict[str, list[dict[str, Any]]] = {flavor: [] for flavor in flavors}
    with SandboxServer(pythons.ours, run_duration=str(RUN_DURATION), cpu=0) as server:
        workers: dict[str, Process] = {}
        try:
            for flavor in flavors:
                workers[flavor] = Process(
                    pythons.for_flavor(flavor),
                    "wait_threads.py",
                    "--flavor", "ours" if flavor == "before" else flavor,
                    "--url", server.url,
                    "--api-key", server.api_key,
                    "--threads", str(THREADS),
                    "--poll-interval", str(POLL_INTERVAL),
                    "--max-poll-interval", str(MAX_POLL_INTERVAL),
                    "--timeout", str(TIMEOUT),
                    "--cpu", "1",
                )
            for round_no in range(ROUNDS):
                shift = round_no % len(flavors)
                for flavor in flavors[shift:] + flavors[:shift]:
                    worker = workers[flavor]
                    worker.ask("create", timeout=120)
                    server.ask("clear")
                    result = worker.ask("go", timeout=TIMEOUT + 60)
                    stats = server.ask("stats")
                    polls = stats["polls"]
                    result.update(
                        polls=polls,
                        server_errors=stats["failed"],
                        cpu_us_per_poll=result["cpu_s"] / polls * 1e6 if polls else float("nan"),
                    )
                    rounds[flavor].append(result)
            versions = {f: w.hello["version"] for f, w in workers.items()}
        finally:
            for worker in workers.values():
                worker.close()

    per_poll = {f: median([r["cpu_us_per_poll"] for r in rs]) for f, rs in rounds.items()}
    ratio = per_poll["ours"] / per_poll["official"]
    errors = {f: sum(r["errors"] + r["server_errors"] for r in rs) for f, rs in rounds.items()}
    return {
        "threads": THREADS,
        "rounds": ROUNDS,
        "run_duration_s": RUN_DURATION,
        "poll_interval_s": POLL_INTERVAL,
        "max_poll_interval_s": MAX_POLL_INTERVAL,
        "versions": versions,
        "per_round": rounds,
        "median_cpu_us_per_poll": per_poll,
        "polls_per_round": {f: median([r["polls"] for r in rs]) for f, rs in rounds.items()},
        "errors": errors,
        "ratio": ratio,
        "ratio_vs_raw": per_poll["ours"] / per_poll["raw"],
        "target": f"ours <= {TARGET_RATIO} x official, no errors",
        "pass": ratio <= TARGET_RATIO and errors["ours"] == 0,
    }
