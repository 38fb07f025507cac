"""The errors of the run ledger.

Tree (all are :class:`spine.SpineError`, so ``except spine.SpineError`` still catches them)::

    LedgerError                 the ledger file cannot be used (``path`` and a hint are set)
    ├── LedgerLockedError       another process held it longer than the busy timeout
    ├── LedgerCorruptError      the file is not a ledger SQLite can read
    └── LedgerVersionError      written by a newer SDK (schema version unknown here)

A ledger error raised before a create is sent means nothing was sent (and nothing paid). After
a create the server answered, a ledger error is never raised: the run is returned and the
failure is reported as a :class:`LedgerWarning` instead, so a run id is never lost.
"""

from __future__ import annotations

import os

from spine import SpineError

__all__ = [
    "LedgerCorruptError",
    "LedgerError",
    "LedgerLockedError",
    "LedgerVersionError",
    "LedgerWarning",
]

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
            f"The run ledger {path} is locked by another process (could not {action} within the"
            f" busy timeout). Try again when the other 'spine' command finishes. {_OFF_HINT}",
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
