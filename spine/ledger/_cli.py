"""``spine runs list|show|resume`` and ``spine batch``: argument definitions and commands.

:func:`add_commands` adds the subcommands to the ``spine`` parser; each ``cmd_*`` takes the
parsed arguments and returns the exit status, raising the SDK's errors for the command line
to report (a :class:`LedgerError` is exit 1; a :class:`LedgerUsageError`, bad batch input
included, exit 2; see ``docs/cli.md``). Results go to stdout (a table, or one JSON document
with ``--json``), everything else to stderr. Ctrl-C writes what is known (the summary of a
batch), says how to continue, and exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TextIO

from spine.cli._errors import command
from spine.ledger._display import one_line

__all__ = [
    "COMMANDS",
    "add_commands",
    "cmd_batch",
    "cmd_runs_list",
    "cmd_runs_resume",
    "cmd_runs_show",
    "parse_since",
]

_SANDBOX_POLL = (0.2, 1.0)
_POLL = (2.0, 30.0)


# ----------------------------------------------------------------------------- arguments


def parse_since(text: str, *, now: float | None = None) -> float:
    """``--since``: ``30m``, ``2h``, ``3d``, ``1w`` ago, or an ISO date or date-time (local
    time unless it carries an offset). Returns seconds since the epoch."""
    now = time.time() if now is None else now
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text)
    if match:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
        return now - float(match.group(1)) * unit
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use 30m, 2h, 3d, 1w, or a date such as 2026-05-01)"
        ) from None
    return when.timestamp()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None


def _timeout(text: str) -> float | None:
    """``--timeout``: a positive number of seconds; ``none``, ``never``, ``inf`` or any number
    too large to hold (``1e400``) mean no limit."""
    if text.strip().lower() in ("none", "never"):
        return None
    value = _number(text)
    if value == math.inf:
        return None
    if not value > 0:  # also NaN
        raise argparse.ArgumentTypeError(
            f"must be a positive number of seconds, or 'none' for no limit; got {text!r}"
        )
    return value


def _positive(text: str) -> float:
    """``--poll-interval``: a positive, finite number of seconds."""
    value = _number(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"must be a positive number of seconds, got {text!r}"
        )
    return value


_STATES = (
    "sending", "ambiguous", "rejected", "running", "completed", "partial", "failed", "lost"
)

LEDGER_HELP = (
    "the run ledger file (default: $SPINE_LEDGER, then the user data folder; 'off' disables)"
)


def add_commands(
    commands: Any, *, parents: list[argparse.ArgumentParser], formatter: type | None = None
) -> None:
    """Add ``runs`` and ``batch`` to the ``spine`` subparsers. ``parents`` give the options
    every API command shares (``--debug``, ``--base-url``, ``--json``)."""
    fmt = formatter or argparse.RawDescriptionHelpFormatter
    ledger = argparse.ArgumentParser(add_help=False)
    ledger.add_argument("--ledger", metavar="PATH", help=LEDGER_HELP)

    runs = commands.add_parser(
        "runs",
        formatter_class=fmt,
        help="find runs created on this machine later (list, show, resume)",
        description=(
            "The run ledger: every run this machine created or followed, kept in a local\n"
            "SQLite file (see docs/runs.md). Spine has no endpoint that lists runs."
        ),
    )
    sub = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    listing = sub.add_parser(
        "list", parents=[*parents, ledger], formatter_class=fmt,
        help="list recorded runs, newest first",
        description="List the runs in the ledger, newest first.",
    )
    listing.add_argument("--status", action="append", choices=_STATES, metavar="S",
                         help=f"only runs in this state (repeatable): {', '.join(_STATES)}")
    listing.add_argument("--since", type=parse_since, metavar="T",
                         help="only runs created since T: 30m, 2h, 3d, 1w or a date")
    listing.add_argument("--limit", type=_count, metavar="N", help="at most N runs")

    show = sub.add_parser(
        "show", parents=[*parents, ledger], formatter_class=fmt,
        help="show one recorded run (canvas link, artifacts, key)",
        description="Show everything the ledger knows about one run: its ids, state, request,"
        "\ncanvas link, errors and the paths of its downloaded artifacts.",
    )
    show.add_argument("ref", metavar="ID",
                      help="a run id (or its first 6 characters or more), an Idempotency-Key,"
                      " or a row number")

    resume = sub.add_parser(
        "resume", parents=[*parents, ledger], formatter_class=fmt,
        help="follow every recorded run that has not ended, and record how it ends",
        description="Re-attach every run of this API host that the ledger has not seen end,\n"
        "follow them with a live display and record their outcome. Creates that may\n"
        "have made a run (ambiguous) are listed with their Idempotency-Key.",
    )
    resume.add_argument("--timeout", type=_timeout, default=None, metavar="S",
                        help="stop after S seconds (default: until every run ends)")
    resume.add_argument("--poll-interval", type=_positive, metavar="S",
                        help="first interval between polls, doubling to 30 s (default 2)")
    resume.add_argument("-q", "--quiet", action="store_true", help="no live display")

    batch = commands.add_parser(
        "batch",
        parents=[*parents, ledger],
        formatter_class=fmt,
        help="create a run per line of a JSON Lines file, wait for all, save the artifacts",
        description=(
            "Create a run for every item of FILE (JSON Lines: prompt, template, blocks,\n"
            "agent_instructions, files, id), wait for all, download each item's artifacts\n"
            "into DIR/<id>/ and write DIR/summary.jsonl. Run the same command again after\n"
            "any interruption: it continues where it stopped and creates nothing twice."
        ),
        epilog=(
            "exit status, the first that applies: 2 bad input (nothing sent), or some item\n"
            "changed since its run was created (see --rerun-changed); 5 some run still going\n"
            "when --timeout passed; 10 some run lost (the API answered 404); 4 some failed;\n"
            "7 the API refused some create, or some run's state could not be read; 1 some\n"
            "create is ambiguous (see --resend-ambiguous) or not started; 9 artifacts not\n"
            "saved; 3 some ended partial; 0 every item completed. 6 a refused API key and\n"
            "130 Ctrl-C (the summary is written first: run the command again to continue)."
        ),
    )
    batch.add_argument("file", metavar="FILE", help="the JSON Lines file of items")
    batch.add_argument("--out", required=True, metavar="DIR",
                       help="where artifacts and summary.jsonl go (created if missing)")
    batch.add_argument("--concurrency", type=_count, default=8, metavar="N",
                       help="creates and downloads in flight at once (default 8)")
    batch.add_argument("--timeout", type=_timeout, default=None, metavar="SECONDS",
                       help="stop after SECONDS, creates included (default: until every run "
                       "ends); running the command again picks up the runs still going")
    batch.add_argument("--poll-interval", type=_positive, metavar="S",
                       help="first interval between polls of a run, doubling to 30 s "
                       "(default 2; 0.2 with --sandbox)")
    batch.add_argument("--resend-ambiguous", action="store_true",
                       help="re-send creates that may have made a run, with their original "
                       "Idempotency-Key (check them in the summary first)")
    batch.add_argument("--rerun-changed", action="store_true",
                       help="create a new run for items changed since their run was created "
                       "(default: list them as changed and leave them; exit 2)")
    batch.add_argument("--no-download", dest="download", action="store_false",
                       help="do not save artifacts")
    batch.add_argument("--sandbox", action="store_true",
                       help="run against an embedded local sandbox (offline, free); its runs "
                       "end with the process, so it records nothing unless --ledger is given")
    batch.add_argument("--sandbox-duration", type=_positive, metavar="S",
                       help="with --sandbox: how long a run takes (default 3)")
    batch.add_argument("-q", "--quiet", action="store_true", help="no live display")


# ----------------------------------------------------------------------------- helpers


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M")


def _stream_live(stream: TextIO, quiet: bool) -> bool:
    from spine.ledger._display import wants_live

    return not quiet and wants_live(stream)


def _open(args: argparse.Namespace) -> Any:
    from spine.ledger._paths import ENV_VAR, open_ledger

    given = getattr(args, "ledger", None)
    ledger = open_ledger(given)
    if ledger is None:
        source = "--ledger off" if given is not None and given.strip() else f"{ENV_VAR}=off"
        raise _usage(
            f"the run ledger is turned off ({source}), so there are no recorded runs to use:"
            f" unset {ENV_VAR}, or point it (or --ledger PATH) at a ledger file"
        )
    return ledger


def _usage(message: str) -> Exception:
    from spine.ledger._errors import LedgerUsageError

    return LedgerUsageError(message)


@contextlib.asynccontextmanager
async def _async_client(
    args: argparse.Namespace, *, retries: bool = True
) -> AsyncIterator[Any]:
    import spine

    policy = None if retries else spine.RetryPolicy(max_retries=0)
    if getattr(args, "sandbox", False):
        from spine.testing import Sandbox

        with Sandbox(run_duration=getattr(args, "sandbox_duration", None) or 3.0) as box:
            print(f"Using an embedded sandbox at {box.url}: simulated runs, offline and free.",
                  file=sys.stderr, flush=True)
            async with spine.AsyncSpineClient(
                api_key=box.api_key, base_url=box.url, retry_policy=policy
            ) as client:
                yield client
        return
    key = os.environ.get("SPINE_API_KEY", "")
    if not key.strip():
        from spine.cli._errors import missing_key_message

        raise spine.AuthenticationError(missing_key_message(args), status_code=0)
    try:
        client = spine.AsyncSpineClient(
            api_key=key, base_url=getattr(args, "base_url", None) or None, retry_policy=policy
        )
    except (TypeError, ValueError) as exc:
        raise _usage(str(exc)) from exc
    async with client:
        yield client


def _document(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=True) + "\n")
    sys.stdout.flush()


# ----------------------------------------------------------------------------- runs


def cmd_runs_list(args: argparse.Namespace) -> int:
    """``spine runs list``: a table (or ``--json``) of the ledger's runs, newest first."""
    with _open(args) as ledger:
        records = ledger.list(status=args.status, since=args.since, limit=args.limit)
    if args.json:
        _document([r.to_dict() for r in records])
        return 0
    if not records:
        print("No runs recorded" + (" matching those filters." if args.status or args.since
                                    else " yet."), file=sys.stderr)
        return 0
    lines = [f"{'created':<16}  {'state':<9}  {'run id':<36}  {'credits':>7}  label / prompt"]
    for r in records:
        name = r.label or (f"{r.item_id}" if r.item_id else "") or ""
        prompt = one_line(r.prompt or "")
        text = f"{name}: {prompt}" if name and prompt else name or prompt
        lines.append(
            f"{_when(r.created_at):<16}  {r.state:<9}  {r.run_id or '-':<36}  "
            f"{r.credits if r.credits is not None else '-':>7}  {one_line(text)[:60]}"
        )
    print("\n".join(lines), flush=True)
    return 0


