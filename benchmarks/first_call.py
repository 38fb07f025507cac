"""Figure: process start to the first ``runs.get`` answer, in client CPU.

One sandbox process serves one run in manual mode (it stays ``running``). For each client
(ours, the official SDK, raw httpx) ``workers/first_call.py`` runs as a fresh interpreter,
pinned to the CPU the sandbox does not use: it imports the client, builds it, fetches the run
once and reports ``time.process_time()`` (user + system CPU of the whole process since it
started, interpreter start-up included) at that moment. ``RUNS`` runs per client after
``WARMUP`` unmeasured ones (which also write the bytecode caches), interleaved with the order
rotating; the figure is each client's median, the ratio ours' median over the official SDK's.
With ``--before REF`` this SDK at commit REF is measured as a fourth client.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from benchmarks._common import (
    SCRATCH,
    WORKERS,
    Pythons,
    SandboxServer,
    child_env,
    create_run_raw,
    log,
    median,
)

RUNS = 21
WARMUP = 2
TARGET_RATIO = 0.85
CLIENT_CPU = 1
POINTS = ("import", "client", "answer")


def one(python: str, flavor: str, url: str, api_key: str, run_id: str) -> dict[str, float]:
    worker_flavor = "ours" if flavor == "before" else flavor
    command = [python, str(WORKERS / "first_call.py"), worker_flavor, url, api_key, run_id]
    taskset = shutil.which("taskset")
    if taskset:
        command = [taskset, "-c", str(CLIENT_CPU), *command]
    proc = subprocess.run(
        command, cwd=SCRATCH, env=child_env(), capture_output=True, text=True, timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"first_call.py {flavor} failed:\n{proc.stderr[-3000:]}")
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    if answer["status"] != "running":
        raise RuntimeError(f"first_call.py {flavor}: expected a running run, got {answer}")
    cpu: dict[str, float] = answer["cpu_ms"]
    return cpu


def measure(pythons: Pythons) -> dict[str, Any]:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    log(f"first call: {RUNS} fresh interpreters per client, interleaved")
    flavors = pythons.flavors()
    samples: dict[str, dict[str, list[float]]] = {f: {p: [] for p in POINTS} for f in flavors}
    with SandboxServer(pythons.ours, run_duration="manual", cpu=1 - CLIENT_CPU) as server:
        run_id = create_run_raw(server.url, server.api_key)
        for flavor in flavors:
            for _ in range(WARMUP):
                one(pythons.for_flavor(flavor), flavor, server.url, server.api_key, run_id)
        for i in range(RUNS):
            shift = i % len(flavors)
            for flavor in flavors[shift:] + flavors[:shift]:
                cpu = one(pythons.for_flavor(flavor), flavor, server.url, server.api_key, run_id)
                for point in POINTS:
                    samples[flavor][point].append(cpu[point])
    medians = {f: {p: median(v) for p, v in s.items()} for f, s in samples.items()}
    ratio = medians["ours"]["answer"] / medians["official"]["answer"]
    return {
        "runs": RUNS,
        "samples_cpu_ms": samples,
        "median_cpu_ms": medians,
        "ratio": ratio,
        "target": f"ours <= {TARGET_RATIO} x official",
        "pass": ratio <= TARGET_RATIO,
    }
