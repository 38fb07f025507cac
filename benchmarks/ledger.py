"""Figures of the run ledger and batches (``spine.ledger``), all against a sandbox in a process
of its own:

* **scale**: one batch of ``SCALE_ITEMS`` items in one worker process
  (``workers/batch_many.py``: ``arun_batch`` on one ``AsyncSpineClient``, concurrency 16,
  sandbox runs of ``SCALE_RUN_S`` s, artifacts downloaded). Figures: errors (items not
  completed, exceptions, failed requests in the sandbox's log), wall time, and memory: the
  worker's peak RSS minus its RSS before the batch, per 1,000 items.
* **cost**: the ledger's own cost per create (two commits, the first with ``fsync``) and per
  poll (``workers/ledger_cost.py``).
* **kill -9**: ``spine batch`` (the console script) on ``KILL_ITEMS`` items, killed with
  SIGKILL at a random moment up to ``KILLS`` times and run again each time with
  ``--resend-ambiguous`` (creates cut off by a kill are ambiguous; the sandbox honours the
  Idempotency-Key, so re-sending them with their key returns the same run), then run to the
  end. Figures: the runs the sandbox created (must equal the items: no duplicate) and the
  lines of ``summary.jsonl`` (all ``completed``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BENCH_DIR,
    SCRATCH,
    Process,
    Pythons,
    SandboxServer,
    child_env,
    log,
    run_worker as _run_worker,
)

SCALE_ITEMS = 10_000
SCALE_RUN_S = 5.0
KILL_ITEMS = 1000
KILL_RUN_S = 2.0
KILLS = 5
KILL_WINDOW_S = (0.5, 6.0)
MAX_MIB_PER_1000 = 50.0


def _spine_script(python: str) -> str:
    script = Path(python).parent / "spine"
    return str(script) if script.exists() else ""


def measure_scale(pythons: Pythons, work: Path) -> dict[str, Any]:
    with SandboxServer(pythons.ours, run_duration=str(SCALE_RUN_S)) as server:
        worker = Process(
            pythons.ours, "batch_many.py",
            "--url", server.url, "--api-key", server.api_key,
            "--items", str(SCALE_ITEMS), "--out", str(work / "scale-out"),
            "--ledger", str(work / "scale.sqlite3"), "--concurrency", "16",
        )
        with worker:
            worker.send("go")
            result = worker.read(timeout=900)
        stats = server.ask("stats")
    counts = result["counts"]
    not_completed = sum(n for status, n in counts.items() if status != "completed")
    growth = max(result["peak_rss_mib"] - result["rss_before_mib"], 0.0)
    result.update(
        items=SCALE_ITEMS,
        run_duration_s=SCALE_RUN_S,
        server=stats,
        errors=len(result["errors"]) + not_completed + stats["failed"],
        growth_mib=growth,
        mib_per_1000=growth / SCALE_ITEMS * 1000,
    )
    return result


def measure_cost(pythons: Pythons, work: Path) -> dict[str, Any]:
    return _run_worker(pythons.ours, "ledger_cost.py", "--dir", str(work / "cost"), timeout=600)


def measure_kills(pythons: Pythons, work: Path) -> dict[str, Any]:
    script = _spine_script(pythons.ours)
    command = [script] if script else [pythons.ours, "-m", "spine"]
    items = work / "kill-items.jsonl"
    items.write_text("".join(
        json.dumps({"id": f"k{n:04d}", "prompt": f"Memo {n}", "template": "memo"}) + "\n"
        for n in range(KILL_ITEMS)))
    out, ledger = work / "kill-out", work / "kill.sqlite3"
    rng = random.Random()
    kills: list[float] = []
    exit_code = None
    started = time.perf_counter()
    with SandboxServer(pythons.ours, run_duration=str(KILL_RUN_S)) as server:
        env = child_env()
        env.update(SPINE_API_KEY=server.api_key, SPINE_BASE_URL=server.url)
        args = [*command, "batch", str(items), "--out", str(out), "--ledger", str(ledger),
                "--concurrency", "16", "--poll-interval", "0.2", "--resend-ambiguous", "-q"]
        for attempt in range(KILLS + 1):
            child = subprocess.Popen(args, cwd=SCRATCH, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            if attempt < KILLS:
                moment = rng.uniform(*KILL_WINDOW_S)
                try:
                    child.wait(timeout=moment)
                except subprocess.TimeoutExpired:
                    child.send_signal(signal.SIGKILL)  # this child only, by its pid
                    child.wait()
                    kills.append(moment)
                    continue
            else:
                child.wait(timeout=600)
            exit_code = child.returncode
            break
        stats = server.ask("stats")
    summary_path = out / "summary.jsonl"
    lines = summary_path.read_text().splitlines() if summary_path.exists() else []
    statuses: dict[str, int] = {}
    for line in lines:
        status = json.loads(line)["status"]
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "items": KILL_ITEMS,
        "run_duration_s": KILL_RUN_S,
        "kills_at_s": kills,
        "exit_code": exit_code,
        "runs_created": stats["runs_created"],
        "creates_sent": stats["creates"],
        "replayed": stats["replayed"],
        "summary_lines": len(lines),
        "statuses": statuses,
        "wall_s": time.perf_counter() - started,
        "pass": (stats["runs_created"] == KILL_ITEMS and len(lines) == KILL_ITEMS
                 and statuses == {"completed": KILL_ITEMS} and exit_code == 0),
    }


def measure(pythons: Pythons) -> dict[str, Any]:
    work = BENCH_DIR / "ledger"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log("ledger: the ledger's cost per create and per poll")
    cost = measure_cost(pythons, work)
    log(f"ledger: one batch of {SCALE_ITEMS:,} items in one process")
    scale = measure_scale(pythons, work)
    log(f"ledger: {KILL_ITEMS:,} items, killed with SIGKILL up to {KILLS} times, resumed")
    kills = measure_kills(pythons, work)
    shutil.rmtree(work / "scale-out", ignore_errors=True)  # 10,000 folders of artifacts
    return {
        "cost": cost,
        "scale": scale,
        "kills": kills,
        "pass_scale": scale["errors"] == 0 and scale["summary_lines"] == SCALE_ITEMS
        and scale["mib_per_1000"] <= MAX_MIB_PER_1000,
        "pass_kills": kills["pass"],
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
