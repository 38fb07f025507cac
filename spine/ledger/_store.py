"""The ledger file: SQLite through the standard library, safe with several processes.

One row per create this machine attempted (or per run it followed), written in short
transactions:

* ``WAL`` journal: readers never block the writer, and a process killed at any moment (even by
  ``kill -9``) leaves every committed transaction intact.
* ``BEGIN IMMEDIATE`` for every write and a busy timeout (default 10 s): concurrent writers
  queue instead of failing; past the timeout :class:`LedgerLockedError` is raised.
* The record of a create is committed with ``synchronous=FULL`` *before* the request is sent,
  so it survives a power cut too; later updates use ``NORMAL`` (durable against a crash of the
  process, which is what can lose a run id).
* The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older file
  up to date inside one transaction, and a file from a newer SDK raises
  :class:`LedgerVersionError` instead of being damaged.

Nothing here sends a request or knows about HTTP; the recording wrappers
(:mod:`spine.ledger._recorded`) and the batch runner call these methods.
"""

from __future__ import annotations

import builtins
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from spine.enums import TERMINAL_STATUSES
from spine.ledger._errors import LedgerError, LedgerVersionError, describe

if TYPE_CHECKING:
    from spine import GetRunResponse, RunArtifact

__all__ = [
    "ACTIVE_STATES",
    "MIN_PREFIX",
    "SCHEMA_VERSION",
    "TERMINAL_STATES",
    "ArtifactRecord",
    "Ledger",
    "RunRecord",
]

T = TypeVar("T")

#: What a row's ``state`` can be. ``sending``: recorded, the create is on its way (or the
#: process died while it was); ``ambiguous``: the create failed in a way that may have created
#: the run (the Idempotency-Key is kept); ``rejected``: the server provably did not create it;
#: then the run's own status: ``running``, ``completed``, ``partial``, ``failed``; ``lost``: the
#: API answered 404 for a run it had created (it no longer knows it: another account's key, or
#: a server, such as a restarted sandbox, that forgot its runs). A lost run is not followed
#: again on its own; ``error`` holds the API's answer.
#: The terminal ones are the SDK's own decision (``spine.enums.TERMINAL_STATUSES``, from the
#: table in ``spine/_enums.py`` that is checked against the spec), not a second list.
TERMINAL_STATES = frozenset(str(status.value) for status in TERMINAL_STATUSES)
STATES = (
    "sending", "ambiguous", "rejected", "running", *sorted(TERMINAL_STATES), "lost"
)
#: The fewest leading characters of a run id that :meth:`Ledger.get` looks a run up by.
MIN_PREFIX = 6
ACTIVE_STATES = frozenset({"sending", "running"})

# ----------------------------------------------------------------------------- schema

_V1 = """
CREATE TABLE runs (
    id                 INTEGER PRIMARY KEY,
    idempotency_key    TEXT UNIQUE,
    run_id             TEXT UNIQUE,
    canvas_id          TEXT,
    api_host           TEXT NOT NULL,
    state              TEXT NOT NULL,
    status             TEXT,
    label              TEXT,
    prompt             TEXT,
    template           TEXT,
    blocks             TEXT,
    agent_instructions TEXT,
    files              TEXT,
    fingerprint        TEXT,
    created_at         REAL NOT NULL,
    updated_at         REAL NOT NULL,
    finished_at        REAL,
    duration_ms        INTEGER,
    credits            INTEGER,
    errors             TEXT,
    error              TEXT
);
CREATE INDEX runs_created_at ON runs (created_at);
"""

_V2 = """
ALTER TABLE runs ADD COLUMN batch TEXT;
ALTER TABLE runs ADD COLUMN item_id TEXT;
ALTER TABLE runs ADD COLUMN item_seq INTEGER;
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN hostname TEXT;
ALTER TABLE runs ADD COLUMN downloaded_at REAL;
CREATE INDEX runs_batch_item ON runs (batch, item_id);
CREATE INDEX runs_state ON runs (state);
CREATE TABLE artifacts (
    run_row     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    artifact_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    type        TEXT,
    size_bytes  INTEGER,
    path        TEXT NOT NULL,
    saved_at    REAL NOT NULL,
    PRIMARY KEY (run_row, artifact_id, path)
);
"""

