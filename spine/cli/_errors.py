"""Exit statuses of the ``spine`` command and the exceptions that choose them.

Standard library only: ``spine --help`` imports this module, and it must stay fast.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

__all__ = [
    "EXIT_CODES",
    "CliError",
    "UsageError",
    "cli_terms",
    "exit_code_for",
    "missing_key_message",
    "one_line",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_FAILED = 4
EXIT_TIMEOUT = 5
EXIT_AUTH = 6
EXIT_API = 7
EXIT_CONNECTION = 8
EXIT_DOWNLOAD = 9
EXIT_LOST = 10
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success (a run completed; a lookup or download worked)",
    EXIT_ERROR: "other error (a local file problem, an unexpected failure)",
    EXIT_USAGE: "usage error: bad arguments, a missing input file, a request refused before"
    " sending",
    EXIT_PARTIAL: "the run ended partial: some blocks failed, the results are usable",
    EXIT_FAILED: "the run ended failed",
    EXIT_TIMEOUT: "timed out: --timeout passed first (the run goes on; spine wait RUN_ID)",
    EXIT_AUTH: "authentication error: SPINE_API_KEY missing, invalid or revoked (HTTP 401)",
    EXIT_API: "API error: any other error answer of the Spine API (400, 404, 429, 5xx...)",
    EXIT_CONNECTION: "connection error: the API could not be reached, or a request timed out",
    EXIT_DOWNLOAD: "download error: an artifact could not be saved (expired link, size...)",
    EXIT_LOST: "spine batch / spine runs: a recorded run the API no longer knows (404)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); a run already created goes on",
}


class CliError(Exception):
    """A failure the command explains itself: one line on stderr and ``exit_code``."""

    exit_code = EXIT_ERROR


class UsageError(CliError):
    """A problem with the command line itself: exit status 2."""

    exit_code = EXIT_USAGE


def command(*words: str, args: Any = None, base_url: str | None = None) -> str:
    """A ``spine`` command line to print as advice, quoted for a POSIX shell and carrying the
    ``--base-url`` (``base_url``, else the printing command's), ``--allow-http`` and
    ``--ledger`` of the command that prints it, so that pasting it into the same shell reaches
    the same API and the same ledger (only commands that take ``--ledger`` are given one)."""
    parts = ["spine", *words]
    base_url = base_url or getattr(args, "base_url", None)
    if base_url:
        parts += ["--base-url", base_url]
    if getattr(args, "allow_http", False):
        parts.append("--allow-http")
    ledger = getattr(args, "ledger", None)
    if isinstance(ledger, str) and ledger and words[:2] in (("runs", "resume"), ("wait",)):
        parts += ["--ledger", ledger]
    return " ".join(shlex.quote(part) for part in parts)


def follow_advice(args: Any, run_id: str) -> str:
    """What to say about a run this command stops following (timeout, Ctrl-C, --no-wait)."""
    if getattr(args, "sandbox", False):
        return (
            f"Run {run_id} ended with the embedded sandbox, which lives only as long as this"
            " command."
        )
    return f"Run {run_id} goes on; follow it with `{command('wait', run_id, args=args)}`."


def missing_key_message(args: Any) -> str:
    """What to say when SPINE_API_KEY is not set: where keys come from for the API this
    command would reach (``--base-url``, then ``SPINE_BASE_URL``). Only the Spine API's keys
    come from its platform; a sandbox prints its own key when it starts."""
    import os

    from spine._links import is_spine_api

    url = getattr(args, "base_url", None) or os.environ.get("SPINE_BASE_URL") or None
    if is_spine_api(url):
        return (
            "No API key: set the SPINE_API_KEY environment variable (keys are created at "
            "platform.getspine.ai/keys), or try it offline with "
            "`spine run PROMPT --sandbox`."
        )
    return (
        f"No API key: set the SPINE_API_KEY environment variable to a key that {url} accepts"
        " (a spine sandbox prints its key, and the export line to paste, when it starts)."
    )


def _instance(exc: BaseException, module: str, name: str) -> bool:
    """``isinstance(exc, module.name)`` without importing ``module`` (if it was never loaded,
    ``exc`` cannot be one of its classes)."""
    loaded = sys.modules.get(module)
    cls = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(cls, type) and isinstance(exc, cls)


def exit_code_for(exc: BaseException) -> int:
    """The exit status for an exception that ended a command (see :data:`EXIT_CODES`)."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, CliError):
        return exc.exit_code
    if _instance(exc, "spine._operations", "InvalidRequestError"):
        return EXIT_USAGE
    if _instance(exc, "spine._artifacts", "ArtifactDownloadError"):
        return EXIT_DOWNLOAD
    if _instance(exc, "spine._exceptions", "RunFailedError"):
        return EXIT_FAILED
    if _instance(exc, "spine._exceptions", "AuthenticationError"):
        return EXIT_AUTH
    if _instance(exc, "spine._exceptions", "SpineTimeoutError"):
        # wait() running out of time carries the run id; an HTTP timeout does not.
        return EXIT_TIMEOUT if getattr(exc, "run_id", None) else EXIT_CONNECTION
    if _instance(exc, "spine._exceptions", "SpineConnectionError"):
        return EXIT_CONNECTION
    if _instance(exc, "spine._exceptions", "SpineAPIError"):
        return EXIT_API
    return EXIT_ERROR


# The SDK's advice names Python arguments; a shell user has options and environment variables.
# Every error line the command prints passes through this one table (longest phrases first).
CLI_TERMS: tuple[tuple[str, str], ...] = (
    (
        "the api_key argument or the SPINE_API_KEY environment variable",
        "the SPINE_API_KEY environment variable",
    ),
    ("Check the network and base_url", "Check the network and --base-url (or SPINE_BASE_URL)"),
    ("Check base_url", "Check --base-url (or SPINE_BASE_URL)"),
    ("the configured base_url", "the configured --base-url (or SPINE_BASE_URL)"),
    ("base_url must", "--base-url (or SPINE_BASE_URL) must"),
    ("pass allow_http=True", "add --allow-http"),
    (
        "(client.runs.get(run_id) or handle.refresh(); on the command line, spine download"
        " RUN_ID DIR)",
        "(spine download RUN_ID DIR)",
    ),
    ("call wait() again, or refresh() later", "follow it with spine wait RUN_ID"),
)


def cli_terms(text: str) -> str:
    """``text`` with the SDK's Python advice in the command line's terms (:data:`CLI_TERMS`)."""
    for python, shell in CLI_TERMS:
        if python in text:
            text = text.replace(python, shell)
    return text


def one_line(exc: BaseException) -> str:
    text = cli_terms(str(exc).strip()) or type(exc).__name__
    expected = isinstance(exc, CliError | OSError) or _instance(
        exc, "spine._exceptions", "SpineError"
    )
    if not expected:
        text = (
            f"{type(exc).__name__}: {text} (an unexpected failure: rerun with --debug for details)"
        )
    from spine._redact import redact

    return " ".join(redact(text).split())
