"""Figure 6: requests per run: how many polls ``wait()`` sends for a run of a given length.

Computed, not timed: ``workers/schedule.py`` runs each SDK's own waiting logic against a fake
clock (this SDK's ``spine._poller.Poller``; the official SDK's ``RunHandle.wait`` with its clock
and sleep replaced), defaults unchanged (2 s doubling to 30 s), the timeout lifted so that runs
longer than the default 900 s are followed to the end. The baseline is a fixed 5 s poll (the
marketing page's loop and the TypeScript SDK's default): polls at 0, 5, 10, ... s.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks._common import Pythons, log, run_worker

LENGTHS = {"10 min": 600, "20 min": 1200, "1 h": 3600, "2 h": 7200}
FIXED = 5.0


def fixed_polls(length: float, every: float = FIXED) -> dict[str, float]:
    """Polls at 0, every, 2*every, ...: the first at or after ``length`` sees the end."""
    polls = math.ceil(length / every) + 1
    return {"polls": polls, "late_s": (polls - 1) * every - length}


def measure(pythons: Pythons) -> dict[str, Any]:
    log("requests per run: default schedules against a fake clock")
    lengths = ",".join(str(s) for s in LENGTHS.values())
    result: dict[str, Any] = {"lengths_s": LENGTHS}
    for flavor in ("ours", "official"):
        result[flavor] = run_worker(
            pythons.for_flavor(flavor), "schedule.py", "--flavor", flavor, "--lengths", lengths,
            timeout=120,
        )
    result["fixed_5s"] = {"runs": {str(s): fixed_polls(s) for s in LENGTHS.values()}}
    return result