def cmd_runs_show(args: argparse.Namespace) -> int:
    """``spine runs show ID``: one record in full (exit 1 when it is not in the ledger)."""
    with _open(args) as ledger:
        try:
            record = ledger.get(args.ref)
        except LookupError as exc:
            raise _usage(str(exc)) from exc
    if record is None:
        from spine.ledger._errors import LedgerError
        from spine.ledger._store import MIN_PREFIX

        ref = args.ref.strip()
        short = (
            f" A run id is looked up by its first {MIN_PREFIX} characters or more; {ref!r} has"
            f" {len(ref)}."
            if len(ref) < MIN_PREFIX and not ref.isdigit() else ""
        )
        raise LedgerError(
            f"No run {args.ref!r} in the run ledger {ledger.path}.{short}"
            " (see `spine runs list`)",
            path=ledger.path,
        )
    if args.json:
        _document(record.to_dict())
        return 0
    rows: list[tuple[str, str]] = [
        ("Run", record.run_id or "- (no run id: the create did not succeed)"),
        ("State", record.state + (f" ({record.status})" if record.status not in
                                  (None, record.state) else "")),
        ("Created", _when(record.created_at)),
    ]
    if record.finished_at:
        rows.append(("Finished", _when(record.finished_at)))
    if record.duration_ms is not None:
        rows.append(("Duration", f"{record.duration_ms / 1000:.1f} s"))
    if record.credits is not None:
        rows.append(("Credits", str(record.credits)))
    rows.append(("API", record.api_host))
    if record.canvas_url:
        rows.append(("Canvas", record.canvas_url))
    elif record.canvas_id:  # not a run of the Spine API host: its canvas is not on the web app
        rows.append(("Canvas", f"{one_line(record.canvas_id)} (not on the web app)"))
    if record.idempotency_key:
        rows.append(("Key", record.idempotency_key))
    if record.label:
        rows.append(("Label", one_line(record.label)))
    if record.batch:
        rows.append(("Batch", f"{one_line(record.batch)} item {record.item_id}"))
    if record.template:
        rows.append(("Template", one_line(record.template)))
    if record.blocks:
        rows.append(("Blocks", ", ".join(map(one_line, record.blocks))))
    if record.prompt is not None:
        rows.append(("Prompt", one_line(record.prompt)[:300]))
    for f in record.files:
        rows.append(("File", f"{one_line(f.get('name'))} ({f.get('size')} bytes, sha256 "
                             f"{(f.get('sha256') or '?')[:16]}...)"))
    if record.error:
        rows.append(("Note", one_line(record.error)))
    for e in record.errors:
        rows.append(("Error", one_line(e.get("error", ""))))
    for a in record.artifacts:
        rows.append(("Artifact", one_line(a.path)))
    print("\n".join(f"{label + ':':<10}{value}" for label, value in rows), flush=True)
    if record.state == "ambiguous":
        print(
            "\nThis create may have made a run. Check before creating it again: Spine does not"
            " document deduplication by Idempotency-Key. If you do, pass the same request and"
            f" --idempotency-key {record.idempotency_key} so that a server that honours the key"
            " can return the first run (a batch item: run the batch again with"
            " --resend-ambiguous).",
            file=sys.stderr,
        )
    return 0


