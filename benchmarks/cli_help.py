"""Figure 5: the wall time of ``spine --help`` (the console script of the nox venv).

One unmeasured run, then ``RUNS`` measured ones, in a scratch directory; the figure is the
median. The official ``spine-sdk`` has no command line.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks._common import SCRATCH, Pythons, child_env, log, median

RUNS = 11
TARGET_MS = 300.0


def measure(pythons: Pythons) -> dict[str, Any]:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    script = Path(pythons.ours).parent / "spine"
    log(f"spine --help: {RUNS} runs of {script}")

    def once() -> tuple[float, str]:
        start = time.perf_counter()
        proc = subprocess.run(
            [str(script), "--help"],
            cwd=SCRATCH,
            env=child_env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return (time.perf_counter() - start) * 1000, proc.stdout

    _, output = once()
    if "usage" not in output:
        raise RuntimeError(f"spine --help printed no usage:\n{output}")
    samples = [once()[0] for _ in range(RUNS)]
    result = median(samples)
    return {
        "script": str(script),
        "runs": RUNS,
        "samples_ms": samples,
        "median_ms": result,
        "target": f"< {TARGET_MS:g} ms",
        "pass": result < TARGET_MS,
    }
