"""The ``spine`` command line.

``spine --help`` must answer fast, so this module imports only the standard library's light
parts: the client, httpx and pydantic are imported by :mod:`spine.cli._commands` when a
subcommand runs. Errors become one line on stderr and a documented exit status
(:data:`EXIT_CODES`); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from spine.cli._errors import (
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    UsageError,
    exit_code_for,
    follow_advice,
    one_line,
)
from spine.enums import Template

__all__ = ["EXIT_CODES", "CliError", "UsageError", "build_parser", "exit_code_for", "main"]

# From the spec (spine/_enums.py is rewritten by `make generate`); a tiny module, cheap to import.
TEMPLATES = tuple(template.value for template in Template)


def _exit_table() -> str:
    return "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())


_EPILOG = f"""\
environment:
  SPINE_API_KEY   your API key (sk_spine_...), created at platform.getspine.ai/keys.
                  Read from the environment only (a flag would leak it into shell history);
                  never printed.
  SPINE_BASE_URL  the API host (default https://api.getspine.ai)
  SPINE_LOG       debug or info: log each request on stderr
  SPINE_LEDGER    the run ledger file (default: in the user data folder); 'off' disables

exit codes:
{_exit_table()}

examples:
  spine run "Write a memo on Q1 sales" --template memo --file sales.csv --download out
  spine run "Try it offline" --sandbox --json
  spine run "Long research" --no-wait            # prints the run id
  spine wait RUN_ID --download out
  spine status RUN_ID
  spine dag CANVAS_ID --format mermaid > dag.mmd
  spine tasks CANVAS_ID
  spine runs list --status running               # runs created on this machine
  spine runs resume                              # follow every run not yet ended
  spine batch items.jsonl --out results --concurrency 8
"""


def _para(text: str) -> str:
    """A help paragraph wrapped to 79 columns (the raw formatter keeps line breaks as written)."""
    import textwrap

    return textwrap.fill(text, width=79)


class _Parser(argparse.ArgumentParser):
    """argparse, with errors as one line that points at the right ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _seconds(text: str) -> float | None:
    """A number of seconds >= 0, or ``none`` for no limit."""
    if text.strip().lower() in ("none", "inf", "never"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text!r}")
    return value


def _positive(text: str) -> float:
    value = _seconds(text)
    if value is None or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``spine`` argument parser (every subcommand but ``sandbox`` parses here)."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="spine",
        description=_para(
            "Use the Spine API from the shell: create runs, follow them, save their "
            "files, look at their canvas."
        ),
        epilog=_EPILOG,
        formatter_class=fmt,
    )
    parser.add_argument("--version", action="store_true", help="print the SDK version and exit")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and log every request on stderr"
    )

    # Options every API subcommand takes; SUPPRESS keeps a global --debug from being reset.
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks and log every request on stderr",
    )
    common.add_argument(
        "--base-url", metavar="URL", help="the API host (default: $SPINE_BASE_URL, then Spine's)"
    )
    common.add_argument(
        "--allow-http",
        action="store_true",
        help="allow a plain http:// API host other than localhost (the key travels unencrypted)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout (messages and progress go to stderr)",
    )
    quiet = _Parser(add_help=False)
    quiet.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or notes on stderr (errors only)"
    )
    waiting = _Parser(add_help=False)
    waiting.add_argument(
        "--timeout",
        type=_seconds,
        default=900.0,
        metavar="S",
        help="give up waiting after S seconds (default 900; 'none' waits forever); the run goes on",
    )
    waiting.add_argument(
        "--poll-interval",
        type=_positive,
        metavar="S",
        help="seconds between polls at first, growing to 10 (default 2; 0.2 with --sandbox)",
    )
    waiting.add_argument(
        "-d",
        "--download",
        metavar="DIR",
        help="save the run's artifacts into DIR (created if missing)",
    )

    ledger = _Parser(add_help=False)
    ledger.add_argument(
        "--ledger",
        metavar="PATH",
        help="record the run in this ledger file (default: $SPINE_LEDGER, then the user data "
        "folder; 'off' records nothing; with --sandbox: off)",
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser(
        "run",
        parents=[common, quiet, waiting, ledger],
        formatter_class=fmt,
        help="create a run, follow it and print its output",
        description=_para(
            "Create a run. By default wait for it with a live progress bar (plain lines "
            "when stderr is not a terminal), then print its final output on stdout and the canvas "
            "link on stderr. With --no-wait, print the run id and return at once."
        ),
        epilog="The final output goes to stdout, so `spine run ... > answer.md` keeps only it.\n"
        "With --sandbox nothing leaves the machine: put [sandbox:partial] or [sandbox:failed]\n"
        "in the prompt to see those outcomes.",
    )
    run.add_argument("prompt", metavar="PROMPT", help="what the agents should do ('-': stdin)")
    run.add_argument(
        "-t",
        "--template",
        metavar="T",
        help=f"one of {', '.join(TEMPLATES)} (default auto)",
    )
    run.add_argument(
        "-b",
        "--block",
        action="append",
        default=[],
        metavar="B",
        help="a block type to use, e.g. table-block (repeatable, or comma-separated; "
        "overrides the template)",
    )
    run.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        metavar="F",
        help="a file to upload with the prompt (repeatable)",
    )
    run.add_argument(
        "-i", "--instructions", metavar="TEXT", help="agent instructions (tone, audience...)"
    )
    run.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait for the run to end (default: wait)",
    )
    run.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="sent as the Idempotency-Key header, so a server that honours it can deduplicate "
        "(Spine does not document that it does; the sandbox does)",
    )
    run.add_argument(
        "--sandbox",
        action="store_true",
        help="run against an embedded local sandbox: offline, free, no API key needed",
    )
    run.add_argument(
        "--sandbox-duration",
        type=_positive,
        metavar="S",
        help="with --sandbox: how long a run takes (default 3)",
    )

    status = commands.add_parser(
        "status",
        parents=[common],
        formatter_class=fmt,
        help="show a run's status, progress, errors and artifacts",
        description=_para(
            "Show a run's state once. Exits 0 whenever the run could be read, whatever "
            "its status (use `spine wait` for an exit status that reflects the outcome)."
        ),
    )
    status.add_argument("run_id", metavar="RUN_ID")

    wait = commands.add_parser(
        "wait",
        parents=[common, quiet, waiting, ledger],
        formatter_class=fmt,
        help="wait for a run to end and print its output",
        description=_para(
            "Wait for an existing run to end, as `spine run` does after creating one."
        ),
    )
    wait.add_argument("run_id", metavar="RUN_ID")

    download = commands.add_parser(
        "download",
        parents=[common, quiet, ledger],
        formatter_class=fmt,
        help="save a finished run's artifacts into a directory",
        description=_para(
            "Save every artifact of a finished run into DIR (created if missing) and "
            "print the paths written. Names are made safe and de-duplicated; existing files of the "
            "same name are replaced. When the storage host refuses a link (as an expired one "
            "is), the run is read once more and the download tried again with the link it then "
            "has; Spine does not document whether a second read gives a new link."
        ),
    )
    download.add_argument("run_id", metavar="RUN_ID")
    download.add_argument("directory", metavar="DIR")

    dag = commands.add_parser(
        "dag",
        parents=[common],
        formatter_class=fmt,
        help="draw a canvas's block graph (tree, Mermaid, DOT or JSON)",
        description=_para(
            "Draw the blocks of a canvas and the edges between them. 'mermaid' pastes "
            "into Markdown (GitHub renders it); 'dot' feeds Graphviz: "
            "spine dag ID --format dot | dot -Tsvg > dag.svg"
        ),
    )
    dag.add_argument("canvas_id", metavar="CANVAS_ID")
    dag.add_argument(
        "--format",
        choices=("tree", "mermaid", "dot", "json"),
        default="tree",
        help="tree (default), mermaid, dot or json",
    )

    tasks = commands.add_parser(
        "tasks",
        parents=[common],
        formatter_class=fmt,
        help="show a canvas's task tree, or one task",
        description=_para(
            "Show the tasks of a canvas as a tree: completed root tasks, then the "
            "ones still running or failed. With TASK_ID, show that one task and its "
            "immediate children."
        ),
    )
    tasks.add_argument("canvas_id", metavar="CANVAS_ID")
    tasks.add_argument(
        "task_id", metavar="TASK_ID", nargs="?", help="one task of the tree (optional)"
    )

    check = commands.add_parser(
        "contract-check",
        parents=[common],
        formatter_class=fmt,
        help="check the live API's answers against the SDK's openapi.yaml",
        description=_para(
            "Read a run, its canvas DAG, its task tree and one task (read operations only) "
            "and check every answer against the openapi.yaml shipped with the SDK: unknown "
            "fields are warnings; missing required fields, type mismatches and unknown values "
            "of closed sets are errors (exit 1). Without SPINE_API_KEY it says what it needs "
            "and exits 0 (skipped). Needs the contract extra's packages: "
            "pip install 'jsonschema>=4.20' 'PyYAML>=6'."
        ),
        epilog="The run id comes from RUN_ID or $SPINE_CONTRACT_RUN_ID. Creating a run costs\n"
        "credits: only with --allow-create (and no run id) does the check create one.",
    )
    check.add_argument("run_id", metavar="RUN_ID", nargs="?", help="an existing run to read")
    check.add_argument(
        "--allow-create",
        action="store_true",
        help="with no run id, create a (paid) run to check, including the create's answer",
    )
    check.add_argument(
        "--record",
        metavar="DIR",
        help="save every answer, ids, URLs and secrets replaced, as DIR/<operation>.json",
    )
    check.add_argument(
        "--sandbox",
        action="store_true",
        help="check an embedded local sandbox instead (it creates a free run to read)",
    )

    from spine.ledger._cli import add_commands

    add_commands(commands, parents=[common], formatter=fmt)

    commands.add_parser(
        "sandbox",
        help="serve a local sandbox that speaks the Spine API's HTTP (see spine sandbox --help)",
        add_help=False,
    )
    return parser