def _exit_for(counts: dict[str, int], *, elsewhere: int = 0) -> int:
    """The exit status of ``spine runs resume`` (as a batch's, see ``docs/cli.md``): runs of
    other API hosts left unfollowed (``elsewhere``) count as still going (5)."""
    if counts.get("running") or counts.get("sending") or elsewhere:
        return 5
    if counts.get("lost"):
        return 10
    if counts.get("failed"):
        return 4
    if counts.get("ambiguous"):
        return 1
    if counts.get("partial"):
        return 3
    return 0


def cmd_runs_resume(args: argparse.Namespace) -> int:
    """``spine runs resume``: follow every unfinished run of this API host to its end."""
    import asyncio

    from spine.ledger._batch import BatchUpdate
    from spine.ledger._display import BatchDisplay
    from spine.ledger._recorded import AsyncRecordedRuns

    ledger = _open(args)
    followed: list[Any] = []
    notes: dict[str, Any] = {}

    async def main() -> int:
        async with _async_client(args) as client:
            runs = AsyncRecordedRuns(client, ledger, None)
            waiting = runs._to_resume()
            followed.extend(waiting)
            ambiguous = [r for r in ledger.unfinished(api_host=runs.host)
                         if r.state == "ambiguous"]
            notes["ambiguous"] = ambiguous
            notes["elsewhere"] = runs.other_hosts()
            counts = {"running": len(waiting)}
            credits = 0
            started = time.monotonic()
            display = BatchDisplay(sys.stderr, live=_stream_live(sys.stderr, args.quiet),
                                   title="resume")
            if not args.quiet:
                print(f"Following {len(waiting)} run(s) of {runs.host} from {ledger.path}",
                      file=sys.stderr, flush=True)

            def update(rec: Any, run: Any) -> None:
                nonlocal credits
                status = str(run.status)
                counts["running"] -= 1
                counts[status] = counts.get(status, 0) + 1
                credits += run.metadata.credits_consumed if run.metadata else 0
                if not args.quiet:
                    display(BatchUpdate(dict(counts), credits, len(waiting),
                                        time.monotonic() - started, rec.run_id, status))

            first, cap = args.poll_interval or _POLL[0], _POLL[1]
            notes["display"] = display
            try:
                records = await runs.resume(
                    timeout=args.timeout, poll_interval=first,
                    max_poll_interval=max(first, cap), on_update=update,
                )
            finally:
                display.close()
            return _report_resume(args, records, ambiguous, notes["elsewhere"])

    with ledger:
        try:
            return asyncio.run(main())
        except KeyboardInterrupt:
            if "display" in notes:
                notes["display"].close()
            records = [ledger.row(r.id) for r in followed]
            _report_resume(args, records, notes.get("ambiguous", []),
                           notes.get("elsewhere", {}))
            print("spine runs resume: interrupted. The runs go on: run"
                  f" `{command('runs', 'resume', args=args)}` again to continue following them.",
                  file=sys.stderr, flush=True)
            return 130


