"""Figure 3: uploading a 256 MiB file: peak RSS growth of the client, and throughput.

The server is ``workers/sink.py`` in a process of its own: it reads each body as it arrives and
throws it away (no multipart parsing, no hashing), then answers the create envelope, so the
figure measures the client. Each round starts a fresh worker (``workers/upload.py``) per client,
ours / official / raw httpx in a rotating order.

* Growth: each worker's first big upload, with its own client, after a warm-up: peak RSS minus
  the RSS before. The figure is the worst worker's.
* Throughput: the SDK workers then make ``PAIRS`` pairs of uploads, one with the SDK and one with
  raw httpx, back to back in the same process. MiB/s is the file size over the wall time of the
  call; the ratio to raw is the median over all pairs of raw seconds / SDK seconds. One upload
  takes a fraction of a second and this machine's speed drifts by ±50 % between seconds, so only
  uploads made a moment apart can be compared.
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
ROUNDS = 3
PAIRS = 4
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
    log(f"upload: {ROUNDS} rounds x {len(FLAVORS)} clients x 256 MiB, {PAIRS} SDK/raw pairs each")
    rounds: dict[str, list[dict[str, Any]]] = {f: [] for f in FLAVORS}
    with SinkServer(pythons.ours) as sink:
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
                    "--pairs", str(PAIRS),
                    timeout=300,
                )
                rounds[flavor].append(result)
        stats = sink.ask("stats")
    # Every big upload must have reached the sink whole (a multipart body is a bit larger).
    complete = sum(1 for size in stats["bodies"] if size >= SIZE)
    expected = sum(
        len(r["sdk_seconds"]) + len(r["raw_seconds"]) for rs in rounds.values() for r in rs
    )
    mib = SIZE / MiB
    growth = {f: max(r["growth_mib"] for r in rs) for f, rs in rounds.items()}
    speed = {
        f: median([mib / s for r in rounds[f] for s in r["sdk_seconds"]])
        for f in ("ours", "official")
    }
    speed["raw"] = median([mib / s for rs in rounds.values() for r in rs for s in r["raw_seconds"]])
    pair_ratios = {
        f: [
            raw_s / sdk_s
            for r in rounds[f]
            for sdk_s, raw_s in zip(r["sdk_seconds"][1:], r["raw_seconds"], strict=True)
        ]
        for f in ("ours", "official")
    }
    ratio = {f: median(v) for f, v in pair_ratios.items()}
    return {
        "file_bytes": SIZE,
        "rounds": rounds,
        "complete_bodies_at_sink": complete,
        "expected_bodies": expected,
        "framing": sorted(set(stats["framing"])),
        "growth_mib": growth,
        "mib_per_s": speed,
        "pair_ratios_vs_raw": pair_ratios,
        "throughput_ratio_vs_raw": ratio["ours"],
        "official_throughput_ratio_vs_raw": ratio["official"],
        "target": f"growth <= {MAX_GROWTH_MIB} MiB; throughput >= {MIN_THROUGHPUT_RATIO} x raw",
        "pass_growth": growth["ours"] <= MAX_GROWTH_MIB and complete == expected,
        "pass_throughput": ratio["ours"] >= MIN_THROUGHPUT_RATIO and complete == expected,
    }
