"""Worker: how many polls ``wait()`` sends for runs of given lengths, with a fake clock.

No request is sent and no time passes: a fake clock moves forward by each sleep the SDK asks
for, and a fake run reports ``running`` until the clock reaches its length, then
``completed``. Defaults are the SDK's own (first interval 2 s, doubling, capped at 30 s), with
the timeout lifted so that every run is seen to the end.

``--flavor ours`` drives this SDK's sans-I/O ``spine._poller.Poller``; ``--flavor official``
runs the official SDK's ``RunHandle.wait()`` against a stub client, with ``time.monotonic`` and
``time.sleep`` of its ``spine.polling`` module replaced by the fake clock.

Prints ``{"runs": {"<seconds>": {"polls": N, "late_s": x}}, "sleeps": [first sleeps]}``;
``late_s`` is how long after the run ended the poll that saw it was sent.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from _util import emit, sdk_version

MAX_POLLS = 100_000
NO_DEADLINE = 10.0**9


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def ours(length: float) -> tuple[int, float, list[float]]:
    from spine._models import GetRunResponse
    from spine._poller import Poller, Sleep

    clock = FakeClock()
    running = GetRunResponse.model_validate({"run_id": "r", "status": "running"})
    done = GetRunResponse.model_validate(
        {"run_id": "r", "status": "completed", "result": {"final_output": "ok"}}
    )
    poller = Poller(timeout=None, clock=clock.monotonic)  # default intervals
    for polls in range(1, MAX_POLLS):
        decision = poller.observe(done if clock.now >= length else running)
        if not isinstance(decision, Sleep):
            return polls, clock.now - length, clock.sleeps
        clock.sleep(decision.seconds)
    raise RuntimeError("no end")


def official(length: float) -> tuple[int, float, list[float]]:
    from spine import polling
    from spine.models import CreateRunResponse, GetRunResponse

    clock = FakeClock()
    polling.time = clock  # type: ignore[assignment]  # the module's only clock and sleep
    running = GetRunResponse.model_validate({"run_id": "r", "status": "running"})
    done = GetRunResponse.model_validate(
        {"run_id": "r", "status": "completed", "result": {"final_output": "ok"}}
    )
    polls = 0

    class Runs:
        def get(self, run_id: str) -> Any:
            nonlocal polls
            polls += 1
            if polls > MAX_POLLS:
                raise RuntimeError("no end")
            return done if clock.now >= length else running

    class Client:
        runs = Runs()

    created = CreateRunResponse.model_validate(
        {"run_id": "r", "status": "running", "poll_url": "/v1/run/r",
         "estimated_duration_ms": 0}
    )
    handle = polling.RunHandle(
        client=Client(), run_id="r", canvas_id=None, create_response=created  # type: ignore[arg-type]
    )
    handle.wait(timeout=NO_DEADLINE)  # default poll_interval and max_poll_interval
    return polls, clock.now - length, clock.sleeps


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavor", choices=["ours", "official"], required=True)
    parser.add_argument("--lengths", required=True, help="comma-separated run lengths in s")
    args = parser.parse_args()
    count = ours if args.flavor == "ours" else official
    runs = {}
    longest: list[float] = []
    for text in args.lengths.split(","):
        polls, late, sleeps = count(float(text))
        runs[text] = {"polls": polls, "late_s": late}
        longest = max(longest, sleeps, key=len)
    emit({"version": sdk_version(args.flavor), "runs": runs, "sleeps": longest[:8]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