def _report_resume(args: argparse.Namespace, records: list[Any], ambiguous: list[Any],
                   elsewhere: dict[str, int]) -> int:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.state] = counts.get(r.state, 0) + 1
    if ambiguous:
        counts["ambiguous"] = len(ambiguous)
    if args.json:
        _document({"runs": [r.to_dict() for r in records],
                   "ambiguous": [r.to_dict() for r in ambiguous], "counts": counts,
                   "other_hosts": elsewhere})
    else:
        for r in records:
            print(f"{r.run_id}  {r.state:<9}  {r.credits if r.credits is not None else '-':>6}"
                  f"  {r.canvas_url or ''}", flush=True)
        for r in ambiguous:
            print(
                f"ambiguous create (key {r.idempotency_key}, {_when(r.created_at)}): it may have"
                " made a run (and been charged). Check before creating it again (a webhook"
                " endpoint subscribed to run.started gets an event for every run created); if you"
                " do, pass that --idempotency-key so that a server that honours the key can"
                " return the first run (Spine does not document that it does)",
                file=sys.stderr, flush=True,
            )
        for r in records:
            if r.state == "lost":
                print(f"lost: run {r.run_id}: {one_line(r.error or 'the API answered 404')}",
                      file=sys.stderr, flush=True)
            elif r.state == "running" and r.error:
                print(f"not followed: {one_line(r.error)}", file=sys.stderr, flush=True)
    if elsewhere:
        total = sum(elsewhere.values())
        hosts = ", ".join(f"{host} ({n})" for host, n in sorted(elsewhere.items()))
        first = sorted(elsewhere)[0]
        print(
            f"{total} unfinished run(s) of other API hosts, not followed: {hosts}. To follow"
            f" them, run `{command('runs', 'resume', args=args, base_url=first)}`.",
            file=sys.stderr, flush=True,
        )
    return _exit_for(counts, elsewhere=sum(elsewhere.values()))


