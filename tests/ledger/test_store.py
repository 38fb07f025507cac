"""The ledger file itself: several processes writing at once, a damaged or locked file, a file
from an older or a newer schema, and the queries ``spine runs`` uses."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

import spine
from spine.ledger import (
    Ledger,
    LedgerCorruptError,
    LedgerError,
    LedgerLockedError,
    LedgerVersionError,
)
from spine.ledger._store import SCHEMA_VERSION
from spine.models import GetRunResponse

WRITES = 150


def _writer(path: str, worker: int) -> None:
    """One process: a create, its run id and a terminal state, WRITES times."""
    ledger = Ledger(path, busy_timeout=30)
    for i in range(WRITES):
        key = f"key-{worker}-{i}"
        row = ledger.begin_create(idempotency_key=key, api_host="http://h",
                                  request={"prompt": f"p{worker}-{i}"}, fingerprint="f",
                                  batch="b", item_id=f"{worker}-{i}", item_seq=i)
        run_id = f"run-{worker}-{i}"
        ledger.mark_created(row, run_id, None)
        ledger.observe(GetRunResponse.model_validate(
            {"run_id": run_id, "status": "completed", "duration_ms": 5,
             "metadata": {"template_used": "auto", "credits_consumed": 1}}))
    ledger.close()


def test_several_processes_write_at_once(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Spawned children import this module by name: they need the project root on sys.path,
    # which an installed (non-editable) distribution, as in `make test`, does not provide.
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    Ledger(ledger_path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(ledger_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Ledger(ledger_path) as ledger:
        records = ledger.list()
        assert len(records) == 4 * WRITES
        assert {r.state for r in records} == {"completed"}
        assert len({r.idempotency_key for r in records}) == 4 * WRITES
        assert sum(r.credits or 0 for r in records) == 4 * WRITES
        assert ledger.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(ledger_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_corrupt_file_gives_a_clear_error(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    ledger_path.write_bytes(b"this is not a database\n" * 200)
    with pytest.raises(LedgerCorruptError) as caught:
        Ledger(ledger_path)
    text = str(caught.value)
    assert str(ledger_path) in text and "not a ledger" in text and "'off'" in text
    assert isinstance(caught.value, spine.SpineError) and caught.value.path == str(ledger_path)


def test_damaged_pages_give_a_clear_error(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        for i in range(300):
            ledger.begin_create(idempotency_key=f"k{i}", api_host="h",
                                request={"prompt": "x" * 200}, fingerprint="f")
    conn = sqlite3.connect(ledger_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(ledger_path.read_bytes())
    raw[4096 * 2: 4096 * 6] = b"\xff" * (4096 * 4)  # overwrite table pages, keep the header
    ledger_path.write_bytes(bytes(raw))
    def open_and_read() -> None:
        Ledger(ledger_path).list()

    with pytest.raises(LedgerCorruptError):
        open_and_read()


def test_unwritable_location_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(LedgerError) as caught:
        Ledger(blocker / "runs.sqlite3")
    assert "Cannot open the run ledger" in str(caught.value)


def test_locked_file_times_out_with_a_clear_error(ledger_path: Path) -> None:
    ledger = Ledger(ledger_path, busy_timeout=0.2)
    holder = sqlite3.connect(ledger_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    try:
        with pytest.raises(LedgerLockedError):
            ledger.begin_create(idempotency_key="k", api_host="h", request={"prompt": "p"},
                                fingerprint="f")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert time.monotonic() - started < 5
    # Once the other writer is gone the same ledger works again.
    ledger.begin_create(idempotency_key="k", api_host="h", request={"prompt": "p"},
                        fingerprint="f")
    assert len(ledger.list()) == 1


def test_newer_schema_is_refused_untouched(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(ledger_path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerVersionError, match="Upgrade the SDK"):
        Ledger(ledger_path)
    conn = sqlite3.connect(ledger_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 5
    conn.close()


# The first schema, as a file written by that version holds it.
V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, idempotency_key TEXT UNIQUE, run_id TEXT UNIQUE, canvas_id TEXT,
    api_host TEXT NOT NULL, state TEXT NOT NULL, status TEXT, label TEXT, prompt TEXT,
    template TEXT, blocks TEXT, agent_instructions TEXT, files TEXT, fingerprint TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, finished_at REAL, duration_ms INTEGER,
    credits INTEGER, errors TEXT, error TEXT
);
CREATE INDEX runs_created_at ON runs (created_at);
INSERT INTO runs (idempotency_key, run_id, api_host, state, status, label, prompt, template,
                  files, fingerprint, created_at, updated_at, credits, errors)
VALUES ('old-key', 'old-run', 'https://api.getspine.ai', 'completed', 'completed', 'kept',
        'An old prompt', 'memo', '[]', 'fp', 1700000000, 1700000100, 42, '[]');
INSERT INTO runs (idempotency_key, run_id, api_host, state, status, created_at, updated_at)
VALUES ('old-running', 'old-run-2', 'https://api.getspine.ai', 'running', 'running',
        1700000200, 1700000200);
PRAGMA user_version = 1;
"""