# ----------------------------------------------------------------------------- errors


def _error_json(exc: BaseException, code: int) -> dict[str, Any]:
    error: dict[str, Any] = {"type": type(exc).__name__, "message": _cli_text(exc)}
    error["exit_code"] = code
    for attr in ("status_code", "request_id", "run_id", "idempotency_key"):
        value = getattr(exc, attr, None)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != 0:
            error[attr] = value
    if getattr(exc, "run_may_exist", False):
        error["run_may_exist"] = True
    return {"error": error}


def _cli_text(exc: BaseException) -> str:
    """The error line; a create that may have reached the server says how to get that run
    from the shell (the option, not the Python argument)."""
    key = getattr(exc, "idempotency_key", None)
    if not getattr(exc, "run_may_exist", False) or not isinstance(key, str):
        return one_line(exc)
    describe = getattr(exc, "_describe", None)
    text = describe() if callable(describe) else ""
    from spine._redact import redact
    from spine.cli._errors import cli_terms

    return " ".join(redact(cli_terms(
        f"{text} The run may have been created on the server (check first; a server that"
        " honours the key returns the first run, Spine does not document that it does):"
        f" run the same command again with --idempotency-key {key} added."
    )).split())


def reuse_command(argv: Sequence[str], key: str) -> str:
    """The command line that repeats ``spine run ...`` with ``--idempotency-key key``: the
    server, if it honours the key (Spine does not document that it does), returns the run that
    key created instead of starting (and billing) another one."""
    import shlex

    words = list(argv)
    if not any(w == "--idempotency-key" or w.startswith("--idempotency-key=") for w in words):
        words += ["--idempotency-key", key]
    return shlex.join(["spine", *words])


