"""The subcommands of ``spine`` (imported only once a subcommand runs: this is where the client,
httpx and pydantic get loaded).

Output contract: stdout carries the result (the final output, a run id, paths, a picture, or
with ``--json`` exactly one JSON document); stderr carries progress, notes and errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from spine import (
    ArtifactLinkExpiredError,
    GetRunResponse,
    InvalidRequestError,
    RunArtifact,
    RunHandle,
    RunStatus,
    SpineClient,
    SpineError,
    SpineTimeoutError,
    check_create,
)
from spine._artifacts import DownloadEvents, download_batch, source_of
from spine._files import check_upload_path
from spine._links import canvas_link
from spine._redact import redact, redact_deep
from spine.cli._errors import (
    EXIT_AUTH,
    EXIT_DOWNLOAD,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    UsageError,
    command,
    follow_advice,
    missing_key_message,
)
from spine.cli._render import (
    DownloadBar,
    ProgressDisplay,
    dag_dot,
    dag_mermaid,
    dag_tree,
    format_bytes,
    format_elapsed,
    printable,
    printable_block,
    single_task,
    task_tree,
)

if TYPE_CHECKING:
    from spine.ledger import RecordedRun, RecordedRuns

__all__ = ["CommandError", "DownloadFailed", "MissingKeyError", "dispatch"]

_MAX_POLL_INTERVAL = 10.0
_SANDBOX_POLL_INTERVAL = 0.2


class MissingKeyError(CliError):
    """No API key in the environment: exit status 6 (authentication)."""

    exit_code = EXIT_AUTH


class CommandError(CliError):
    """The command could not do its job for a reason no other exit status names: exit 1."""

    exit_code = EXIT_ERROR


class DownloadFailed(CliError):
    """An artifact could not be saved (exit status 9); the cause is chained."""

    exit_code = EXIT_DOWNLOAD


class Output:
    """Where a command writes: results on stdout, everything else on stderr."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.stdout: TextIO = sys.stdout
        self.stderr: TextIO = sys.stderr
        self.json = bool(getattr(args, "json", False))
        self.quiet = bool(getattr(args, "quiet", False))
        term = os.environ.get("TERM", "")
        self.live = _isatty(self.stderr) and term != "dumb" and not self.quiet

    # Everything written passes through redact(): a server that echoes the API key (in a run's
    # output, an artifact name, a canvas...) never gets it onto the terminal or into a pipe.

    def note(self, text: str) -> None:
        if not self.quiet:
            print(redact(text), file=self.stderr, flush=True)

    def result(self, text: str) -> None:
        text = redact(text)
        self.stdout.write(text if text.endswith("\n") else text + "\n")
        self.stdout.flush()

    def document(self, data: Any) -> None:
        # ensure_ascii: no raw control or C1 characters from the server reach a terminal.
        self.result(json.dumps(redact_deep(data), indent=2, ensure_ascii=True))


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# ----------------------------------------------------------------------------- client


@contextlib.contextmanager
def _client(args: argparse.Namespace, out: Output) -> Iterator[SpineClient]:
    if getattr(args, "sandbox", False):
        with _sandbox(args, out) as (url, key), SpineClient(api_key=key, base_url=url) as client:
            yield client
        return
    key = os.environ.get("SPINE_API_KEY", "")
    if not key.strip():
        raise MissingKeyError(missing_key_message(args))
    allow_http = bool(getattr(args, "allow_http", False))
    try:
        client = SpineClient(api_key=key, base_url=args.base_url or None, allow_http=allow_http)
    except (TypeError, ValueError) as exc:
        raise UsageError(_base_url_problem(args, exc)) from exc
    with client:
        yield client


