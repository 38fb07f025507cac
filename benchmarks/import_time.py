"""Figure 2: the wall time of ``import spine`` in a fresh interpreter.

For each SDK's interpreter, ``python -P -c "import spine"`` and ``python -P -c "pass"`` run as
subprocesses (in a scratch directory outside the source tree; ``-P`` keeps the current directory
off ``sys.path``), interleaved, ``RUNS`` times each after ``WARMUP`` unmeasured runs that also
make sure the bytecode caches exist. The figure is median(import) - median(pass): what importing
the package adds to an interpreter's start.

``from spine import SpineClient`` is measured the same way, for information: this SDK loads
its names on first use, so that is where it pays for httpx and pydantic.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from benchmarks._common import SCRATCH, Pythons, child_env, log, median

RUNS = 15
WARMUP = 2
TARGET_RATIO = 0.5
SNIPPETS = {
    "pass": "pass",
    "import spine": "import spine",
    "from spine import SpineClient": "from spine import SpineClient",
}


def wall(python: str, code: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [python, "-P", "-c", code], cwd=SCRATCH, env=child_env(), check=True, timeout=60
    )
    return time.perf_counter() - start


def measure(pythons: Pythons) -> dict[str, Any]:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    log(f"import time: {RUNS} runs of each snippet per interpreter, interleaved")
    sdks = {"ours": pythons.ours, "official": pythons.official}
    for python in sdks.values():
        for code in SNIPPETS.values():
            for _ in range(WARMUP):
                wall(python, code)
    samples: dict[str, dict[str, list[float]]] = {
        sdk: {name: [] for name in SNIPPETS} for sdk in sdks
    }
    for _ in range(RUNS):
        for sdk, python in sdks.items():
            for name, code in SNIPPETS.items():
                samples[sdk][name].append(wall(python, code) * 1000)
    medians = {sdk: {name: median(v) for name, v in s.items()} for sdk, s in samples.items()}
    added = {
        sdk: {name: m[name] - m["pass"] for name in SNIPPETS if name != "pass"}
        for sdk, m in medians.items()
    }
    ours, official = added["ours"]["import spine"], added["official"]["import spine"]
    ratio = ours / official if official > 0 else float("inf")
    return {
        "runs": RUNS,
        "samples_ms": samples,
        "median_ms": medians,
        "added_ms": added,
        "ratio": ratio,
        "target": f"ours <= {TARGET_RATIO} x official",
        "pass": ratio <= TARGET_RATIO,
    }
