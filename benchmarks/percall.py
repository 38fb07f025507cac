"""Figure 1: the per-call overhead of ``runs.get`` over raw httpx, in client CPU.

One sandbox process serves one run in manual mode (it stays ``running``, so every answer is the
same 250-odd bytes). Two long-lived workers, one per SDK (``workers/percall.py``), take turns,
round after round: in its turn a worker makes ``CALLS`` SDK calls and ``CALLS`` raw-httpx calls
for the same request to the same server, alternating in small batches, so that whatever else the
machine does at that moment weighs on both. A round's overhead is the SDK's CPU per call minus
raw httpx's; the figure is the median over the rounds.
"""

from __future__ import annotations

from typing import Any

from benchmarks._common import (
    Process,
    Pythons,
    SandboxServer,
    create_run_raw,
    log,
    median,
)

ROUNDS = 10
CALLS = 400
TARGET_RATIO = 0.5
SDKS = ("ours", "official")


def measure(pythons: Pythons) -> dict[str, Any]:
    log(f"runs.get overhead: {ROUNDS} rounds x {CALLS} calls, SDK and raw httpx interleaved")
    with SandboxServer(pythons.ours, run_duration="manual", cpu=0) as server:
        run_id = create_run_raw(server.url, server.api_key)
        workers: dict[str, Process] = {}
        try:
            for flavor in SDKS:
                workers[flavor] = Process(
                    pythons.for_flavor(flavor),
                    "percall.py",
                    "--flavor", flavor,
                    "--url", server.url,
                    "--api-key", server.api_key,
                    "--run-id", run_id,
                    "--cpu", "1",
                )
            sdk_us: dict[str, list[float]] = {f: [] for f in SDKS}
            raw_us: dict[str, list[float]] = {f: [] for f in SDKS}
            wall_us: dict[str, list[float]] = {f: [] for f in SDKS}
            for round_no in range(ROUNDS):
                for flavor in SDKS if round_no % 2 == 0 else SDKS[::-1]:
                    answer = workers[flavor].ask(str(CALLS), timeout=120)
                    calls = answer["calls"]
                    sdk_us[flavor].append(answer["cpu_s"]["sdk"] / calls * 1e6)
                    raw_us[flavor].append(answer["cpu_s"]["raw"] / calls * 1e6)
                    wall_us[flavor].append(answer["wall_s"]["sdk"] / calls * 1e6)
            versions = {f: w.hello["version"] for f, w in workers.items()}
            versions["raw"] = workers["ours"].hello["raw"]
        finally:
            for worker in workers.values():
                worker.close()

    overhead = {f: [s - r for s, r in zip(sdk_us[f], raw_us[f], strict=True)] for f in SDKS}
    ours, official = median(overhead["ours"]), median(overhead["official"])
    ratio = ours / official if official > 0 else float("inf")
    return {
        "rounds": ROUNDS,
        "calls_per_round": CALLS,
        "versions": versions,
        "sdk_cpu_us_per_call": sdk_us,
        "raw_cpu_us_per_call": raw_us,
        "sdk_wall_us_per_call": wall_us,
        "overhead_us_per_round": overhead,
        "median_cpu_us": {
            "ours": median(sdk_us["ours"]),
            "official": median(sdk_us["official"]),
            "raw": median(raw_us["ours"] + raw_us["official"]),
        },
        "median_overhead_us": {"ours": ours, "official": official},
        "ratio": ratio,
        "target": f"ours <= {TARGET_RATIO} x official",
        "pass": ratio <= TARGET_RATIO,
    }