def _base_url_problem(args: argparse.Namespace, exc: Exception) -> str:
    """The client's refusal, said in the command line's terms: a plain-http host is allowed
    with ``--allow-http`` (the Python argument would mean nothing in a shell)."""
    from urllib.parse import urlsplit

    from spine._base_client import resolve_base_url

    url = args.base_url or os.environ.get("SPINE_BASE_URL") or None
    try:
        resolve_base_url(url, None, True)
    except ValueError:
        return str(exc)  # not about http: the URL itself is wrong
    host = urlsplit((url or "").strip()).hostname
    return (
        f"Refusing plain http:// for {host}: the API key would travel unencrypted. Use an"
        " https:// URL, or add --allow-http if this really is a trusted network."
    )


@contextlib.contextmanager
def _sandbox(args: argparse.Namespace, out: Output) -> Iterator[tuple[str, str]]:
    from spine.testing import Sandbox

    with Sandbox(run_duration=args.sandbox_duration or 3.0) as box:
        out.note(f"Using an embedded sandbox at {box.url}: simulated runs, offline and free.")
        yield box.url, box.api_key


# ----------------------------------------------------------------------------- following a run


def _poll_schedule(args: argparse.Namespace) -> tuple[float, float]:
    """The first interval between polls and its cap (a sandbox run lasts seconds)."""
    sandbox = getattr(args, "sandbox", False)
    first = args.poll_interval or (_SANDBOX_POLL_INTERVAL if sandbox else 2.0)
    cap = 1.0 if sandbox else _MAX_POLL_INTERVAL
    return float(first), max(float(first), cap)


def follow(
    handle: RunHandle | RecordedRun,
    display: ProgressDisplay | None,
    *,
    timeout: float | None,
    poll_interval: float,
    max_poll_interval: float = _MAX_POLL_INTERVAL,
    tick_seconds: float = 0.1,
) -> GetRunResponse:
    """Wait for ``handle``'s run with the public ``wait_for_terminal`` and return the terminal
    state, drawing every polled state on ``display``.

    The schedule and deadline are ``wait()``'s, with the interval capped at
    ``max_poll_interval`` (10 s) so the bar stays fresh. A poll that fails transiently (5xx,
    429, network) is retried on the same schedule; only the deadline ends the wait. A live bar
    is redrawn every ``tick_seconds`` between polls (spinner and clock) by a daemon thread.
    """
    lock = threading.Lock()

    def draw(run: GetRunResponse) -> None:
        if display is None:
            return
        with lock:
            if run.is_terminal:
                display.finish(str(run.status), run.duration_ms)
                return
            progress = run.progress
            display.update(
                str(run.status),
                progress.tasks_completed if progress else None,
                progress.tasks_total if progress else None,
                progress.elapsed_ms if progress else None,
            )

    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(tick_seconds):
            with lock:
                if display is not None and not stop.is_set():
                    display.tick()

    ticker = None
    if display is not None and display.live:
        ticker = threading.Thread(target=tick, name="spine-progress", daemon=True)
        ticker.start()
    try:
        return handle.wait_for_terminal(
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max(poll_interval, max_poll_interval),
            on_poll=draw,
        )
    finally:
        stop.set()
        if ticker is not None:
            ticker.join()


def _follow_with_display(
    handle: RunHandle | RecordedRun, args: argparse.Namespace, out: Output
) -> GetRunResponse:
    display = None if out.quiet else ProgressDisplay(out.stderr, live=out.live)
    try:
        first, cap = _poll_schedule(args)
        return follow(
            handle, display, timeout=args.timeout, poll_interval=first, max_poll_interval=cap
        )
    except SpineTimeoutError as exc:
        if exc.run_id is None:  # an HTTP timeout, not --timeout
            raise
        # The same exception (type and exit status 5), with advice a shell user can follow.
        raise SpineTimeoutError(
            _timeout_message(args, handle.run_id), run_id=handle.run_id, timeout=exc.timeout
        ) from exc
    finally:
        if display is not None:
            display.close()


