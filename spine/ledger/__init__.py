"""``spine.ledger``: a local record of every run this machine creates or follows, and batches.

Spine has no endpoint that lists runs, and a run costs credits: a lost run id is a paid run
you cannot find again. The ledger keeps them, in one SQLite file per user::

    import spine, spine.ledger

    client = spine.SpineClient()
    runs = spine.ledger.record(client)          # the one line: runs.create records, then sends
    run = runs.create("Write a memo", template="memo", label="q1-memo")
    result = run.wait()                         # the terminal state is recorded too

    spine.ledger.open_ledger().list(status="running")   # find them again later

Batches of thousands, with bounded concurrency, back-off on 429, downloads, a summary, and
resume after any crash (``kill -9`` included) without creating a run twice::

    report = spine.ledger.run_batch("items.jsonl", out="out/")                # sync
    report = await spine.ledger.arun_batch(async_client, items, out="out/")   # async

Where the file lives, what it stores and how to turn it off: ``docs/runs.md``. The same is on
the command line as ``spine runs list|show|resume`` and ``spine batch``.

This package is built on the SDK's public API only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spine.ledger._batch import (
        BatchBusyError as BatchBusyError,
        BatchItem as BatchItem,
        BatchReport as BatchReport,
        BatchUpdate as BatchUpdate,
        ItemOutcome as ItemOutcome,
        arun_batch as arun_batch,
        read_items as read_items,
        run_batch as run_batch,
    )
    from spine.ledger._errors import (
        BatchInputError as BatchInputError,
        LedgerCorruptError as LedgerCorruptError,
        LedgerError as LedgerError,
        LedgerLockedError as LedgerLockedError,
        LedgerUsageError as LedgerUsageError,
        LedgerVersionError as LedgerVersionError,
        LedgerWarning as LedgerWarning,
        OutputFolderError as OutputFolderError,
    )
    from spine.ledger._paths import (
        default_path as default_path,
        open_ledger as open_ledger,
    )
    from spine.ledger._recorded import (
        AsyncRecordedRun as AsyncRecordedRun,
        AsyncRecordedRuns as AsyncRecordedRuns,
        RecordedRun as RecordedRun,
        RecordedRuns as RecordedRuns,
        record as record,
    )
    from spine.ledger._store import (
        ArtifactRecord as ArtifactRecord,
        Ledger as Ledger,
        RunRecord as RunRecord,
    )

_EXPORTS = {
    "ArtifactRecord": "spine.ledger._store",
    "BatchBusyError": "spine.ledger._batch",
    "BatchInputError": "spine.ledger._errors",
    "AsyncRecordedRun": "spine.ledger._recorded",
    "AsyncRecordedRuns": "spine.ledger._recorded",
    "BatchItem": "spine.ledger._batch",
    "BatchReport": "spine.ledger._batch",
    "BatchUpdate": "spine.ledger._batch",
    "ItemOutcome": "spine.ledger._batch",
    "Ledger": "spine.ledger._store",
    "LedgerCorruptError": "spine.ledger._errors",
    "LedgerError": "spine.ledger._errors",
    "LedgerLockedError": "spine.ledger._errors",
    "LedgerUsageError": "spine.ledger._errors",
    "LedgerVersionError": "spine.ledger._errors",
    "LedgerWarning": "spine.ledger._errors",
    "OutputFolderError": "spine.ledger._errors",
    "RecordedRun": "spine.ledger._recorded",
    "RecordedRuns": "spine.ledger._recorded",
    "RunRecord": "spine.ledger._store",
    "arun_batch": "spine.ledger._batch",
    "default_path": "spine.ledger._paths",
    "open_ledger": "spine.ledger._paths",
    "read_items": "spine.ledger._batch",
    "record": "spine.ledger._recorded",
    "run_batch": "spine.ledger._batch",
}

__all__ = sorted(_EXPORTS)  # the names, listed once (above)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spine.ledger' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
