"""Run every figure, print one table, write ``.bench/results.json``.

    python -m benchmarks                    # everything (what ``make bench`` runs)
    python -m benchmarks --only import,cli  # some of: percall, import, first, upload, wait,
                                            # threads, cli, schedule, ledger
    python -m benchmarks --strict           # exit 1 when a target is missed
    python -m benchmarks --before main      # also measure this SDK at another commit, where a
                                            # figure supports it (threads, first)

Run it with the interpreter of an environment where this project is installed (``nox -s bench``
makes one); the official ``spine-sdk`` gets a virtualenv of its own under ``.bench/official``.
Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks import (
    cli_help,
    concurrent_wait,
    first_call,
    import_time,
    ledger,
    percall,
    schedule,
    threaded_wait,
    upload,
)
from benchmarks._before import ensure_before_python
from benchmarks._common import BENCH_DIR, Pythons, log
from benchmarks._official import OFFICIAL, ensure_official_python

FIGURES: dict[str, Callable[[Pythons], dict[str, Any]]] = {
    "percall": percall.measure,
    "import": import_time.measure,
    "first": first_call.measure,
    "upload": upload.measure,
    "wait": concurrent_wait.measure,
    "threads": threaded_wait.measure,
    "cli": cli_help.measure,
    "schedule": schedule.measure,
    "ledger": ledger.measure,
}

Row = tuple[str, str, str, str, str, str, str]
HEADER: Row = ("figure", "ours", "official", "raw httpx / baseline", "ratio", "target", "result")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rows_percall(r: dict[str, Any]) -> list[Row]:
    over, cpu = r["median_overhead_us"], r["median_cpu_us"]
    return [
        (
            "runs.get: client CPU over raw httpx, µs/call",
            f"{over['ours']:.0f}",
            f"{over['official']:.0f}",
            f"{cpu['raw']:.0f} µs/call itself",
            f"{r['ratio']:.2f}x official",
            "<= 0.50x official",
            verdict(r["pass"]),
        ),
    ]


def rows_import(r: dict[str, Any]) -> list[Row]:
    added = r["added_ms"]
    ours, official = added["ours"], added["official"]
    cls = "from spine import SpineClient"
    cls_ratio = ours[cls] / official[cls] if official[cls] > 0 else float("inf")
    return [
        (
            "import spine: ms over a bare interpreter",
            f"{ours['import spine']:.1f}",
            f"{official['import spine']:.1f}",
            "-",
            f"{r['ratio']:.2f}x official",
            "<= 0.50x official",
            verdict(r["pass"]),
        ),
        (
            "  (info) from spine import SpineClient, ms",
            f"{ours[cls]:.1f}",
            f"{official[cls]:.1f}",
            "-",
            f"{cls_ratio:.2f}x official",
            "-",
            "info",
        ),
    ]


def rows_first(r: dict[str, Any]) -> list[Row]:
    cpu = r["median_cpu_ms"]
    o, f, w = cpu["ours"], cpu["official"], cpu["raw"]

    def split(x: dict[str, float]) -> str:
        steps = (x["import"], x["client"] - x["import"], x["answer"] - x["client"])
        return " / ".join(f"{v:.0f}" for v in steps)

    return [
        (
            "first runs.get from process start: client CPU, ms",
            f"{o['answer']:.0f}",
            f"{f['answer']:.0f}",
            f"{w['answer']:.0f}",
            f"{r['ratio']:.2f}x official",
            "<= 0.85x official",
            verdict(r["pass"]),
        ),
        (
            "  (info) start+import / client / first call, ms",
            split(o),
            split(f),
            split(w),
            f"{r['runs']} runs each",
            "-",
            "info",
        ),
        *_before_row(r, cpu["before"]["answer"] if "before" in cpu else None,
                     cpu["official"]["answer"], "{:.0f} ms"),
    ]


def _before_row(r: dict[str, Any], before: float | None, official: float, fmt: str) -> list[Row]:
    """The info row of a figure measured with ``--before REF`` too."""
    if before is None:
        return []
    ref = r.get("before_ref", "REF")
    return [
        (
            f"  (info) this SDK at {ref}, same run",
            fmt.format(before),
            "",
            "",
            f"{before / official:.2f}x official",
            "-",
            "info",
        )
    ]


def rows_upload(r: dict[str, Any]) -> list[Row]:
    growth, speed = r["growth_mib"], r["mib_per_s"]
    whole = f"{r['complete_bodies_at_sink']}/{r['expected_bodies']} bodies whole"
    framing = ", ".join(r.get("framing", []))
    off_ratio = "official_throughput_ratio_vs_raw"
    return [
        (
            "upload 256 MiB: peak RSS growth, MiB",
            f"{growth['ours']:.1f}",
            f"{growth['official']:.1f}",
            f"{growth['raw']:.1f}",
            "-",
            "<= 64 MiB",
            verdict(r["pass_growth"]),
        ),
        (
            "upload 256 MiB: throughput, MiB/s",
            f"{speed['ours']:.0f}",
            f"{speed['official']:.0f}",
            f"{speed['raw']:.0f}",
            f"{r['throughput_ratio_vs_raw']:.2f}x raw (official {r[off_ratio]:.2f}x)",
            ">= 0.80x raw",
            verdict(r["pass_throughput"]),
        ),
        ("  (info) sink received", whole, framing, "", "", "", "info"),
    ]


def rows_wait(r: dict[str, Any]) -> list[Row]:
    res = r["results"]
    o, f, w = res["ours"], res["official"], res["raw"]
    label = f"{r['runs']:,} concurrent wait()"
    o_rounds, w_rounds = len(o["rounds"]), len(w["rounds"])

    def errors(x: dict[str, Any]) -> str:
        return str(x["errors"] + x["server_errors"])

    return [
        (f"{label}: errors", errors(o), errors(f), errors(w), "-", "0",
         verdict(r["pass_errors"])),
        (
            f"{label}: peak RSS, MiB",
            f"{o['peak_rss_mib']:.0f}",
            f"{f['peak_rss_mib']:.0f}",
            f"{w['peak_rss_mib']:.0f}",
            "-",
            "<= 200 MiB",
            verdict(r["pass_rss"]),
        ),
        (
            f"{label}: client CPU per poll, µs",
            f"{o['cpu_us_per_poll']:.0f}",
            f"{f['cpu_us_per_poll']:.0f}",
            f"{w['cpu_us_per_poll']:.0f}",
            f"{r['cpu_per_poll_ratio_vs_raw']:.2f}x raw",
            "<= 1.20x raw",
            verdict(r["pass_cpu"]),
        ),
        (
            "  (info) wall s per round, polls per run",
            f"{o['wall_s']:.1f} s, {o['polls_per_run']:.1f}",
            f"{f['wall_s']:.1f} s, {f['polls_per_run']:.1f}",
            f"{w['wall_s']:.1f} s, {w['polls_per_run']:.1f}",
            "-",
            "-",
            "info",
        ),
        (
            "  (info) CPU per poll in each round, µs",
            " / ".join(f"{x['cpu_us_per_poll']:.0f}" for x in o["rounds"]),
            " / ".join(f"{x['cpu_us_per_poll']:.0f}" for x in f["rounds"]),
            " / ".join(f"{x['cpu_us_per_poll']:.0f}" for x in w["rounds"]),
            f"{o_rounds}+{w_rounds} rounds",
            "-",
            "info",
        ),
    ]


def rows_threads(r: dict[str, Any]) -> list[Row]:
    cpu, errors = r["median_cpu_us_per_poll"], r["errors"]
    rounds = r["per_round"]
    label = f"{r['threads']} threads, one client"
    return [
        (
            f"{label}: client CPU per poll, µs",
            f"{cpu['ours']:.0f}",
            f"{cpu['official']:.0f}",
            f"{cpu['raw']:.0f}",
            f"{r['ratio']:.2f}x official",
            "<= 1.00x official",
            verdict(r["pass"]),
        ),
        (
            "  (info) CPU per poll in each round, µs",
            " / ".join(f"{x['cpu_us_per_poll']:.0f}" for x in rounds["ours"]),
            " / ".join(f"{x['cpu_us_per_poll']:.0f}" for x in rounds["official"]),
            " / ".join(f"{x['cpu_us_per_poll']:.0f}" for x in rounds["raw"]),
            f"{r['rounds']} rounds each",
            "-",
            "info",
        ),
        (
            "  (info) errors, polls per round",
            f"{errors['ours']}, {r['polls_per_round']['ours']:.0f}",
            f"{errors['official']}, {r['polls_per_round']['official']:.0f}",
            f"{errors['raw']}, {r['polls_per_round']['raw']:.0f}",
            "-",
            "0 errors",
            "info",
        ),
        *_before_row(r, cpu.get("before"), cpu["official"], "{:.0f} µs"),
    ]


def rows_cli(r: dict[str, Any]) -> list[Row]:
    return [
        (
            "spine --help: wall ms (median)",
            f"{r['median_ms']:.0f}",
            "no CLI",
            "-",
            "-",
            "< 300 ms",
            verdict(r["pass"]),
        )
    ]


def rows_schedule(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for label, seconds in r["lengths_s"].items():
        key = str(seconds)
        ours = r["ours"]["runs"][key]["polls"]
        official = r["official"]["runs"][key]["polls"]
        fixed = r["fixed_5s"]["runs"][key]["polls"]
        rows.append(
            (
                f"polls by wait() for a {label} run",
                str(ours),
                str(official),
                f"{fixed} (fixed 5 s)",
                f"{ours / fixed:.2f}x fixed",
                "reported",
                "info",
            )
        )
    return rows


def rows_ledger(r: dict[str, Any]) -> list[Row]:
    scale, cost, kills = r["scale"], r["cost"], r["kills"]
    items = f"{scale['items']:,}"
    killed = ", ".join(f"{k:.1f}" for k in kills["kills_at_s"]) or "none"
    return [
        (f"batch of {items} in one process: errors", str(scale["errors"]), "no batches", "-",
         "-", "0", verdict(scale["errors"] == 0)),
        (f"batch of {items}: memory, MiB per 1,000 items", f"{scale['mib_per_1000']:.1f}",
         "-", f"peak {scale['peak_rss_mib']:.0f} MiB, before {scale['rss_before_mib']:.0f}",
         "-", f"<= {ledger.MAX_MIB_PER_1000:.0f} MiB", verdict(r["pass_scale"])),
        ("  (info) wall s, summary lines, artifacts",
         f"{scale['wall_s']:.0f} s, {scale['summary_lines']:,}, {scale['artifacts']:,}", "-",
         f"runs of {scale['run_duration_s']:g} s", "-", "-", "info"),
        ("ledger cost per create, µs (2 commits, fsync)", f"{cost['create_us']:.0f}", "-",
         "-", "-", "reported", "info"),
        ("ledger cost per poll, µs (read; no write)", f"{cost['poll_us']:.1f}", "-",
         f"{cost['end_us']:.0f} µs per terminal state", "-", "reported", "info"),
        (f"{kills['items']:,} items, kill -9 x{len(kills['kills_at_s'])}: runs created",
         f"{kills['runs_created']:,}", "-", f"{kills['items']:,} items", "-",
         f"= {kills['items']:,}", verdict(kills["runs_created"] == kills["items"])),
        ("  ... summary lines, all completed", f"{kills['summary_lines']:,}", "-",
         f"{kills['statuses']}", "-", f"= {kills['items']:,}", verdict(kills["pass"])),
        ("  (info) killed at s; creates re-sent by key",
         killed, "-", f"{kills['replayed']} replayed", "-",
         f"{kills['wall_s']:.0f} s in all", "info"),
    ]


ROWS: dict[str, Callable[[dict[str, Any]], list[Row]]] = {
    "percall": rows_percall,
    "import": rows_import,
    "first": rows_first,
    "upload": rows_upload,
    "wait": rows_wait,
    "threads": rows_threads,
    "cli": rows_cli,
    "schedule": rows_schedule,
    "ledger": rows_ledger,
}


def render(rows: list[Row]) -> str:
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(row: Row) -> str:
        return " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    return "\n".join([line(HEADER), rule, *(line(row) for row in rows)])


def footnotes(results: dict[str, Any], elapsed: float) -> list[str]:
    notes = []
    versions = results.get("percall", {}).get("versions")
    if versions:
        notes.append(
            f"versions: ours {versions['ours']}, official {versions['official']}, "
            f"raw {versions['raw']} (same httpx and pydantic in both venvs)"
        )
    sched = results.get("schedule")
    if sched:
        sleeps = ", ".join(f"{s:g}" for s in sched["ours"]["sleeps"])
        notes.append(
            f"default wait() schedule (both SDKs): poll, then sleep {sleeps}, ... s "
            "(2 s doubling to 30 s); timeout lifted so long runs are followed to the end"
        )
    wait = results.get("wait")
    if wait:
        notes.append(
            f"concurrent wait(): sandbox run_duration={wait['run_duration_s']:g} s, "
            f"poll_interval={wait['poll_interval_s']:g} s doubling to "
            f"{wait['max_poll_interval_s']:g} s; polls counted in the sandbox's request log"
        )
    notes.append(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.machine()}; total time {elapsed:.0f} s; details in .bench/results.json"
    )
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated figures among {', '.join(FIGURES)}")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--before",
        metavar="REF",
        help="also measure this SDK at git commit REF (figures threads and first)",
    )
    args = parser.parse_args(argv)
    names = list(FIGURES) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(unknown)}")

    began = time.perf_counter()
    pythons = Pythons(
        ours=sys.executable,
        official=ensure_official_python(),
        before=ensure_before_python(args.before) if args.before else None,
    )
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in names:
        started = time.perf_counter()
        try:
            results[name] = FIGURES[name](pythons)
            if args.before:
                results[name]["before_ref"] = args.before
        except Exception:  # one broken figure must not hide the others
            errors[name] = traceback.format_exc()
            log(f"{name} FAILED to run:\n{errors[name]}")
        else:
            results[name]["seconds"] = time.perf_counter() - started
            log(f"{name} done in {results[name]['seconds']:.0f} s")
    elapsed = time.perf_counter() - began

    rows: list[Row] = []
    for name in names:
        if name in results:
            rows += ROWS[name](results[name])
        else:
            rows.append((f"{name}: did not run (see stderr)", "", "", "", "", "", "ERROR"))
    print(f"Spine SDK benchmarks: this SDK vs the official {OFFICIAL} vs raw httpx")
    print()
    print(render(rows))
    print()
    for note in footnotes(results, elapsed):
        print(f"* {note}")

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    out = BENCH_DIR / "results.json"
    payload = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_s": elapsed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "interpreters": {"ours": pythons.ours, "official": pythons.official},
        "results": results,
        "errors": errors,
    }
    out.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    missed = [row[0].strip() for row in rows if row[-1] == "FAIL"]
    if errors:
        return 1
    return 1 if (args.strict and missed) else 0