def _timeout_message(args: argparse.Namespace, run_id: str) -> str:
    text = f"Run {run_id} did not end within --timeout {args.timeout:g} s."
    if getattr(args, "sandbox", False):
        duration = args.sandbox_duration or 3.0
        return (
            f"{text} {follow_advice(args, run_id)} Run the command again with a --timeout"
            f" longer than a sandbox run ({duration:g} s)."
        )
    return f"{text} {follow_advice(args, run_id)}"


def _canvas_note(
    args: argparse.Namespace, client: SpineClient, canvas_id: str | None
) -> str | None:
    """The canvas line of a run: the web app's link for a run of the Spine API (the one rule
    in :func:`spine._links.canvas_link`), else its id alone (a sandbox's canvas is not on the
    web app; ``spine dag CANVAS_ID`` draws it)."""
    if not canvas_id:
        return None
    link = canvas_link(canvas_id, client.base_url)
    if link:
        return link
    if getattr(args, "sandbox", False):
        return f"{canvas_id} (a sandbox canvas: not on the web app)"
    return f"{canvas_id} (not on the web app, which shows only the Spine API's canvases)"


def _finish(
    client: SpineClient,
    run: GetRunResponse,
    args: argparse.Namespace,
    out: Output,
    recorded: RecordedRun | None = None,
) -> int:
    """Report a terminal run (and save its artifacts with --download, recording where in the
    run ledger through ``recorded``); the exit status."""
    link = _canvas_note(args, client, run.canvas_id)
    if isinstance(run.status, RunStatus) and run.status.outcome == "failed":
        details = "; ".join(printable(e.error) for e in run.errors or []) or "no error detail"
        if out.json:
            out.document(_run_document(run, client))
        print(
            f"spine {args.command}: error: Run {run.run_id} failed: {details}",
            file=out.stderr,
            flush=True,
        )
        if link:
            out.note(f"Canvas: {link}")
        return EXIT_FAILED

    saved: list[dict[str, Any]] = []
    if args.download and run.result is not None:
        run, saved = _save_all(run, args.download, out)
        _record_downloads(recorded, run, saved, out)
    if out.json:
        out.document(_run_document(run, client, saved))
    else:
        if run.result is not None:
            out.result(printable_block(run.result.final_output))
        _summary(run, saved, link, out, args)
    return EXIT_PARTIAL if run.status == RunStatus.PARTIAL else EXIT_OK


def _summary(
    run: GetRunResponse,
    saved: list[dict[str, Any]],
    link: str | None,
    out: Output,
    args: argparse.Namespace,
) -> None:
    parts = [f"Run {run.run_id} {printable(run.status)}"]
    if run.duration_ms is not None:
        parts.append(f"in {format_elapsed(run.duration_ms / 1000)}")
    if run.metadata is not None:
        parts.append(f"({run.metadata.credits_consumed} credits)")
    out.note(" ".join(parts))
    for error in run.errors or []:
        where = f" [{printable(error.block_type)}]" if error.block_type else ""
        out.note(f"  error{where}: {printable(error.error)}")
    if link:
        out.note(f"Canvas: {link}")
    artifacts = run.result.artifacts if run.result is not None else []
    if artifacts and not saved:
        if getattr(args, "sandbox", False):
            how = "run the command again with --download DIR to save them"
        else:
            how = f"save them with `{command('download', run.run_id, 'artifacts', args=args)}`"
        out.note(f"Artifacts ({len(artifacts)}; {how}):")
        for artifact in artifacts:
            out.note(
                f"  {printable(artifact.name)}  ({printable(artifact.type)}, "
                f"{format_bytes(artifact.size_bytes)})"
            )


