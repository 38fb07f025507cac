"""Figure 3: uploading a 256 MiB file: peak RSS growth of the client, and throughput.

The server is ``workers/sink.py`` in a process of its own: it reads each body as it arrives and
throws it away (no multipart parsing, no hashing), then answers the create envelope, so the
figure measures the client. Each round starts a fresh worker (``workers/upload.py``) per client,
ours / official / raw httpx in a rotating order, that uploads the file ``REPEAT`` times in a
row. Growth is the worst worker's (peak RSS over its uploads minus its RSS before them);
throughput (MiB/s over the wall time of each call) is the median over every upload of the
client: one upload takes a fraction of a second, so a single one is at the mercy of whatever
else the machine does at that moment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from benchmarks._common import (
    BENCH_DIR,
    FLAVORS,
    Pythons,
    SinkServer,
    log,
    median,
    run_worker,
)

MiB = 1024 * 1024
SIZE = 256 * MiB
ROUNDS = 4
REPEAT = 3
MAX_GROWTH_MIB = 64
MIN_THROUGHPUT_RATIO = 0.8


def make_file(path: Path, size: int) -> None:
    """A file of ``size`` bytes (a repeated random MiB), reused while its size is right."""
    if path.exists() and path.stat().st_size == size:
        return
    block = os.urandom(MiB)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as out:
        written = 0
        while written < size:
            chunk = block[: size - written]
            out.write(chunk)
            written += len(chunk)
    tmp.replace(path)


def measure(pythons: Pythons) -> dict[str, Any]:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    big = BENCH_DIR / "upload-256MiB.bin"
    small = BENCH_DIR / "upload-warmup.bin"
    make_file(big, SIZE)
    make_file(small, 64 * 1024)
    with open(big, "rb") as warm:  # bring the file into the page cache before any round
        while warm.read(8 * MiB):
            pass
    log(f"upload: {ROUNDS} rounds x {len(FLAVORS)} clients x 256 MiB to a loopback sink")
    rounds: dict[str, list[dict[str, Any]]] = {f: [] for f in FLAVORS}
    with SinkServer(pythons.ours, cpu=0) as sink:
        for round_no in range(ROUNDS):
            order = FLAVORS[round_no % 3 :] + FLAVORS[: round_no % 3]
            for flavor in order:
                result = run_worker(
                    pythons.for_flavor(flavor),
                    "upload.py",
                    "--flavor", flavor,
                    "--url", sink.url,
                    "--api-key", sink.api_key,
                    "--file", str(big),
                    "--warmup-file", str(small),
                    "--repeat", str(REPEAT),
                    "--cpu", "1",
                    timeout=300,
                )
                rounds[flavor].append(result)
        stats = sink.ask("stats")
    # Every big upload must have reached the sink whole (a multipart body is a bit larger).
    complete = sum(1 for size in stats["bodies"] if size >= SIZE)
    expected = ROUNDS * REPEAT * len(FLAVORS)
    growth = {f: max(r["growth_mib"] for r in rs) for f, rs in rounds.items()}
    throughput = {f: median([x for r in rs for x in r["mib_per_s"]]) for f, rs in rounds.items()}
    ratio = throughput["ours"] / throughput["raw"]
    return {
        "file_bytes": SIZE,
        "rounds": rounds,
        "complete_bodies_at_sink": complete,
        "framing": sorted(set(stats["framing"])),
        "expected_bodies": expected,
        "growth_mib": growth,
        "mib_per_s": throughput,
        "throughput_ratio_vs_raw": ratio,
        "target": f"growth <= {MAX_GROWTH_MIB} MiB; throughput >= {MIN_THROUGHPUT_RATIO} x raw",
        "pass_growth": growth["ours"] <= MAX_GROWTH_MIB and complete == expected,
        "pass_throughput": ratio >= MIN_THROUGHPUT_RATIO and complete == expected,
    }