def test_migrates_a_version_1_file(ledger_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(ledger_path)
    conn.executescript(V1)
    conn.close()
    with Ledger(ledger_path) as ledger:
        assert ledger.schema_version == SCHEMA_VERSION == 2
        old = ledger.get("old-run")
        assert old is not None and old.label == "kept" and old.credits == 42
        assert old.prompt == "An old prompt" and old.batch is None and old.artifacts == ()
        assert [r.run_id for r in ledger.unfinished()] == ["old-run-2"]
        # New columns and tables work on the migrated file.
        row = ledger.begin_create(idempotency_key="new", api_host="h", request={"prompt": "p"},
                                  fingerprint="f", batch="b", item_id="i1", item_seq=0)
        ledger.mark_created(row, "new-run", "canvas")
        assert ledger.batch_items("b")["i1"].run_id == "new-run"


def test_lookup_by_prefix_key_and_row(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        for i, run_id in enumerate(["abcdef12-0000", "abcdef34-0000", "99999999-1111"]):
            row = ledger.begin_create(idempotency_key=f"key{i}", api_host="h",
                                      request={"prompt": "p"}, fingerprint="f")
            ledger.mark_created(row, run_id, None)
        assert ledger.get("99999999")
        assert ledger.get("key1").run_id == "abcdef34-0000"
        assert ledger.get("1").run_id == "abcdef12-0000"
        with pytest.raises(LookupError, match="more than one"):
            ledger.get("abcdef")
        assert ledger.get("nothing-like-this") is None
        assert [r.run_id for r in ledger.list(status="running", limit=2)] == [
            "99999999-1111", "abcdef34-0000"]
        assert ledger.list(since=time.time() + 60) == []


def test_observe_never_undoes_an_end(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        row = ledger.begin_create(idempotency_key="k", api_host="h", request={"prompt": "p"},
                                  fingerprint="f")
        ledger.mark_created(row, "r", None)
        done = {"run_id": "r", "status": "completed",
                "metadata": {"template_used": "auto", "credits_consumed": 3}}
        assert ledger.observe(GetRunResponse.model_validate(done))
        assert not ledger.observe(GetRunResponse.model_validate({"run_id": "r",
                                                                 "status": "running"}))
        assert ledger.get("r").state == "completed"
        # An unchanged running state costs no write.
        row2 = ledger.begin_create(idempotency_key="k2", api_host="h",
                                   request={"prompt": "p"}, fingerprint="f")
        ledger.mark_created(row2, "r2", "c2")
        running = GetRunResponse.model_validate({"run_id": "r2", "status": "running",
                                                 "canvas_id": "c2"})
        assert not ledger.observe(running)


def test_the_command_line_offers_every_ledger_state() -> None:
    """``spine runs list --status`` keeps its own copy of the states (its parser imports nothing
    heavy for ``spine --help``): it must name exactly the ledger's states."""
    from spine.ledger import _cli, _store

    assert set(_cli._STATES) == set(_store.STATES)