def _run_document(
    run: GetRunResponse, client: SpineClient, saved: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = run.model_dump(mode="json")
    data["canvas_url"] = canvas_link(run.canvas_id, client.base_url)
    if saved is not None:
        data["downloads"] = saved
    return data


# ----------------------------------------------------------------------------- downloads


class _SaveEvents(DownloadEvents):
    """Draws the SDK's batch download: a bar per file, a note per file saved, a note when the
    links are refreshed or a file is retried; records what was saved."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.bar: DownloadBar | None = None
        self.saved_items: list[dict[str, Any]] = []

    def progress(self, artifact: RunArtifact, done: int, total: int | None) -> None:
        if self.bar is None:
            self.bar = DownloadBar(self.out.stderr, artifact.name, live=self.out.live)
        self.bar(done, total)

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def saved(self, artifact: RunArtifact, path: Path) -> None:
        self.close_bar()
        size = path.stat().st_size
        self.saved_items.append(
            {
                "artifact_id": artifact.id,
                "name": artifact.name,
                "type": artifact.type,
                "path": str(path),
                "size_bytes": size,
            }
        )
        self.out.note(f"Saved {printable(str(path))} ({format_bytes(size)})")

    def retrying(self, artifact: RunArtifact, error: SpineError, delay: float) -> None:
        self.close_bar()
        self.out.note(f"Downloading {printable(artifact.name)} failed; retrying in {delay:.1f}s...")

    def refreshing(self, artifact: RunArtifact, error: ArtifactLinkExpiredError) -> None:
        self.close_bar()
        self.out.note(
            "A download link was refused; reading the run again for its current links..."
        )


def _save_all(
    run: GetRunResponse, directory: str, out: Output
) -> tuple[GetRunResponse, list[dict[str, Any]]]:
    """Save every artifact of ``run`` into ``directory`` with the SDK's batch download (its
    retries under the client's policy, its one refresh of expired links through the run).
    Returns the (possibly refreshed) run and what was saved."""
    assert run.result is not None
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadFailed(f"Cannot create the directory {directory!r}: {exc}") from exc
    events = _SaveEvents(out)
    try:
        done = download_batch(
            run.result.artifacts, directory, source=source_of(run.result), events=events
        )
    except (SpineError, OSError) as exc:
        raise DownloadFailed(str(exc)) from exc
    finally:
        events.close_bar()
    return (done.run or run), events.saved_items


# ----------------------------------------------------------------------------- commands


def _read_prompt(value: str) -> str:
    if value != "-":
        return value
    text = sys.stdin.read()
    if not text.strip():
        raise UsageError("the prompt read from stdin is empty")
    return text


def _check_files(paths: list[str]) -> list[str]:
    """Every --file must be a readable regular file (the SDK's own check; a FIFO, a device or
    a directory could make the upload never end), before the client is even built."""
    for path in paths:
        if not os.path.exists(path):
            raise UsageError(f"--file {path!r}: no such file")
        try:
            check_upload_path("--file", path)
        except InvalidRequestError as exc:
            raise UsageError(exc.message) from None
        except OSError as exc:
            raise UsageError(f"--file {path!r}: {exc.strerror or exc}") from None
        if not os.access(path, os.R_OK):
            raise UsageError(f"--file {path!r} is not readable")
    return paths


def _blocks(values: list[str]) -> list[str] | None:
    blocks = [b.strip() for value in values for b in value.split(",") if b.strip()]
    if values and not blocks:
        raise UsageError("--block needs a block type, e.g. --block table-block")
    return blocks or None


def cmd_run(args: argparse.Namespace, out: Output) -> int:
    if args.download and not args.wait:
        raise UsageError("--download needs the run to end: drop --no-wait")
    if args.sandbox and not args.wait:
        raise UsageError(
            "--no-wait cannot follow a --sandbox run: the embedded sandbox ends with this"
            " command. Drop --no-wait, or serve a sandbox with `spine sandbox` in another"
            " shell and point SPINE_BASE_URL at it."
        )
    if args.sandbox_duration is not None and not args.sandbox:
        raise UsageError("--sandbox-duration only applies with --sandbox")
    prompt = _read_prompt(args.prompt)
    files = _check_files(args.file)
    blocks = _blocks(args.block)
    # The key is chosen here, not by the SDK, so that whatever interrupts the create (Ctrl-C,
    # an error after the request may have reached the server) can be answered with the exact
    # command that sends the create again with the same key (spine.cli._main reports it).
    key = args.idempotency_key or str(uuid.uuid4())
    create: dict[str, Any] = {
        "template": args.template or "auto",
        "blocks": blocks,
        "agent_instructions": args.instructions,
        "files": files or None,
        "idempotency_key": key,
    }
    # What runs.create would refuse is refused now, before a client (or a sandbox) is made.
    check_create(prompt, **create)
    with _client(args, out) as client:
        runs = _recorded(client, args)  # a broken ledger stops here, before anything is sent
        args.pending_key = key
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # reported below as one note
            handle = runs.create(prompt, **create)
        args.current_run_id = handle.run_id
        args.pending_key = None
        out.note(f"Created run {handle.run_id}")
        _ledger_note(handle, out)
        note = _canvas_note(args, client, handle.canvas_id)
        if note:
            out.note(f"Canvas: {note}")
        if not args.wait:
            if handle.ledger_error is not None and handle.flush_ledger():
                out.note(f"Note: run {handle.run_id} is now recorded in the run ledger.")
            if out.json:
                data: dict[str, Any] = (
                    handle.create_response.model_dump(mode="json")
                    if handle.create_response is not None
                    else {"run_id": handle.run_id}
                )
                data["canvas_url"] = canvas_link(handle.canvas_id, client.base_url)
                out.document(data)
            else:
                out.result(handle.run_id)
                out.note(f"Follow it with `{command('wait', handle.run_id, args=args)}`.")
            return EXIT_OK
        run = _follow_with_display(handle, args, out)
        return _finish(client, run, args, out, handle)


def cmd_wait(args: argparse.Namespace, out: Output) -> int:
    from spine.ledger import LedgerError

    with _client(args, out) as client:
        handle: RunHandle | RecordedRun
        try:
            handle = _recorded(client, args).attach(args.run_id)
        except LedgerError as exc:  # following costs nothing: go on without the ledger
            out.note(f"Note: not recording this run: {exc}")
            handle = client.runs.attach(args.run_id)
        args.current_run_id = handle.run_id
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = _follow_with_display(handle, args, out)
        recorded = handle if not isinstance(handle, RunHandle) else None
        return _finish(client, run, args, out, recorded)


def _recorded(client: SpineClient, args: argparse.Namespace) -> RecordedRuns:
    """``client.runs`` recording into the ledger (``--ledger``, ``SPINE_LEDGER``, or the
    default file; a ``--sandbox`` run is not recorded unless ``--ledger`` is given: its server
    ends with this process)."""
    from spine.ledger import record

    ledger = getattr(args, "ledger", None)
    if getattr(args, "sandbox", False) and ledger is None:
        ledger = "off"
    return record(client, ledger)


def _record_downloads(
    recorded: RecordedRun | RecordedRuns | None,
    run: GetRunResponse,
    saved: list[dict[str, Any]],
    out: Output,
) -> None:
    """Record in the run ledger where the artifacts were saved (best effort: a note)."""
    if recorded is None or not saved:
        return
    from spine.ledger._cli import record_downloads

    problem = record_downloads(recorded, run, saved)
    if problem is not None:
        out.note(f"Note: the run ledger could not record where the artifacts were saved: {problem}")


def _ledger_note(handle: RecordedRun, out: Output) -> None:
    if handle.ledger_error is not None:
        out.note(
            f"Note: the run ledger could not record run {handle.run_id} (keep this id): "
            f"{handle.ledger_error}"
        )


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    with _client(args, out) as client:
        run = client.runs.get(args.run_id)
        note = _canvas_note(args, client, run.canvas_id)
    if out.json:
        out.document(_run_document(run, client))
        return EXIT_OK
    rows = [("Run", run.run_id), ("Status", printable(run.status))]
    if run.progress is not None and not run.is_terminal:
        p = run.progress
        rows.append(
            (
                "Progress",
                f"{p.tasks_completed}/{p.tasks_total} tasks, "
                f"{format_elapsed(p.elapsed_ms / 1000)} elapsed",
            )
        )
    if run.duration_ms is not None:
        rows.append(("Duration", format_elapsed(run.duration_ms / 1000)))
    if run.template:
        rows.append(("Template", printable(run.template)))
    if run.metadata is not None:
        rows.append(("Credits", str(run.metadata.credits_consumed)))
    if note:
        rows.append(("Canvas", note))
    lines = [f"{label + ':':<10}{value}" for label, value in rows]
    for error in run.errors or []:
        where = f" [{printable(error.block_type)}]" if error.block_type else ""
        lines.append(f"Error{where}: {printable(error.error)}")
    if run.result is not None:
        lines.append(f"Artifacts: {len(run.result.artifacts)}")
        for artifact in run.result.artifacts:
            lines.append(
                f"  {printable(artifact.name)}  ({printable(artifact.type)}, "
                f"{format_bytes(artifact.size_bytes)})"
            )
    out.result("\n".join(lines))
    return EXIT_OK


def cmd_download(args: argparse.Namespace, out: Output) -> int:
    from spine.ledger import LedgerError

    with _client(args, out) as client:
        recorded: RecordedRuns | None
        try:
            recorded = _recorded(client, args)
        except LedgerError as exc:  # downloading costs nothing: go on without the ledger
            out.note(f"Note: not recording this download: {exc}")
            recorded = None
        run = client.runs.get(args.run_id)
        args.current_run_id = run.run_id
        if isinstance(run.status, RunStatus) and run.status.outcome == "failed":
            details = "; ".join(printable(e.error) for e in run.errors or []) or "no detail"
            print(
                f"spine download: error: Run {run.run_id} failed, it has no artifacts: {details}",
                file=out.stderr,
                flush=True,
            )
            if out.json:
                out.document(_run_document(run, client, []))
            return EXIT_FAILED
        if not run.is_terminal:
            advice = command("wait", run.run_id, "--download", args.directory, args=args)
            raise CommandError(
                f"run {run.run_id} is still {printable(run.status)}: wait for it with `{advice}`"
            )
        saved: list[dict[str, Any]] = []
        if run.result is not None and run.result.artifacts:
            run, saved = _save_all(run, args.directory, out)
            _record_downloads(recorded, run, saved, out)
        else:
            out.note(f"Run {run.run_id} produced no artifacts.")
    if out.json:
        out.document(_run_document(run, client, saved))
    else:
        for item in saved:
            out.result(printable(item["path"]))
    return EXIT_OK


def _unicode(out: Output) -> bool:
    encoding = getattr(out.stdout, "encoding", None) or "ascii"
    try:
        "├└│".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def cmd_dag(args: argparse.Namespace, out: Output) -> int:
    with _client(args, out) as client:
        dag = client.canvas.get_dag(args.canvas_id)
    fmt = "json" if out.json else args.format
    if fmt == "json":
        out.document(dag.model_dump(mode="json"))
    elif fmt == "mermaid":
        out.result(dag_mermaid(dag))
    elif fmt == "dot":
        out.result(dag_dot(dag))
    else:
        out.result(dag_tree(dag, unicode=_unicode(out)))
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace, out: Output) -> int:
    with _client(args, out) as client:
        if args.task_id is not None:
            task = client.canvas.get_task(args.canvas_id, args.task_id)
            if out.json:
                out.document(task.model_dump(mode="json"))
            else:
                out.result(single_task(task, unicode=_unicode(out)))
            return EXIT_OK
        tree = client.canvas.get_tasks(args.canvas_id)
    if out.json:
        out.document(tree.model_dump(mode="json"))
    else:
        out.result(task_tree(tree, unicode=_unicode(out)))
    return EXIT_OK


def cmd_contract_check(args: argparse.Namespace, out: Output) -> int:
    """A thin wrapper over :mod:`spine._contract` (where the checking lives)."""
    from spine import _contract

    run_id = args.run_id or os.environ.get("SPINE_CONTRACT_RUN_ID") or None
    try:
        if args.sandbox:
            with _sandbox_for_check(out) as (url, key, sandbox_run):
                report = _contract.run_check(
                    api_key=key, base_url=url, run_id=run_id or sandbox_run,
                    record_dir=Path(args.record) if args.record else None, source="sandbox",
                )  # fmt: skip
        else:
            key = os.environ.get("SPINE_API_KEY", "")
            if not key.strip():
                out.result(
                    "contract-check needs SPINE_API_KEY (your API key), an existing run id "
                    "(RUN_ID or SPINE_CONTRACT_RUN_ID; or --allow-create to create a paid one) "
                    "and optionally SPINE_BASE_URL.\ncontract-check: skipped"
                )
                return EXIT_OK
            if run_id is None and not args.allow_create:
                from spine._links import is_spine_api

                api = args.base_url or os.environ.get("SPINE_BASE_URL") or None
                cost = "which costs credits" if is_spine_api(api) else f"on {api}"
                raise UsageError(
                    "contract-check needs a run id: RUN_ID or SPINE_CONTRACT_RUN_ID (or "
                    f"--allow-create to create a run, {cost})"
                )
            report = _contract.run_check(
                api_key=key, base_url=args.base_url or None, run_id=run_id,
                allow_create=args.allow_create,
                record_dir=Path(args.record) if args.record else None,
            )  # fmt: skip
    except _contract.MissingExtraError as exc:
        raise CommandError(str(exc)) from None
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    if out.json:
        out.document({
            "ok": report.ok,
            "base_url": report.base_url,
            "answers": [
                {"operation": e.operation, "path": e.path, "status": e.status}
                for e in report.exchanges
            ],
            "findings": [vars(f) for f in report.findings],
            "notes": report.notes,
            "recorded": [str(p) for p in report.recorded],
        })  # fmt: skip
    else:
        out.result(_contract.render_table(report))
    return EXIT_OK if report.ok else EXIT_ERROR


@contextlib.contextmanager
def _sandbox_for_check(out: Output) -> Iterator[tuple[str, str, str]]:
    """An embedded sandbox with one finished run to read (free)."""
    from spine.testing import Sandbox

    with Sandbox(run_duration=0.5) as box:
        out.note(f"Checking an embedded sandbox at {box.url} (a stand-in for the live API).")
        with SpineClient(api_key=box.api_key, base_url=box.url) as client:
            handle = client.runs.create("Contract check of the sandbox", template="memo")
            handle.wait(poll_interval=0.1)
        yield box.url, box.api_key, handle.run_id


def cmd_ledger(args: argparse.Namespace, out: Output) -> int:
    """``spine runs ...`` and ``spine batch``: see :mod:`spine.ledger._cli`."""
    from spine.ledger._cli import dispatch as ledger_dispatch

    return ledger_dispatch(args)


COMMANDS: dict[str, Callable[[argparse.Namespace, Output], int]] = {
    "runs": cmd_ledger,
    "batch": cmd_ledger,
    "run": cmd_run,
    "wait": cmd_wait,
    "status": cmd_status,
    "download": cmd_download,
    "dag": cmd_dag,
    "tasks": cmd_tasks,
    "contract-check": cmd_contract_check,
}


def dispatch(args: argparse.Namespace) -> int:
    """Run the subcommand ``args.command``; exceptions are left to :func:`spine.cli.main`."""
    return COMMANDS[args.command](args, Output(args))
