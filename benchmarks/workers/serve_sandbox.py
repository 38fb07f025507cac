"""Serve the sandbox in this process (the server under test) and answer the orchestrator.

Prints ``{"url": ..., "api_key": ...}`` once listening, then reads commands from stdin:

* ``stats``: the request log's counts: ``{"requests": N, "polls": N, "creates": N, "failed":
  N, "replayed": N}``, where a poll is a ``GET /v1/run/{id}`` and a replayed create is one the
  sandbox answered from its Idempotency-Key, plus ``runs_created`` (replays not counted);
* ``clear``: empty the request log;
* ``quit`` (or end of input): stop.
"""

from __future__ import annotations

import argparse
import re
import sys

from _util import commands, emit, pin_to_cpu

_POLL = re.compile(r"^/v1/run/[^/]+$")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-duration", default="manual", help="seconds, or 'manual'")
    parser.add_argument("--max-file-size", type=int, default=50 * 1024 * 1024)
    parser.add_argument("--request-log-limit", type=int, default=100_000)
    parser.add_argument("--cpu", type=int, default=-1, help="pin to this CPU (-1: no)")
    args = parser.parse_args()
    if args.cpu >= 0:
        pin_to_cpu(args.cpu)
    duration = None if args.run_duration == "manual" else float(args.run_duration)

    from spine.testing import Sandbox

    with Sandbox(run_duration=duration, max_file_size=args.max_file_size,
                 request_log_limit=args.request_log_limit) as sandbox:
        emit({"url": sandbox.url, "api_key": sandbox.api_key})
        for command in commands():
            if command == "stats":
                log = sandbox.requests
                polls = sum(1 for r in log if r.method == "GET" and _POLL.match(r.path))
                creates = sum(1 for r in log if r.method == "POST" and r.path == "/v1/run")
                failed = sum(1 for r in log if r.status is None or r.status >= 400)
                replayed = sum(1 for r in log if r.replayed)
                emit({"requests": len(log), "polls": polls, "creates": creates,
                      "failed": failed, "runs_created": sandbox.runs_created,
                      "replayed": replayed})
            elif command == "clear":
                sandbox.clear_requests()
                emit({"cleared": True})
            else:
                emit({"error": f"unknown command {command!r}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