def _unfinished_create(args: argparse.Namespace, exc: BaseException | None) -> str | None:
    """The key of a ``spine run`` whose create may have reached the server and not told us the
    run id: an interrupt during the create, or an error that says the run may exist."""
    if getattr(args, "command", None) != "run" or getattr(args, "current_run_id", None):
        return None
    if exc is not None and not getattr(exc, "run_may_exist", False):
        return None
    key = getattr(exc, "idempotency_key", None) if exc is not None else None
    key = key or getattr(args, "pending_key", None)
    return key if isinstance(key, str) and key else None


def _recovery(args: argparse.Namespace, key: str) -> str:
    if getattr(args, "sandbox", False):
        return (
            f"The run may have been created (idempotency key {key}) in the embedded sandbox,"
            " which lived only as long as this command: nothing was billed."
        )
    return (
        f"The run may have been created (idempotency key {key}); check before creating it"
        f" again. To send it again, run the same command again with --idempotency-key {key}"
        " added (a server that honours the key returns the first run; Spine does not document"
        f" that it does):\n  {reuse_command(args.argv, key)}"
    )


def _report(exc: BaseException, args: argparse.Namespace, code: int) -> None:
    if getattr(args, "debug", False):
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    prog = f"spine {args.command}" if getattr(args, "command", None) else "spine"
    key = _unfinished_create(args, exc)
    if key is None:
        print(f"{prog}: error: {_cli_text(exc)}", file=sys.stderr, flush=True)
    else:  # spine run: the exact command that gets the run, on a line of its own
        from spine._redact import redact

        describe = getattr(exc, "_describe", None)
        text = describe() if callable(describe) else one_line(exc)
        print(f"{prog}: error: {' '.join(redact(text).split())}", file=sys.stderr, flush=True)
        print(_recovery(args, key), file=sys.stderr, flush=True)
    if getattr(args, "json", False):
        import json

        document = _error_json(exc, code)
        run_id = getattr(args, "current_run_id", None)
        if run_id and "run_id" not in document["error"]:
            document["error"]["run_id"] = run_id  # e.g. a download failed after the run ended
        if key is not None:
            document["error"]["idempotency_key"] = key
            document["error"]["retry_command"] = reuse_command(args.argv, key)
        print(json.dumps(document, indent=2), flush=True)


