"""One batch of N items in this process (``spine.ledger.arun_batch``), for the scale figure.

Waits for ``go`` on stdin after printing its baseline (imports done, nothing created), then runs
the batch against the sandbox at ``--url`` with a ledger file and an output folder, and prints
``{"wall_s", "cpu_s", "rss_before_mib", "peak_rss_mib", "counts", "summary_lines",
"artifacts", "errors"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import traceback
from pathlib import Path

from _util import MiB, commands, emit, memory_kib, reset_peak_rss


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--ledger", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--max-poll-interval", type=float, default=4.0)
    args = parser.parse_args()

    import spine
    from spine.ledger import arun_batch

    items = [{"id": f"i{n:05d}", "prompt": f"Note {n}", "blocks": ["text-block"]}
             for n in range(args.items)]
    before = memory_kib()
    emit({"ready": True, "rss_before_mib": before["VmRSS"] * 1024 / MiB})
    for command in commands():
        if command != "go":
            continue
        reset_peak_rss()
        errors: list[str] = []
        counts: dict[str, int] = {}
        started, cpu0 = time.perf_counter(), time.process_time()

        async def run(counts: dict[str, int]) -> None:
            async with spine.AsyncSpineClient(
                api_key=args.api_key, base_url=args.url,
                retry_policy=spine.RetryPolicy(max_retries=0),
            ) as client:
                report = await arun_batch(
                    client, items, out=args.out, ledger=args.ledger,
                    concurrency=args.concurrency, poll_interval=args.poll_interval,
                    max_poll_interval=args.max_poll_interval,
                )
                counts.update(report.counts)

        try:
            asyncio.run(run(counts))
        except Exception:
            errors.append(traceback.format_exc()[-2000:])
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
        summary = Path(args.out) / "summary.jsonl"
        lines = summary.read_text().splitlines() if summary.exists() else []
        artifacts = sum(len(json.loads(line)["artifacts"]) for line in lines)
        peak = memory_kib()["VmHWM"] * 1024 / MiB
        emit({"wall_s": wall, "cpu_s": cpu, "rss_before_mib": before["VmRSS"] * 1024 / MiB,
              "peak_rss_mib": peak, "counts": counts, "summary_lines": len(lines),
              "artifacts": artifacts, "errors": errors})
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
