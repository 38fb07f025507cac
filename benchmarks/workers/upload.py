"""Worker: uploads of a big file to the sink, measuring peak RSS growth and throughput.

``ours`` and ``official``: ``spine.SpineClient(...).runs.create(prompt, files=[path])``.
``raw``: ``httpx.Client.post`` of the same multipart form (``prompt`` and ``template`` fields
plus the file as an open file object), which httpx streams from disk.

Before measuring, the same call uploads a small file, so that lazily imported modules,
the connection and the allocator's pools are in place. Then the peak-RSS mark is reset
(``/proc/self/clear_refs``), the big file is uploaded ``--repeat`` times in a row, and the
worker prints ``{"seconds": [...], "mib_per_s": [...], "growth_mib", ...}``: the growth is
the peak over all of them minus the RSS before the first.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable

from _util import MiB, emit, memory_kib, pin_to_cpu, reset_peak_rss, sdk_version

PROMPT = "Summarise the attached file"


def make_upload(flavor: str, url: str, api_key: str) -> Callable[[str], object]:
    if flavor in ("ours", "official"):
        import spine

        client = spine.SpineClient(api_key=api_key, base_url=url, timeout=600.0)

        def upload(path: str) -> object:
            return client.runs.create(PROMPT, files=[path]).run_id

        return upload

    import httpx

    http = httpx.Client(
        base_url=url + "/v1",
        headers={"X-API-KEY": api_key, "Accept": "application/json"},
        timeout=600.0,
    )

    def raw_upload(path: str) -> object:
        with open(path, "rb") as stream:
            response = http.post(
                "/run",
                data={"prompt": PROMPT, "template": "auto"},
                files=[("files", (os.path.basename(path), stream, "application/octet-stream"))],
            )
        response.raise_for_status()
        return response.json()["data"]["run_id"]

    return raw_upload


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavor", choices=["ours", "official", "raw"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--warmup-file", required=True)
    parser.add_argument("--repeat", type=int, default=1, help="big uploads in a row (max 10)")
    parser.add_argument("--cpu", type=int, default=-1)
    args = parser.parse_args()
    if args.cpu >= 0:
        pin_to_cpu(args.cpu)

    upload = make_upload(args.flavor, args.url, args.api_key)
    upload(args.warmup_file)
    gc.collect()
    reset = reset_peak_rss()
    before = memory_kib()
    size = os.path.getsize(args.file)
    seconds = []
    for _ in range(max(1, min(args.repeat, 10))):
        start = time.perf_counter()
        upload(args.file)
        seconds.append(time.perf_counter() - start)
    after = memory_kib()
    peak = after["VmHWM"]
    baseline = before["VmRSS"] if reset else max(before["VmRSS"], before["VmHWM"])
    emit(
        {
            "version": sdk_version(args.flavor),
            "seconds": seconds,
            "bytes": size,
            "mib_per_s": [size / MiB / s for s in seconds],
            "rss_before_kib": before["VmRSS"],
            "peak_kib": peak,
            "growth_mib": max(0, peak - baseline) / 1024,
            "peak_reset": reset,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