# ----------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spine`` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sandbox"]:
        from spine.testing import serve as sandbox_main

        return sandbox_main(args[1:], prog="spine sandbox")
    parser = build_parser()
    try:
        parsed = parser.parse_args(args)
    except SystemExit as exc:  # --help, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if parsed.version:
        from spine._version import __version__

        print(f"spine {__version__}")
        return EXIT_OK
    if parsed.command is None:
        parser.print_help()
        return EXIT_USAGE
    parsed.argv = args
    if parsed.debug:
        from spine._log import configure_logging_from_env

        configure_logging_from_env({"SPINE_LOG": "debug"})
    try:
        from spine.cli._commands import dispatch

        return dispatch(parsed)
    except KeyboardInterrupt as exc:
        run_id = getattr(parsed, "current_run_id", None)
        note = f" {follow_advice(parsed, run_id)}" if run_id else ""
        print(f"\nspine: interrupted.{note}", file=sys.stderr, flush=True)
        key = _unfinished_create(parsed, None)
        if key is not None:
            print(_recovery(parsed, key), file=sys.stderr, flush=True)
            if getattr(parsed, "json", False):
                import json

                error = {
                    "type": "KeyboardInterrupt",
                    "message": "interrupted while creating the run",
                    "exit_code": EXIT_INTERRUPTED,
                    "run_may_exist": True,
                    "idempotency_key": key,
                    "retry_command": reuse_command(parsed.argv, key),
                }
                print(json.dumps({"error": error}, indent=2), flush=True)
        if parsed.debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (spine ... | head): stop quietly.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_ERROR
    except Exception as exc:
        code = exit_code_for(exc)
        _report(exc, parsed, code)
        return code
