"""The ledger's own cost, on a file in ``--dir``: what recording adds to a create and to a poll.

* per create: ``begin_create`` (committed with ``synchronous=FULL`` before the request is
  sent) plus ``mark_created`` (the run id), the two writes around every create;
* per poll: ``observe`` of a running run whose state did not change (the common case: an
  indexed read, no write);
* per end: ``observe`` of a terminal state (one write).

Prints ``{"create_us", "poll_us", "end_us", "rows"}`` (medians of 5 rounds, wall time).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from _util import emit


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--polls", type=int, default=10000)
    args = parser.parse_args()

    from spine.ledger import Ledger
    from spine.models import GetRunResponse

    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(folder / "cost.sqlite3")
    request = {"prompt": "A memo about the quarter", "template": "memo", "blocks": None,
               "agent_instructions": None, "files": [{"name": "a.csv", "size": 10,
                                                      "sha256": "0" * 64, "path": "/x/a.csv"}]}
    create_us, poll_us, end_us = [], [], []
    serial = 0
    for _ in range(5):
        ids = []
        started = time.perf_counter()
        for _ in range(args.creates):
            serial += 1
            row = ledger.begin_create(idempotency_key=f"k{serial}", api_host="http://h",
                                      request=request, fingerprint="f" * 64)
            ledger.mark_created(row, f"run-{serial}", f"canvas-{serial}")
            ids.append(f"run-{serial}")
        create_us.append((time.perf_counter() - started) / args.creates * 1e6)
        running = [GetRunResponse.model_validate(
            {"run_id": run_id, "status": "running", "canvas_id": f"canvas-{run_id[4:]}",
             "progress": {"tasks_completed": 1, "tasks_total": 5, "elapsed_ms": 10}})
            for run_id in ids]
        started = time.perf_counter()
        for i in range(args.polls):
            ledger.observe(running[i % len(running)])
        poll_us.append((time.perf_counter() - started) / args.polls * 1e6)
        done = [GetRunResponse.model_validate(
            {"run_id": run_id, "status": "completed", "duration_ms": 5,
             "metadata": {"template_used": "memo", "credits_consumed": 150}}) for run_id in ids]
        started = time.perf_counter()
        for run in done:
            ledger.observe(run)
        end_us.append((time.perf_counter() - started) / len(done) * 1e6)
    rows = len(ledger.list())
    ledger.close()
    emit({"create_us": statistics.median(create_us), "poll_us": statistics.median(poll_us),
          "end_us": statistics.median(end_us), "rows": rows,
          "rounds": {"create_us": create_us, "poll_us": poll_us, "end_us": end_us}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