# ----------------------------------------------------------------------------- batch


def cmd_batch(args: argparse.Namespace) -> int:
    """``spine batch FILE --out DIR``: see :func:`spine.ledger.arun_batch`."""
    import asyncio

    from spine.ledger._batch import arun_batch, read_items
    from spine.ledger._display import BatchDisplay

    if args.sandbox_duration is not None and not args.sandbox:
        raise _usage("--sandbox-duration only applies with --sandbox")
    try:
        items = read_items(args.file)
    except OSError as exc:
        raise _usage(f"cannot read {args.file}: {(exc.strerror or str(exc)).lower()}") from exc
    ledger_arg: str | None = args.ledger
    if args.sandbox and ledger_arg is None:
        ledger_arg = "off"  # a sandbox's runs end with this process: nothing to resume
    sandbox_poll = args.sandbox
    first = args.poll_interval or (_SANDBOX_POLL[0] if sandbox_poll else _POLL[0])
    cap = _SANDBOX_POLL[1] if sandbox_poll else _POLL[1]
    display = BatchDisplay(sys.stderr, live=_stream_live(sys.stderr, args.quiet), title="batch")
    on_update: Callable[[Any], object] | None = None if args.quiet else display

    interrupted: dict[str, Any] = {}

    async def main() -> Any:
        async with _async_client(args, retries=False) as client:
            try:
                return await arun_batch(
                    client,
                    items,
                    out=args.out,
                    ledger=ledger_arg,
                    concurrency=args.concurrency,
                    timeout=args.timeout,
                    resend_ambiguous=args.resend_ambiguous,
                    rerun_changed=args.rerun_changed,
                    poll_interval=first,
                    max_poll_interval=max(first, cap),
                    download=args.download,
                    on_update=on_update,
                )
            except asyncio.CancelledError as exc:  # Ctrl-C: the summary was written
                interrupted["report"] = getattr(exc, "batch_report", None)
                raise

    try:
        report = asyncio.run(main())
    except KeyboardInterrupt:
        display.close()
        partial = interrupted.get("report")
        if partial is not None:
            print(partial.table(), file=sys.stderr, flush=True)
        print("spine batch: interrupted. Runs already created go on: run the same command"
              " again to continue (nothing is created twice).", file=sys.stderr, flush=True)
        return 130
    except Exception as exc:
        display.close()
        partial = getattr(exc, "batch_report", None)
        if partial is not None:
            print(partial.table(), file=sys.stderr, flush=True)
        raise
    display.close()
    print(report.table(), file=sys.stderr, flush=True)
    if args.json:
        _document({
            "total": report.total,
            "counts": report.counts,
            "credits": report.credits,
            "summary": str(report.summary_path),
            "ledger": report.ledger_path,
            "exit_code": report.exit_code,
            "attention": [o.to_json() for o in report.attention],
        })
    if report.counts.get("changed"):
        print(
            "Some items changed since their run was created (changed): they were neither"
            " reused nor created again. Give each a new id, or run the same command with"
            " --rerun-changed to create a new run for them.", file=sys.stderr, flush=True,
        )
    if report.counts.get("ambiguous"):
        print(
            "Some creates may have made a run (ambiguous): check them in the summary, then run"
            " the same command with --resend-ambiguous to send them again with their original"
            " Idempotency-Key (a server that honours the key returns the first run; Spine does"
            " not document that it does).", file=sys.stderr, flush=True,
        )
    return int(report.exit_code)


