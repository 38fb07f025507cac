"""The errors of the run ledger.

Tree (all are :class:`spine.SpineError`, so ``except spine.SpineError`` still catches them)::

    LedgerError                 the ledger file cannot be used (``path`` and a hint are set)
    ├── LedgerLockedError       another process held it longer than the busy timeout
    ├── LedgerCorruptError      the file is not a ledger SQLite can read
    └── LedgerVersionError      written by a newer SDK (schema version unknown here)
    LedgerUsageError            an argument or input is invalid; nothing was sent (a ValueError)
    ├── BatchInputError         the items of a batch (every problem, with its line number)
    └── OutputFolderError       the batch's output folder cannot be written

A ledger error raised before a create is sent means nothing was sent (and nothing paid). After
a create the server answered, a ledger error is never raised: the run is returned and the
failure is reported as a :class:`LedgerWarning` instead, so a run id is never lost.
"""

from __future__ import annotations

import os

from spine import SpineError

__all__ = [
    "BatchInputError",
    "LedgerCorruptError",
    "LedgerError",
    "LedgerLockedError",
    "LedgerUsageError",
    "LedgerVersionError",
    "LedgerWarning",
    "OutputFolderError",
]

_MAX_REPORTED = 20

_OFF_HINT = "Point SPINE_LEDGER (or --ledger) at another file, or set it to 'off'."


class LedgerError(SpineError):
    """The run ledger could not be read or written. ``path`` is the ledger file."""

    path: str

    def __init__(self, message: str, *, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.path = os.fspath(path)


class LedgerLockedError(LedgerError):
    """Another process kept the ledger locked for longer than the busy timeout."""


class LedgerCorruptError(LedgerError):
    """The ledger file is damaged or is not a ledger at all."""


class LedgerVersionError(LedgerError):
    """The ledger was written by a newer version of the SDK (its schema is unknown here)."""


class LedgerUsageError(SpineError, ValueError):
    """An argument or input of a ledger call is invalid, found before anything was sent (so
    nothing was paid). Also a ``ValueError``; the command line reports it as exit status 2.

    Unlike :class:`spine.InvalidRequestError` it claims no HTTP status: no request was made."""


class BatchInputError(LedgerUsageError):
    """The items of a batch are invalid; ``problems`` lists every one (with its line number)
    and nothing was sent."""

    problems: list[str]

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:_MAX_REPORTED]
        more = len(problems) - len(shown)
        text = "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
        super().__init__(f"invalid batch input: {text}")
        self.problems = problems


class OutputFolderError(LedgerUsageError):
    """The output folder of a batch cannot be used (not a folder, not writable); checked
    before anything is sent. ``path`` is the folder."""

    path: str

    def __init__(self, message: str, *, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.path = os.fspath(path)


class LedgerWarning(UserWarning):
    """The ledger could not record something after the server had answered (the run is not
    lost: its id is returned; record it yourself or fix the ledger and ``spine runs resume``)."""


def describe(exc: BaseException, path: str, action: str) -> LedgerError:
    """Turn a ``sqlite3`` or ``OSError`` failure into the matching :class:`LedgerError`."""
    import sqlite3

    text = str(exc)
    low = text.lower()
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in low or "busy" in low):
        return LedgerLockedError(
            f"The run ledger {path} is locked by another process: could not {action} the"
            f" ledger within the busy timeout. Try again when the other 'spine' command"
            f" finishes. {_OFF_HINT}",
            path=path,
        )
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in low or "malformed" in low or "corrupt" in low
    ):
        return LedgerCorruptError(
            f"The run ledger {path} is damaged or is not a ledger ({text}). Move it aside (its"
            f" runs are not lost on the server; keep the file to read their ids with sqlite3)."
            f" {_OFF_HINT}",
            path=path,
        )
    return LedgerError(
        f"Cannot {action} the run ledger {path}: {text}. Check that its folder exists and is"
        f" writable. {_OFF_HINT}",
        path=path,
    )