#: ``MIGRATIONS[n]`` brings a version-``n`` file to version ``n + 1``.
MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = (
    "id, idempotency_key, run_id, canvas_id, api_host, state, status, label, prompt, template,"
    " blocks, agent_instructions, files, fingerprint, created_at, updated_at, finished_at,"
    " duration_ms, credits, errors, error, batch, item_id, item_seq, pid, hostname,"
    " downloaded_at"
)


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ArtifactRecord:
    """A downloaded artifact: where it was saved and when (``saved_at``: seconds since the
    epoch)."""

    artifact_id: str
    name: str
    type: str | None
    size_bytes: int | None
    path: str
    saved_at: float


@dataclass(frozen=True)
class RunRecord:
    """One row of the ledger: a create this machine attempted, or a run it followed.

    Times are seconds since the epoch (UTC). ``files`` lists ``{"name", "size", "sha256",
    "path"}`` of each upload (never the contents); ``prompt`` and ``agent_instructions`` are None
    when prompts were not stored. ``errors`` are the run's errors as the API reported them
    (``[{"error", "block_id", "block_type", "recoverable"}]``); ``error`` is the local reason a
    create was ambiguous or rejected.
    """

    id: int
    idempotency_key: str | None
    run_id: str | None
    canvas_id: str | None
    api_host: str
    state: str
    status: str | None
    label: str | None
    prompt: str | None
    template: str | None
    blocks: list[str] | None
    agent_instructions: str | None
    files: list[dict[str, Any]]
    fingerprint: str | None
    created_at: float
    updated_at: float
    finished_at: float | None
    duration_ms: int | None
    credits: int | None
    errors: list[dict[str, Any]]
    error: str | None
    batch: str | None
    item_id: str | None
    item_seq: int | None
    pid: int | None
    hostname: str | None
    downloaded_at: float | None
    artifacts: tuple[ArtifactRecord, ...] = field(default=())

    @property
    def is_terminal(self) -> bool:
        """True once the run ended (``completed``, ``partial`` or ``failed``)."""
        return self.state in TERMINAL_STATES

    @property
    def canvas_url(self) -> str | None:
        """The run's canvas in the Spine web app, when its canvas id is known and the run was
        made on the Spine API host (None for a sandbox run: :func:`spine._links.canvas_link`)."""
        from spine._links import canvas_link

        return canvas_link(self.canvas_id, self.api_host)

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (what ``spine runs list --json`` prints)."""
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["canvas_url"] = self.canvas_url
        data["artifacts"] = [vars(a).copy() for a in self.artifacts]
        return data


_FIELD_NAMES = [name.strip() for name in _COLUMNS.split(",")]


def _record(row: Sequence[Any], artifacts: tuple[ArtifactRecord, ...] = ()) -> RunRecord:
    values = dict(zip(_FIELD_NAMES, row, strict=True))
    values["blocks"] = json.loads(values["blocks"]) if values["blocks"] else None
    values["files"] = json.loads(values["files"]) if values["files"] else []
    values["errors"] = json.loads(values["errors"]) if values["errors"] else []
    return RunRecord(**values, artifacts=artifacts)


# ----------------------------------------------------------------------------- the ledger


class Ledger:
    """A run ledger file. Safe to share between threads, and between processes on one machine.

    Args:
        path: the SQLite file (created with its folder if missing), or ``":memory:"`` for a
            ledger that lives as long as this object.
        busy_timeout: seconds to wait for another process's write before raising
            :class:`LedgerLockedError` (default 10).
        store_prompts: keep the prompt and agent instructions of each create (default True).
            With False only their SHA-256 (inside the request fingerprint) is kept.

    Raises :class:`LedgerError` (or a subclass) when the file cannot be opened, is damaged,
    is locked past the timeout or comes from a newer SDK. Use :func:`spine.ledger.open_ledger`
    to honour ``SPINE_LEDGER`` and ``off``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 10.0,
        store_prompts: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        self.busy_timeout = float(busy_timeout)
        self.store_prompts = store_prompts
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._hostname = socket.gethostname()
        self._connect()

    # -- connection -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """The connection of this process (a fork gets its own; SQLite connections must not
        cross a fork)."""
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        memory = self.path == ":memory:"
        try:
            if not memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # autocommit; transactions are explicit
                check_same_thread=False,
            )
        except (sqlite3.Error, OSError) as exc:
            raise describe(exc, self.path, "open") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            if not memory:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise LedgerError(
                        f"The run ledger {self.path} cannot use write-ahead logging (journal"
                        f" mode {mode!r}); put it on a local disk.",
                        path=self.path,
                    )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except LedgerError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise describe(exc, self.path, "open") from exc
        self._conn, self._pid = conn, os.getpid()
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise LedgerVersionError(
                f"The run ledger {self.path} has schema version {version}, newer than this SDK"
                f" knows ({SCHEMA_VERSION}). Upgrade the SDK, or use another ledger file.",
                path=self.path,
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.path!r})"

    @property
    def schema_version(self) -> int:
        """The schema version of the file (``PRAGMA user_version``)."""
        return int(self._read(lambda c: c.execute("PRAGMA user_version").fetchone()[0]))

    # -- transactions ---------------------------------------------------------------------

    def _write(
        self, action: str, work: Callable[[sqlite3.Connection], T], *, durable: bool = False
    ) -> T:
        with self._lock:
            conn = self._connect()
            try:
                if durable:
                    conn.execute("PRAGMA synchronous = FULL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                finally:
                    if durable:
                        conn.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as exc:
                raise describe(exc, self.path, action) from exc
            return result

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            conn = self._connect()
            try:
                return work(conn)
            except sqlite3.Error as exc:
                raise describe(exc, self.path, "read") from exc

    # -- writes ---------------------------------------------------------------------------

    def begin_create(
        self,
        *,
        idempotency_key: str,
        api_host: str,
        request: dict[str, Any],
        fingerprint: str,
        label: str | None = None,
        batch: str | None = None,
        item_id: str | None = None,
        item_seq: int | None = None,
    ) -> int:
        """Record a create about to be sent (committed durably first); returns the row id.

        An ``idempotency_key`` already in the ledger (sent again on purpose) reuses its row.

        ``request`` holds ``prompt``, ``template``, ``blocks``, ``agent_instructions`` and
        ``files`` (names, sizes, hashes, paths). The prompt and instructions are dropped when
        the ledger does not store prompts."""
        row, _ = self.begin_create_row(
            idempotency_key=idempotency_key,
            api_host=api_host,
            request=request,
            fingerprint=fingerprint,
            label=label,
            batch=batch,
            item_id=item_id,
            item_seq=item_seq,
        )
        return row

    def begin_create_row(
        self,
        *,
        idempotency_key: str,
        api_host: str,
        request: dict[str, Any],
        fingerprint: str,
        label: str | None = None,
        batch: str | None = None,
        item_id: str | None = None,
        item_seq: int | None = None,
    ) -> tuple[int, str | None]:
        """:meth:`begin_create`, also returning the state the row had before (None for a new
        row), which :meth:`unsend` restores when the create is then not sent after all."""
        now = time.time()
        prompt = request.get("prompt") if self.store_prompts else None
        instructions = request.get("agent_instructions") if self.store_prompts else None
        blocks = request.get("blocks")

        def work(conn: sqlite3.Connection) -> tuple[int, str | None]:
            found = conn.execute(
                "SELECT id, state FROM runs WHERE idempotency_key = ?", (idempotency_key,)
            ).fetchone()
            if found is not None:
                # A key used again on purpose (to get an ambiguous run back): the same row.
                conn.execute(
                    "UPDATE runs SET state = CASE WHEN state IN ('ambiguous', 'rejected',"
                    " 'sending') AND run_id IS NULL THEN 'sending' ELSE state END, pid = ?,"
                    " hostname = ?, updated_at = ? WHERE id = ?",
                    (os.getpid(), self._hostname, now, found[0]),
                )
                return int(found[0]), str(found[1])
            cursor = conn.execute(
                "INSERT INTO runs (idempotency_key, api_host, state, label, prompt, template,"
                " blocks, agent_instructions, files, fingerprint, created_at, updated_at,"
                " batch, item_id, item_seq, pid, hostname)"
                " VALUES (?, ?, 'sending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    idempotency_key,
                    api_host,
                    label,
                    prompt,
                    request.get("template"),
                    json.dumps(list(blocks)) if blocks is not None else None,
                    instructions,
                    json.dumps(request.get("files") or []),
                    fingerprint,
                    now,
                    now,
                    batch,
                    item_id,
                    item_seq,
                    os.getpid(),
                    self._hostname,
                ),
            )
            row = cursor.lastrowid
            assert row is not None
            return row, None

        return self._write("record a create in", work, durable=True)

    def unsend(self, row: int, previous_state: str | None) -> None:
        """The create recorded in ``row`` was provably never sent this time (stopped before
        the request was handed to the SDK, or while waiting to send it again after a 429):
        forget a new row, or give a reused one its state back. A row that has a run id, or
        whose create may have made a run, is never touched."""
        params: tuple[Any, ...]
        if previous_state is None:
            sql, params = (
                "DELETE FROM runs WHERE id = ? AND state IN ('sending', 'rejected')"
                " AND run_id IS NULL",
                (row,),
            )
        else:
            sql, params = (
                "UPDATE runs SET state = ?, updated_at = ? WHERE id = ?"
                " AND state IN ('sending', 'rejected') AND run_id IS NULL",
                (previous_state, time.time(), row),
            )
        self._write("update", lambda c: c.execute(sql, params))

    def resend(self, row: int) -> None:
        """Mark an ambiguous create as being sent again (with its original key)."""
        self._write(
            "record a create in",
            lambda c: c.execute(
                "UPDATE runs SET state = 'sending', pid = ?, hostname = ?, updated_at = ?"
                " WHERE id = ?",
                (os.getpid(), self._hostname, time.time(), row),
            ),
            durable=True,
        )

    def mark_created(self, row: int, run_id: str, canvas_id: str | None) -> None:
        """The server answered the create: keep the run id (and canvas id, when given)."""
        self._write(
            "record a run id in",
            lambda c: c.execute(
                "UPDATE runs SET run_id = ?, canvas_id = COALESCE(?, canvas_id),"
                " state = CASE WHEN state IN ('completed', 'partial', 'failed') THEN state"
                " ELSE 'running' END, status = COALESCE(status, 'running'), error = NULL,"
                " updated_at = ? WHERE id = ?",
                (run_id, canvas_id, time.time(), row),
            ),
        )

    def mark_failed_create(self, row: int, *, ambiguous: bool, message: str) -> None:
        """The create failed: ``ambiguous`` when the run may exist (the key is kept for a
        safe re-send), otherwise ``rejected`` (the server did not act on it)."""
        state = "ambiguous" if ambiguous else "rejected"
        self._write(
            "record a failed create in",
            lambda c: c.execute(
                "UPDATE runs SET state = ?, error = ?, updated_at = ? WHERE id = ?"
                " AND state = 'sending'",  # never undoes a run id already recorded
                (state, message, time.time(), row),
            ),
        )

    def mark_orphans_ambiguous(self, rows: Sequence[int]) -> None:
        """Rows left in ``sending`` by a process that died: the create may have reached the
        server, so they become ``ambiguous`` (never re-sent without being asked)."""
        if not rows:
            return

        def work(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE runs SET state = 'ambiguous', error = ?, updated_at = ?"
                " WHERE id = ? AND state = 'sending' AND run_id IS NULL",
                [
                    (
                        "the process that sent this create stopped before recording the answer;"
                        " the run may exist",
                        time.time(),
                        row,
                    )
                    for row in rows
                ],
            )

        self._write("update", work)

    def mark_lost(self, run_id: str, message: str) -> bool:
        """The API answered 404 for ``run_id``: record it as ``lost`` with that answer (a run
        already seen to end keeps its end). Returns True when a row was changed."""

        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE runs SET state = 'lost', error = ?, updated_at = ? WHERE run_id = ?"
                " AND state NOT IN ('completed', 'partial', 'failed')",
                (message, time.time(), run_id),
            )
            return cursor.rowcount > 0

        return self._write("record a lost run in", work)

    def note(self, run_id: str, message: str | None) -> None:
        """Keep (or clear, with None) a local note on a run: why it could not be followed."""
        self._write(
            "update",
            lambda c: c.execute(
                "UPDATE runs SET error = ?, updated_at = ? WHERE run_id = ?",
                (message, time.time(), run_id),
            ),
        )

    def follow(self, run_id: str, api_host: str, *, label: str | None = None) -> int:
        """Record a run created elsewhere that this machine follows (``runs.attach``); returns
        its row (the existing one when the run is already known)."""
        now = time.time()

        def work(conn: sqlite3.Connection) -> int:
            found = conn.execute("SELECT id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if found is not None:
                return int(found[0])
            cursor = conn.execute(
                "INSERT INTO runs (run_id, api_host, state, status, label, created_at,"
                " updated_at, pid, hostname) VALUES (?, ?, 'running', 'running', ?, ?, ?, ?, ?)",
                (run_id, api_host, label, now, now, os.getpid(), self._hostname),
            )
            row = cursor.lastrowid
            assert row is not None
            return row

        return self._write("record a run in", work)

    def observe(self, run: GetRunResponse) -> bool:
        """Record a state the API reported for a known run; returns True when something was
        written. A running run is only written when its status or canvas id changes, so
        recording every poll costs about one indexed read."""
        status = str(run.status)
        terminal = run.is_terminal
        canvas_id = run.canvas_id

        def work(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT id, state, status, canvas_id FROM runs WHERE run_id = ?", (run.run_id,)
            ).fetchone()
            if found is None:
                return False
            row, state, old_status, old_canvas = found
            if state in TERMINAL_STATES and not terminal:
                return False  # a stale answer never undoes an end
            if not terminal and old_status == status and (canvas_id or None) in (
                None,
                old_canvas,
            ):
                return False
            now = time.time()
            if terminal:
                errors = [e.model_dump(mode="json") for e in run.errors or []]
                # ``error`` on a row with a run id is only a note of why it was not followed
                # (or that it was lost): a state read now makes it stale.
                conn.execute(
                    "UPDATE runs SET state = ?, status = ?, canvas_id = COALESCE(?, canvas_id),"
                    " duration_ms = ?, credits = ?, errors = ?, error = NULL,"
                    " finished_at = COALESCE(finished_at, ?), updated_at = ? WHERE id = ?",
                    (
                        status,
                        status,
                        canvas_id,
                        run.duration_ms,
                        run.metadata.credits_consumed if run.metadata is not None else None,
                        json.dumps(errors),
                        now,
                        now,
                        row,
                    ),
                )
            else:
                conn.execute(
                    "UPDATE runs SET state = 'running', status = ?, error = NULL,"
                    " canvas_id = COALESCE(?, canvas_id), updated_at = ? WHERE id = ?",
                    (status, canvas_id, now, row),
                )
            return True

        # A cheap read first: most polls change nothing and need no write lock.
        def unchanged(conn: sqlite3.Connection) -> bool:
            found = conn.execute(
                "SELECT state, status, canvas_id FROM runs WHERE run_id = ?", (run.run_id,)
            ).fetchone()
            if found is None:
                return True
            state, old_status, old_canvas = found
            if state in TERMINAL_STATES:
                return True
            return (
                not terminal
                and old_status == status
                and (canvas_id or None) in (None, old_canvas)
            )

        if self._read(unchanged):
            return False
        return self._write("record a run state in", work)

    def record_artifacts(
        self,
        run_id: str,
        saved: Sequence[tuple[RunArtifact, str | os.PathLike[str]]],
        *,
        complete: bool = True,
    ) -> None:
        """Record where artifacts of ``run_id`` were saved (as absolute paths); ``complete``
        marks the run's downloads as done (what a batch checks before skipping an item on
        resume). Nothing is written for a run the ledger does not know."""
        now = time.time()
        rows = [
            (a.id, a.name, a.type, a.size_bytes, os.path.abspath(os.fspath(path)))
            for a, path in saved
        ]

        def work(conn: sqlite3.Connection) -> None:
            found = conn.execute("SELECT id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if found is None:
                return
            row = found[0]
            conn.executemany(
                "INSERT OR REPLACE INTO artifacts (run_row, artifact_id, name, type, size_bytes,"
                " path, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(row, *values, now) for values in rows],
            )
            if complete:
                conn.execute(
                    "UPDATE runs SET downloaded_at = ?, updated_at = ? WHERE id = ?",
                    (now, now, row),
                )

        self._write("record downloads in", work)

    # -- reads ----------------------------------------------------------------------------

    def _select(
        self, where: str = "", params: Sequence[Any] = (), tail: str = ""
    ) -> builtins.list[RunRecord]:
        # Only this module's constant text goes into the SQL; values are always parameters.
        sql = f"SELECT {_COLUMNS} FROM runs {where} {tail}"  # noqa: S608
        return self._read(lambda c: [_record(r) for r in c.execute(sql, params).fetchall()])

    def list(
        self,
        *,
        status: str | Sequence[str] | None = None,
        since: float | None = None,
        api_host: str | None = None,
        batch: str | None = None,
        limit: int | None = None,
    ) -> builtins.list[RunRecord]:
        """Records, newest first. ``status`` filters on the state (``running``, ``completed``,
        ``ambiguous``... or several); ``since`` on the creation time (seconds since the epoch);
        ``limit`` keeps the newest N."""
        clauses: builtins.list[str] = []
        params: builtins.list[Any] = []
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            clauses.append(f"state IN ({', '.join('?' * len(wanted))})")
            params += wanted
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(since)
        if api_host is not None:
            clauses.append("api_host = ?")
            params.append(api_host)
        if batch is not None:
            clauses.append("batch = ?")
            params.append(batch)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        tail = "ORDER BY created_at DESC, id DESC"
        if limit is not None:
            tail += f" LIMIT {int(limit)}"
        return self._select(where, params, tail)

    def get(self, ref: str) -> RunRecord | None:
        """The record of a run id, an Idempotency-Key, a local row number, or an unambiguous
        prefix (:data:`MIN_PREFIX` = 6 characters or more) of a run id; None when nothing
        matches. Artifacts are included. Raises ``LookupError`` when a prefix matches several
        runs."""
        ref = ref.strip()
        found = self._select("WHERE run_id = ? OR idempotency_key = ?", (ref, ref))
        if not found and ref.isdigit():
            found = self._select("WHERE id = ?", (int(ref),))
        if not found and len(ref) >= MIN_PREFIX:
            pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            found = self._select("WHERE run_id LIKE ? ESCAPE '\\'", (pattern,), "LIMIT 2")
            if len(found) > 1:
                raise LookupError(f"{ref!r} matches more than one run; give more of the id")
        if not found:
            return None
        record = found[0]
        return self._with_artifacts(record)

    def _with_artifacts(self, record: RunRecord) -> RunRecord:
        rows = self._read(
            lambda c: c.execute(
                "SELECT artifact_id, name, type, size_bytes, path, saved_at FROM artifacts"
                " WHERE run_row = ? ORDER BY saved_at, name",
                (record.id,),
            ).fetchall()
        )
        artifacts = tuple(ArtifactRecord(*row) for row in rows)
        from dataclasses import replace

        return replace(record, artifacts=artifacts)

    def row(self, row: int) -> RunRecord:
        """The record of a local row number (artifacts included)."""
        found = self._select("WHERE id = ?", (row,))
        if not found:
            raise KeyError(row)
        return self._with_artifacts(found[0])

    def unfinished(self, *, api_host: str | None = None) -> builtins.list[RunRecord]:
        """Records whose run has not reached a terminal state (``running``), or whose create
        is ``sending`` or ``ambiguous``, oldest first."""
        clauses = ["state IN ('sending', 'running', 'ambiguous')"]
        params: builtins.list[Any] = []
        if api_host is not None:
            clauses.append("api_host = ?")
            params.append(api_host)
        return self._select(f"WHERE {' AND '.join(clauses)}", params, "ORDER BY created_at, id")

    def batch_items(self, batch: str) -> dict[str, RunRecord]:
        """The latest record of each item of ``batch``, by item id."""
        records = self._select(
            "WHERE id IN (SELECT MAX(id) FROM runs WHERE batch = ? GROUP BY item_id)", (batch,)
        )
        return {r.item_id: r for r in records if r.item_id is not None}

    def is_orphan(self, record: RunRecord) -> bool:
        """True when ``record`` is ``sending`` but the process that sent it is gone (on this
        machine; a record from another machine is never declared an orphan)."""
        if record.state != "sending" or record.pid is None:
            return False
        if record.hostname != self._hostname:
            return False
        if record.pid == os.getpid():
            return False
        return not _pid_alive(record.pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True