def record_downloads(recorded: Any, run: Any, saved: list[dict[str, Any]]) -> str | None:
    """Record the artifacts a command saved (``{"artifact_id", "path", ...}`` each) for
    ``run`` through a :class:`RecordedRun` (``spine run``, ``spine wait``) or
    :class:`RecordedRuns` (``spine download``: the run is recorded as followed if the ledger
    did not know it). Returns None, or why the ledger could not record them."""
    import warnings

    from spine.ledger._recorded import RecordedRun

    by_id = {a.id: a for a in (run.result.artifacts if run.result is not None else [])}
    pairs = [(by_id[d["artifact_id"]], d["path"]) for d in saved if d["artifact_id"] in by_id]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if isinstance(recorded, RecordedRun):
            done = recorded.record_downloads(pairs)
        else:
            done = recorded.record_downloads(run, pairs)
    if done:
        return None
    return str(caught[-1].message) if caught else "the ledger failed"


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "list": cmd_runs_list,
    "show": cmd_runs_show,
    "resume": cmd_runs_resume,
    "batch": cmd_batch,
}


def dispatch(args: argparse.Namespace) -> int:
    """Run ``spine runs ACTION`` or ``spine batch``. A :class:`LedgerUsageError` (nothing
    was sent) becomes the command line's usage error: exit status 2."""
    from spine.cli._errors import UsageError
    from spine.ledger._errors import LedgerUsageError

    try:
        if args.command == "batch":
            return cmd_batch(args)
        return COMMANDS[args.runs_command](args)
    except LedgerUsageError as exc:
        raise UsageError(str(exc)) from exc
