"""Worker: uploads of a big file to the sink: peak RSS growth, then throughput against raw httpx.

``ours`` and ``official``: ``spine.SpineClient(...).runs.create(prompt, files=[path])``.
``raw``: ``httpx.Client.post`` of the same multipart form (``prompt`` and ``template`` fields
plus the file as an open file object), which httpx streams from disk.

1. Warm-up: a small file is uploaded the same way (and with raw httpx), so that lazily imported
   modules, the connections and the allocator's pools are in place.
2. Memory: the peak-RSS mark is reset (``/proc/self/clear_refs``), the big file is uploaded
   once with the flavor's client, and the growth is the peak (``VmHWM``) minus the RSS before.
3. Throughput (SDK flavors): ``--pairs`` pairs of uploads, one with the SDK and one with raw
   httpx in the same process, which goes first alternating. An upload takes a fraction of a
   second, and the machine's speed drifts more than that from one second to the next; a pair's
   two uploads are a fraction of a second apart, so their ratio is what can be compared.

Prints ``{"growth_mib", "sdk_seconds": [...], "raw_seconds": [...], ...}``.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable

from _util import emit, memory_kib, pin_to_cpu, reset_peak_rss, sdk_version

PROMPT = "Summarise the attached file"
MAX_PAIRS = 20


def sdk_upload(url: str, api_key: str) -> Callable[[str], object]:
    import spine

    client = spine.SpineClient(api_key=api_key, base_url=url, timeout=600.0)

    def upload(path: str) -> object:
        return client.runs.create(PROMPT, files=[path]).run_id

    return upload


def raw_upload(url: str, api_key: str) -> Callable[[str], object]:
    import httpx

    http = httpx.Client(
        base_url=url + "/v1",
        headers={"X-API-KEY": api_key, "Accept": "application/json"},
        timeout=600.0,
    )

    def upload(path: str) -> object:
        with open(path, "rb") as stream:
            response = http.post(
                "/run",
                data={"prompt": PROMPT, "template": "auto"},
                files=[("files", (os.path.basename(path), stream, "application/octet-stream"))],
            )
        response.raise_for_status()
        return response.json()["data"]["run_id"]

    return upload


def timed(upload: Callable[[str], object], path: str) -> float:
    start = time.perf_counter()
    upload(path)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavor", choices=["ours", "official", "raw"], required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--warmup-file", required=True)
    parser.add_argument("--pairs", type=int, default=3, help="SDK/raw upload pairs (max 20)")
    parser.add_argument("--cpu", type=int, default=-1)
    args = parser.parse_args()
    if args.cpu >= 0:
        pin_to_cpu(args.cpu)

    raw = raw_upload(args.url, args.api_key)
    own = raw if args.flavor == "raw" else sdk_upload(args.url, args.api_key)
    own(args.warmup_file)
    raw(args.warmup_file)

    gc.collect()
    reset = reset_peak_rss()
    before = memory_kib()
    first = timed(own, args.file)
    peak = memory_kib()["VmHWM"]
    baseline = before["VmRSS"] if reset else max(before["VmRSS"], before["VmHWM"])

    sdk_seconds: list[float] = [] if args.flavor == "raw" else [first]
    raw_seconds: list[float] = [first] if args.flavor == "raw" else []
    if args.flavor != "raw":
        for i in range(min(args.pairs, MAX_PAIRS)):
            order = ((sdk_seconds, own), (raw_seconds, raw))
            for seconds, upload in order if i % 2 else order[::-1]:
                seconds.append(timed(upload, args.file))
    emit(
        {
            "version": sdk_version(args.flavor),
            "bytes": os.path.getsize(args.file),
            "rss_before_kib": before["VmRSS"],
            "peak_kib": peak,
            "growth_mib": max(0, peak - baseline) / 1024,
            "peak_reset": reset,
            "sdk_seconds": sdk_seconds,
            "raw_seconds": raw_seconds,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
