"""Batches: many creates, bounded concurrency, one back-off on 429, every run awaited, artifacts
downloaded, a summary written, and resume after any crash without creating a run twice.

How an invocation decides what to do with each item (the ledger is the memory between
invocations; items are found by ``(batch, item id)``):

=================  =====================================================================
latest record      what happens
=================  =====================================================================
none, rejected     created (a new Idempotency-Key; ``rejected`` means the server provably
                   did not act on the last try, so nothing was paid)
changed            the item's request (prompt, fields, file contents) differs from the one
                   its run was created with: neither reused nor created again, listed as
                   ``changed``; with ``rerun_changed`` a new run is created for it
sending            left by a process that died mid-create: marked ``ambiguous``
ambiguous          listed in the summary and *not* sent again, unless ``resend_ambiguous``:
                   then re-sent with its original Idempotency-Key (a server that honours
                   it returns the run it already made)
running            re-attached and awaited
lost               the API answered 404 for its run: listed, not followed or created again
terminal           skipped; its artifacts are downloaded if that had not finished
=================  =====================================================================

Within one invocation a create that gets 429 (or fails before reaching the server: connection
refused, 503) pauses *every* create of the batch for ``Retry-After`` (else an exponential
back-off), then is retried with the same key. A failure after the request may have reached
the server (the SDK's ``run_may_exist``) makes the item ``ambiguous``; other errors make it
``rejected``. No single item stops the batch: a poll that keeps failing makes that item
``unknown``, a 404 makes it ``lost``, a failed download is reported on it. A 401 stops the
batch as a whole: no create is started after it, the creates already on the wire are
awaited (so their outcome is known, not guessed), and the summary is written before the
error is raised. One process is enough for thousands of items: waiting is I/O on one
:class:`spine.AsyncSpineClient` (at most 16 requests on the wire), and the service's rate limit
binds long before the CPU does.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import math
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from spine import (
    ArtifactLinkExpiredError,
    AsyncSpineClient,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    SpineConnectionError,
    SpineError,
    SpineTimeoutError,
)
from spine.ledger._display import clock, one_line
from spine.ledger._errors import (
    BatchInputError,
    LedgerError,
    LedgerUsageError,
    OutputFolderError,
)
from spine.ledger._fingerprint import describe_request, is_iterable
from spine.ledger._paths import open_ledger
from spine.ledger._recorded import (
    POLL_ATTEMPTS,
    AsyncRecordedRuns,
    _Creation,
    _Recorder,
    check_create,
    check_schedule,
)
from spine.ledger._store import Ledger, RunRecord

if TYPE_CHECKING:
    from spine import AsyncRunHandle, GetRunResponse

__all__ = [
    "BatchBusyError",
    "BatchInputError",
    "BatchItem",
    "BatchReport",
    "BatchUpdate",
    "ItemOutcome",
    "arun_batch",
    "read_items",
    "run_batch",
]

SUMMARY = "summary.jsonl"
LOCK = ".spine-batch.lock"
PROBE = ".spine-probe"
_FIELDS = frozenset({"id", "prompt", "template", "blocks", "agent_instructions", "files"})
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_REPORTED = 20
#: Names an item id may not take, compared case-insensitively (``DIR/<id>/`` sits beside the
#: batch's own files, and some disks ignore case): the summary; and the names Windows
#: reserves for devices, with or without an extension.
RESERVED_IDS = frozenset(
    {SUMMARY, "con", "prn", "aux", "nul"}
    | {f"com{n}" for n in range(10)}
    | {f"lpt{n}" for n in range(10)}
)


class BatchBusyError(SpineError):
    """Another process is running the same batch (same output folder) right now."""


def reserved_id(item_id: str) -> str | None:
    """Why ``item_id`` cannot name an item's folder (None when it can)."""
    low = item_id.casefold()
    if low in RESERVED_IDS or low.split(".", 1)[0] in RESERVED_IDS - {SUMMARY}:
        return "it is a name the batch or the system reserves"
    if low.startswith(SUMMARY + "."):
        return "it starts with the summary's name"
    if item_id.endswith("."):
        return "it ends with '.' (Windows drops the dot)"
    return None


# ----------------------------------------------------------------------------- items


@dataclass(frozen=True)
class BatchItem:
    """One create request of a batch.

    ``files`` are paths (relative ones are resolved against ``base``, FILE's folder on the
    command line). ``id`` names the item in the ledger, the summary and ``DIR/<id>/``: 1 to
    128 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit; when None it
    is derived from the item's content (:attr:`item_id`)."""

    prompt: str
    id: str | None = None
    template: str = "auto"
    blocks: tuple[str, ...] | None = None
    agent_instructions: str | None = None
    files: tuple[str, ...] = ()
    base: str | None = None
    line: int | None = None

    @property
    def item_id(self) -> str:
        """``id``, or ``item-`` and 16 hex digits of the SHA-256 of the item's fields as
        written (stable across runs and machines)."""
        if self.id is not None:
            return self.id
        canonical = {
            "prompt": self.prompt,
            "template": self.template,
            "blocks": list(self.blocks) if self.blocks is not None else None,
            "agent_instructions": self.agent_instructions,
            "files": list(self.files),
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "item-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def paths(self) -> list[str]:
        base = self.base or "."
        return [os.path.normpath(os.path.join(base, f)) for f in self.files]

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, base: str | None = None, line: int | None = None
    ) -> BatchItem:
        """An item from one JSON object; raises :class:`BatchInputError` on a problem."""
        problems = _check_mapping(data, line, base)
        if problems:
            raise BatchInputError(problems)
        return _item(data, base, line)


def _where(line: int | None) -> str:
    return f"line {line}" if line is not None else "item"


def _check_mapping(data: object, line: int | None, base: str | None) -> list[str]:
    at = _where(line)
    if not isinstance(data, Mapping):
        return [f"{at}: expected a JSON object, got {type(data).__name__}"]
    problems: list[str] = []
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        problems.append(
            f"{at}: unknown field(s) {', '.join(map(repr, unknown))} (expected {sorted(_FIELDS)})"
        )
    prompt = data.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append(f"{at}: 'prompt' is required and must be a non-empty string")
    for name in ("template", "agent_instructions"):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(f"{at}: {name!r} must be a non-empty string")
    blocks = data.get("blocks")
    if blocks is not None and (
        not isinstance(blocks, list)
        or not blocks
        or not all(isinstance(b, str) and b.strip() for b in blocks)
    ):
        problems.append(f"{at}: 'blocks' must be a non-empty list of block-type strings")
    item_id = data.get("id")
    if item_id is not None and (not isinstance(item_id, str) or not _ID_RE.fullmatch(item_id)):
        problems.append(
            f"{at}: 'id' must be 1-128 letters, digits, '.', '_' or '-' starting with a letter"
            f" or digit, got {item_id!r}"
        )
    elif isinstance(item_id, str) and (why := reserved_id(item_id)) is not None:
        problems.append(f"{at}: 'id' {item_id!r} cannot be used: {why}")
    files = data.get("files")
    if files is not None:
        if not isinstance(files, list) or not all(isinstance(f, str) and f for f in files):
            problems.append(f"{at}: 'files' must be a list of paths")
        else:
            for name in files:
                path = os.path.join(base or ".", name)
                if not os.path.exists(path):
                    problems.append(f"{at}: file {name!r} not found (looked at {path})")
                elif os.path.isdir(path):
                    problems.append(f"{at}: file {name!r} is a directory")
                elif not os.access(path, os.R_OK):
                    problems.append(f"{at}: file {name!r} is not readable")
    if not problems:
        problems += _sdk_problems(data, at, base)
    return problems


def _sdk_problems(data: Mapping[str, Any], at: str, base: str | None) -> list[str]:
    """What ``runs.create`` itself would refuse in this item (its own checks, nothing sent)."""
    files = [os.path.join(base or ".", f) for f in data.get("files") or ()]
    try:
        check_create(
            data["prompt"],
            {
                "template": data.get("template") or "auto",
                "blocks": data.get("blocks"),
                "agent_instructions": data.get("agent_instructions"),
                "webhook_url": None,
                "files": files or None,
                "idempotency_key": None,
            },
        )
    except SpineError as exc:
        return [f"{at}: {exc.message}"]
    except (OSError, TypeError, ValueError) as exc:
        return [f"{at}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}"]
    return []


def _item(data: Mapping[str, Any], base: str | None, line: int | None) -> BatchItem:
    blocks = data.get("blocks")
    return BatchItem(
        prompt=data["prompt"],
        id=data.get("id"),
        template=data.get("template") or "auto",
        blocks=tuple(blocks) if blocks is not None else None,
        agent_instructions=data.get("agent_instructions"),
        files=tuple(data.get("files") or ()),
        base=base,
        line=line,
    )


def read_items(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Read and check a JSON Lines batch file: UTF-8 text (a leading byte-order mark is
    allowed), one object per line (blank lines and lines starting with ``#`` are skipped)
    with ``prompt`` (required), ``template``, ``blocks`` (a list), ``agent_instructions``,
    ``files`` (paths relative to the file's folder) and ``id``.

    Every line is checked before anything is sent, with the SDK's own checks of
    ``runs.create``; all problems are raised together as :class:`BatchInputError`
    (duplicate or reserved ids, lines that are not UTF-8, and a file with no item at all
    included). ``OSError`` when the file cannot be read."""
    source = Path(path)
    base = str(source.parent)
    items: list[BatchItem] = []
    problems: list[str] = []
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(
                    f"line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at column"
                    f" {exc.start + 1}); save the file as UTF-8"
                )
                continue
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                data = json.loads(stripped)
            except ValueError as exc:
                problems.append(f"line {number}: not valid JSON ({exc})")
                continue
            found = _check_mapping(data, number, base)
            if found:
                problems += found
                continue
            items.append(_item(data, base, number))
    problems += _duplicates(items)
    if not items and not problems:
        problems.append(f"{source} has no items (one JSON object per line)")
    if problems:
        raise BatchInputError(problems)
    return items


def _duplicates(items: list[BatchItem]) -> list[str]:
    seen: dict[str, BatchItem] = {}
    problems: list[str] = []
    for item in items:
        key = item.item_id.casefold()  # DIR/<id>/ must differ on case-insensitive disks too
        first = seen.get(key)
        if first is None:
            seen[key] = item
            continue
        how = "the same id" if item.id is not None else "the same content (give them ids)"
        problems.append(
            f"{_where(item.line)}: {how} as {_where(first.line)} ({item.item_id!r})"
        )
    return problems


def _normalise(items: Iterable[BatchItem | Mapping[str, Any]] | str | os.PathLike[str]) -> list[
    BatchItem
]:
    if isinstance(items, str | os.PathLike):
        return read_items(items)
    if isinstance(items, bytes | Mapping) or not is_iterable(items):
        raise TypeError(
            "items must be a path or an iterable of BatchItem objects or mappings, not"
            f" {type(items).__name__}"
        )
    result: list[BatchItem] = []
    problems: list[str] = []
    for index, entry in enumerate(items, start=1):
        if isinstance(entry, BatchItem):
            entry = entry if entry.line is not None else _with_line(entry, index)
            found = _check_mapping(_fields_of(entry), entry.line, entry.base)
            if found:
                problems += found
            else:
                result.append(entry)
            continue
        found = _check_mapping(entry, index, None)
        if found:
            problems += found
        else:
            assert isinstance(entry, Mapping)
            result.append(_item(entry, None, index))
    problems += _duplicates(result)
    if not result and not problems:
        problems.append("there are no items")
    if problems:
        raise BatchInputError(problems)
    return result


def _fields_of(item: BatchItem) -> dict[str, Any]:
    """A BatchItem as the JSON fields it stands for (to check it as a line would be)."""
    data: dict[str, Any] = {"prompt": item.prompt, "template": item.template}
    if item.id is not None:
        data["id"] = item.id
    if item.blocks is not None:
        data["blocks"] = list(item.blocks) if is_iterable(item.blocks) else item.blocks
    if item.agent_instructions is not None:
        data["agent_instructions"] = item.agent_instructions
    if item.files:
        data["files"] = list(item.files) if is_iterable(item.files) else item.files
    return data


def _with_line(item: BatchItem, line: int) -> BatchItem:
    from dataclasses import replace

    return replace(item, line=line)


# ----------------------------------------------------------------------------- outcomes


@dataclass
class ItemOutcome:
    """One line of ``summary.jsonl``.

    ``status`` is the run's terminal status (``completed``, ``partial``, ``failed``), or:

    * ``running``: the batch stopped waiting first (``timeout``, or the batch had to stop);
      running the batch again picks it up;
    * ``lost``: the API answered 404 for its run (``error`` holds the answer): it no longer
      knows the run (a key of another account, or a server that forgot its runs);
    * ``unknown``: its run exists but its state could not be read (``error`` says why);
      running the batch again polls it again;
    * ``changed``: the item differs from the request its run was created with; neither
      reused nor created again (give it a new id, or ``rerun_changed``);
    * ``ambiguous``: the create may have made a run (see ``idempotency_key``);
    * ``rejected``: the API (or the SDK's checks) refused the create; ``error`` says why;
    * ``not_started``: never sent (the batch stopped, or its ``timeout`` passed, first).

    ``artifacts`` are paths relative to the output folder; ``error`` also reports artifacts
    that could not be saved."""

    id: str
    run_id: str | None
    status: str
    credits_consumed: int | None = None
    duration_ms: int | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    idempotency_key: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "run_id": self.run_id,
            "status": self.status,
            "credits_consumed": self.credits_consumed,
            "duration_ms": self.duration_ms,
            "errors": self.errors,
            "artifacts": self.artifacts,
        }
        if self.idempotency_key is not None:
            data["idempotency_key"] = self.idempotency_key
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass
class BatchUpdate:
    """What the live display draws: counts per state, credits so far, and the item that just
    changed (``item_id``, ``state``, ``detail``), if any."""

    counts: dict[str, int]
    credits: int
    total: int
    elapsed: float
    item_id: str | None = None
    state: str | None = None
    detail: str | None = None


#: Exit statuses of ``spine batch``, the first that applies (``docs/cli.md``).
(
    EXIT_OK, EXIT_ERROR, EXIT_CHANGED, EXIT_PARTIAL, EXIT_FAILED, EXIT_TIMEOUT, EXIT_API,
    EXIT_DOWNLOAD, EXIT_LOST,
) = (0, 1, 2, 3, 4, 5, 7, 9, 10)

#: The order of the statuses in the table and the summary's counts.
STATUS_ORDER = ("completed", "partial", "failed", "running", "lost", "unknown", "changed",
                "ambiguous", "rejected", "not_started")


@dataclass
class BatchReport:
    """What a batch did. ``counts`` maps each summary status to its number of items;
    ``attention`` holds the outcomes that are not ``completed`` (at most the first 1,000);
    ``summary_path`` is ``DIR/summary.jsonl``. ``deadline_reached`` is True when ``timeout``
    passed before the batch was done; ``interrupted`` when it was cancelled (Ctrl-C)."""

    total: int
    counts: dict[str, int]
    credits: int
    summary_path: Path
    out: Path
    attention: list[ItemOutcome]
    download_errors: int
    ledger_path: str | None
    elapsed: float
    pauses: list[float] = field(default_factory=list)
    """Each pause of the whole batch after a 429 or an unreachable server, in seconds."""
    deadline_reached: bool = False
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """The first that applies: 2 when some item changed since its run was created (it is
        refused: give it a new id, or ``rerun_changed``); 5 when some run was still going
        when the batch stopped waiting, or its timeout left items not started; 10 when some
        run is lost (404); 4 when some failed; 7 when the API refused some create or some
        run's state could not be read; 1 when some create is ambiguous (check, then
        ``--resend-ambiguous``) or never started; 9 when artifacts could not be saved; 3
        when some ended partial; else 0."""
        c = self.counts
        if c.get("changed"):
            return EXIT_CHANGED
        if c.get("running") or (c.get("not_started") and self.deadline_reached):
            return EXIT_TIMEOUT
        if c.get("lost"):
            return EXIT_LOST
        if c.get("failed"):
            return EXIT_FAILED
        if c.get("rejected") or c.get("unknown"):
            return EXIT_API
        if c.get("ambiguous") or c.get("not_started"):
            return EXIT_ERROR
        if self.download_errors:
            return EXIT_DOWNLOAD
        if c.get("partial"):
            return EXIT_PARTIAL
        return EXIT_OK

    def table(self) -> str:
        """The plain-text table printed on stderr at the end of ``spine batch``."""
        lines = [f"Batch: {self.total} items in {clock(self.elapsed)}, "
                 f"{self.credits} credits; summary in {self.summary_path}"]
        rows = [(s, self.counts[s]) for s in STATUS_ORDER if self.counts.get(s)]
        rows += [(s, n) for s, n in sorted(self.counts.items()) if s not in STATUS_ORDER and n]
        width = max((len(s) for s, _ in rows), default=6)
        lines += [f"  {s:<{width}}  {n:>7}" for s, n in rows]
        if self.download_errors:
            lines.append(f"  {'downloads failed':<{width}}  {self.download_errors:>7}")
        if self.pauses:
            lines.append(f"  paused {len(self.pauses)} time(s), {sum(self.pauses):.0f} s in all,"
                         " for the API's rate limit or an unreachable server")
        if self.attention:
            lines.append("")
            idw = max(len("item"), *(len(o.id) for o in self.attention[:_MAX_REPORTED]))
            lines.append(f"  {'item':<{idw}}  {'status':<11}  {'run id':<36}  detail")
            for o in self.attention[:_MAX_REPORTED]:
                detail = o.error or "; ".join(e.get("error", "") for e in o.errors) or ""
                if o.status == "ambiguous" and o.idempotency_key:
                    detail = f"Idempotency-Key {o.idempotency_key}; {detail}"
                lines.append(
                    f"  {o.id:<{idw}}  {o.status:<11}  {o.run_id or '-':<36}  "
                    f"{one_line(detail)[:120]}"
                )
            others = sum(n for st, n in self.counts.items() if st != "completed")
            more = max(len(self.attention), others) - _MAX_REPORTED
            if more > 0:
                lines.append(f"  ... and {more} more in {self.summary_path}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- pacing


class RateGate:
    """The batch's one back-off: when a create hits 429 (or cannot reach the server), every
    create waits until the gate opens again. Pure state plus an ``await``-able ``wait``."""

    def __init__(
        self,
        clock: Callable[[], float],
        sleep: Callable[[float], Any],
        *,
        base: float = 1.0,
        cap: float = 60.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.until = 0.0
        self.base = base
        self.cap = cap
        self.failures = 0  # consecutive failures that paused the gate
        self.pauses: list[float] = []  # the pauses taken, in seconds (for reports and tests)
        self._napping: asyncio.Future[None] | None = None

    def delay_for(self, retry_after: float | None) -> float:
        """Seconds to pause: ``Retry-After`` when the server gave one, else exponential back-off
        from ``base`` doubling to ``cap``, with ±10 % jitter."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.cap * 10)
        step = min(self.base * 2.0 ** max(self.failures - 1, 0), self.cap)
        return float(step * random.uniform(0.9, 1.1))

    def pause(self, retry_after: float | None) -> None:
        self.failures += 1
        until = self._clock() + self.delay_for(retry_after)
        if until > self.until:
            self.until = until

    def succeeded(self) -> None:
        self.failures = 0

    async def wait(self) -> None:
        """Return once the gate is open. Every create waiting meanwhile shares one pause."""
        while True:
            left = self.until - self._clock()
            if left <= 0:
                return
            if self._napping is None:
                self._napping = asyncio.ensure_future(self._nap(left))
            await asyncio.shield(self._napping)

    async def _nap(self, seconds: float) -> None:
        self.pauses.append(seconds)
        try:
            await self._sleep(seconds)
        finally:
            self._napping = None


# ----------------------------------------------------------------------------- the runner


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """An exclusive lock on ``out/.spine-batch.lock`` (released by the OS if the process dies,
    ``kill -9`` included), so two processes never run the same batch at once."""
    path = out / LOCK
    handle = open(path, "a+b")  # noqa: SIM115 - held for the whole batch
    try:
        try:
            if os.name == "nt":  # pragma: no cover - exercised on Windows only
                import msvcrt

                msvcrt.locking(  # type: ignore[attr-defined,unused-ignore]
                    handle.fileno(), msvcrt.LK_NBLCK, 1  # type: ignore[attr-defined,unused-ignore]
                )
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchBusyError(
                f"Another process is running the batch in {out} (it holds {path}); wait for it"
                " to finish, or use another --out folder."
            ) from None
        yield
    finally:
        handle.close()


class _Batch:
    def __init__(
        self,
        client: AsyncSpineClient,
        items: list[BatchItem],
        *,
        out: Path,
        ledger: Ledger,
        batch: str,
        concurrency: int,
        timeout: float | None,
        resend_ambiguous: bool,
        rerun_changed: bool,
        poll_interval: float,
        max_poll_interval: float,
        download: bool,
        on_update: Callable[[BatchUpdate], object] | None,
        sleep: Callable[[float], Any],
        clock: Callable[[], float],
        max_unreachable: int,
    ) -> None:
        self.client = client
        self.items = items
        self.out = out
        self.ledger = ledger
        self.batch = batch
        self.concurrency = concurrency
        self.resend_ambiguous = resend_ambiguous
        self.rerun_changed = rerun_changed
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.download = download
        self.on_update = on_update
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.deadline = None if timeout is None else self.started + timeout
        self.gate = RateGate(clock, sleep)
        self.max_unreachable = max_unreachable
        self.runs = AsyncRecordedRuns(client, ledger, None)
        self.recorder = _Recorder(ledger)
        self.counts: dict[str, int] = {"waiting": 0, "creating": 0, "running": 0}
        self.credits = 0
        self.download_errors: dict[str, str] = {}
        #: Outcomes known in this process only: ``changed``, ``unknown``, or ``rejected`` by
        #: the SDK's checks before any row was written; ``(status, error)`` by item id.
        self.overrides: dict[str, tuple[str, str]] = {}
        self.downloads = asyncio.Semaphore(concurrency)
        # One plain client for every download (it never carries the API key): a client per
        # download would build a TLS context each time, about 40 ms of CPU.
        self.http: httpx.AsyncClient | None = None
        self.seq = {item.item_id: index for index, item in enumerate(items)}
        #: Why the whole batch stopped (a 401, the ledger, the server unreachable), if it did.
        self.stopped: BaseException | None = None
        self._stop_event: asyncio.Event | None = None
        self._followers: set[asyncio.Task[None]] = set()
        self._group: asyncio.TaskGroup | None = None
        self.deadline_reached = False

    # -- display ---------------------------------------------------------------------------

    def _move(self, item_id: str, old: str | None, new: str, detail: str | None = None) -> None:
        if old is not None:
            self.counts[old] = self.counts.get(old, 0) - 1
        self.counts[new] = self.counts.get(new, 0) + 1
        self._emit(item_id, new, detail)

    def _emit(self, item_id: str | None = None, state: str | None = None,
              detail: str | None = None) -> None:
        if self.on_update is not None:
            self.on_update(
                BatchUpdate(
                    counts=dict(self.counts),
                    credits=self.credits,
                    total=len(self.items),
                    elapsed=self.clock() - self.started,
                    item_id=item_id,
                    state=state,
                    detail=detail,
                )
            )

    def _remaining(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - self.clock(), 0.0)

    def _past_deadline(self) -> bool:
        if self.deadline is not None and self.clock() >= self.deadline:
            self.deadline_reached = True
            return True
        return False

    # -- stopping ----------------------------------------------------------------------------

    def stop(self, cause: BaseException) -> None:
        """Stop the whole batch: no create starts after this, creates on the wire are awaited
        (their outcome is then known), every run being followed stops being polled."""
        if self.stopped is not None:
            return
        self.stopped = cause
        if self._stop_event is not None:
            self._stop_event.set()
        for task in list(self._followers):
            task.cancel()

    async def _wait_for_gate(self) -> None:
        """The rate gate, cut short when the batch stops."""
        if self.gate.until <= self.clock() or self._stop_event is None:
            await self.gate.wait()
            return
        opened = asyncio.ensure_future(self.gate.wait())
        stopped = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({opened, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (opened, stopped):
                task.cancel()

    # -- plan ------------------------------------------------------------------------------

    def fingerprints(self, known: dict[str, RunRecord]) -> dict[str, str]:
        """The current fingerprint of every item that has a record with one (file hashing:
        run in a worker thread)."""
        result: dict[str, str] = {}
        for item in self.items:
            rec = known.get(item.item_id)
            if rec is not None and rec.fingerprint and rec.state != "rejected":
                with contextlib.suppress(OSError):  # a file gone: the create will say so
                    result[item.item_id] = _fingerprint_of(item)
        return result

    def plan(
        self, known: dict[str, RunRecord], current: dict[str, str]
    ) -> tuple[list[tuple[BatchItem, RunRecord | None]], list[tuple[BatchItem, RunRecord]]]:
        to_create: list[tuple[BatchItem, RunRecord | None]] = []
        to_follow: list[tuple[BatchItem, RunRecord]] = []
        for item in self.items:
            item_id = item.item_id
            rec = known.get(item_id)
            if rec is None or rec.state == "rejected":
                to_create.append((item, None))
                self.counts["waiting"] += 1
            elif item_id in current and current[item_id] != rec.fingerprint:
                if self.rerun_changed:
                    to_create.append((item, None))  # a new key: a new run for the new request
                    self.counts["waiting"] += 1
                else:
                    what = f"run {rec.run_id}" if rec.run_id else (
                        f"its {rec.state} create (Idempotency-Key {rec.idempotency_key})")
                    message = (
                        f"changed since {what} was created for it: not reused and not"
                        " created again; give the item a new id, or run with"
                        " --rerun-changed (rerun_changed=True) to create a new run for it"
                    )
                    self.overrides[item_id] = ("changed", message)
                    self._move(item_id, None, "changed", message)
            elif rec.state == "ambiguous":
                if self.resend_ambiguous and rec.idempotency_key:
                    to_create.append((item, rec))
                    self.counts["waiting"] += 1
                else:
                    self.counts["ambiguous"] = self.counts.get("ambiguous", 0) + 1
            elif rec.state in ("running", "sending") and rec.run_id:
                to_follow.append((item, rec))
                self.counts["running"] += 1
            elif rec.is_terminal:
                if self.download and rec.downloaded_at is None and rec.state != "failed":
                    to_follow.append((item, rec))  # polled once for fresh links, then saved
                    self.counts["running"] += 1
                else:
                    self.credits += rec.credits or 0
                    self.counts[rec.state] = self.counts.get(rec.state, 0) + 1
            else:  # lost (and any state a newer SDK may add): reported as it is
                self.counts[rec.state] = self.counts.get(rec.state, 0) + 1
        return to_create, to_follow

    # -- create ----------------------------------------------------------------------------

    async def create(self, item: BatchItem, previous: RunRecord | None) -> None:
        item_id = item.item_id
        creation = _Creation(
            self.ledger,
            self.runs.host,
            item.prompt,
            template=item.template,
            blocks=list(item.blocks) if item.blocks is not None else None,
            agent_instructions=item.agent_instructions,
            webhook_url=None,
            files=item.paths() or None,
            idempotency_key=previous.idempotency_key if previous is not None else None,
            label=None,
            batch=self.batch,
            item_id=item_id,
            item_seq=self.seq[item_id],
            row=previous.id if previous is not None else None,
        )
        try:
            await self._create(item, creation)
        except BaseException as exc:
            if not creation.on_wire:  # cancelled before (re)sending it: nothing was paid
                creation.failed(exc)
            raise

    async def _create(self, item: BatchItem, creation: _Creation) -> None:
        item_id = item.item_id
        where = "waiting"
        while True:
            await self._wait_for_gate()
            if self.stopped is not None or self._past_deadline():
                self._move(item_id, where, "not_started")
                return
            if where == "waiting":
                self._move(item_id, "waiting", "creating")
                where = "creating"
            try:
                await self.runs._begin(creation)
            except LedgerError as exc:
                self.stop(exc)
                self._move(item_id, "creating", "not_started", str(exc))
                return
            except Exception as exc:  # the SDK's checks refused it (a file changed since)
                message = f"refused before sending: {_describe(exc)}"
                self.overrides[item_id] = ("rejected", message)
                self._move(item_id, "creating", "rejected", message)
                return
            if self.stopped is not None:
                creation.failed(_NotSent())
                self._move(item_id, "creating", "not_started")
                return
            try:
                creation.on_wire = True
                handle = await self.client.runs.create(creation.prompt, **creation.kwargs)
            except AuthenticationError as exc:
                state = creation.failed(exc)  # 401: refused, nothing was created
                self.stop(exc)
                self._move(item_id, "creating", state, str(exc))
                return
            except (RateLimitError, SpineConnectionError, ServerError, SpineTimeoutError) as exc:
                creation.failed(exc)
                if exc.run_may_exist:
                    self._move(item_id, "creating", "ambiguous", str(exc))
                    return
                # The server did not act on it: pause every create, then send it again.
                retry_after = exc.retry_after if isinstance(exc, RateLimitError) else None
                self.gate.pause(retry_after)
                unreachable = not isinstance(exc, RateLimitError)
                if unreachable and self.gate.failures > self.max_unreachable:
                    self.stop(exc)
                    state = "ambiguous" if creation.previous_state == "ambiguous" else "rejected"
                    self._move(item_id, "creating", state, str(exc))
                    return
                creation.on_wire = False
                continue  # the same row and Idempotency-Key are sent again
            except Exception as exc:  # any other refusal, or a failure of the SDK's own
                state = creation.failed(exc)
                self._move(item_id, "creating", state, _describe(exc))
                return
            except BaseException as exc:  # cancelled (Ctrl-C) while on the wire
                creation.failed(exc)
                raise
            self.gate.succeeded()
            creation.created(handle.run_id, handle.canvas_id)
            self._move(item_id, "creating", "running")
            if self.stopped is None:
                self._start_follow(item, handle, creation.recorder)
            return

    # -- follow ----------------------------------------------------------------------------

    def _start_follow(
        self, item: BatchItem, handle: AsyncRunHandle, recorder: _Recorder,
        known: RunRecord | None = None,
    ) -> None:
        assert self._group is not None
        task = self._group.create_task(self.follow(item, handle, recorder, known))
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)

    async def follow(
        self, item: BatchItem, handle: AsyncRunHandle, recorder: _Recorder,
        known: RunRecord | None = None,
    ) -> None:
        """Wait for one run and save its artifacts; whatever goes wrong is recorded on this
        item (only a 401 stops the batch)."""
        item_id = item.item_id
        failures = 0
        while True:
            try:
                run = await handle.wait_for_terminal(
                    timeout=self._remaining(),
                    poll_interval=self.poll_interval,
                    max_poll_interval=self.max_poll_interval,
                )
                break
            except SpineTimeoutError:  # the batch's deadline (transient failures retry)
                recorder.observe(handle.last)
                self.deadline_reached = True
                self._move(item_id, "running", "running", "still running when the batch stopped")
                return
            except AuthenticationError as exc:
                self.stop(exc)
                return
            except NotFoundError as exc:
                if known is not None and known.is_terminal:
                    # Ended earlier; only its fresh download links are missing.
                    self.download_errors[item_id] = str(exc)
                    self._end(item_id, known.state, known.credits, str(exc))
                    return
                message = str(exc)
                recorder.safely(f"Could not record that run {handle.run_id} is lost",
                                lambda led: led.mark_lost(handle.run_id, message))  # noqa: B023
                self._move(item_id, "running", "lost", message)
                return
            except Exception as exc:  # a malformed answer, 403, 409...: retried, then reported
                failures += 1
                if failures < POLL_ATTEMPTS and not self._past_deadline():
                    pause = min(self.poll_interval * 2 ** (failures - 1), self.max_poll_interval)
                    left = self._remaining()
                    await self.sleep(pause if left is None else min(pause, left))
                    continue
                message = f"could not read the state of run {handle.run_id}: {_describe(exc)}"
                self.overrides[item_id] = ("unknown", message)
                recorder.safely(f"Could not record why run {handle.run_id} is not followed",
                                lambda led: led.note(handle.run_id, message))  # noqa: B023
                self._move(item_id, "running", "unknown", message)
                return
        recorder.observe(run)
        credits = run.metadata.credits_consumed if run.metadata is not None else 0
        status = str(run.status)
        if self.download and run.result is not None and run.result.artifacts:
            await self.save(item_id, run, recorder)
        elif self.download:
            recorder.safely(
                f"Could not record the downloads of run {run.run_id}",
                lambda led: led.record_artifacts(run.run_id, []),
            )
        self._end(item_id, status, credits, run.run_id)

    def _end(self, item_id: str, status: str, credits: int | None, detail: str | None) -> None:
        self.credits += credits or 0
        self._move(item_id, "running", status, detail)

    async def save(self, item_id: str, run: GetRunResponse, recorder: _Recorder) -> None:
        """Save the run's artifacts into ``out/<item id>/``; any failure is recorded on the
        item (``download_errors``), never raised."""
        try:
            await self._save(item_id, run, recorder)
        except Exception as exc:
            self.download_errors[item_id] = _describe(exc)

    async def _save(self, item_id: str, run: GetRunResponse, recorder: _Recorder) -> None:
        folder = self.out / item_id
        # A process killed mid-download leaves its temporary files (.spine-*.part) behind.
        for stale in folder.glob(".spine-*.part") if folder.is_dir() else ():
            with contextlib.suppress(OSError):
                stale.unlink()
        async with self.downloads:
            assert run.result is not None
            if self.http is None:
                self.http = httpx.AsyncClient(
                    follow_redirects=False,  # the SDK follows them itself, checked
                    timeout=httpx.Timeout(60.0, connect=10.0),
                    limits=httpx.Limits(max_connections=self.concurrency * 4),
                )
            # The run came from its handle, so its downloads read the run again once by
            # themselves when a link has expired (spine._artifacts): nothing to redo here.
            try:
                paths = await run.result.adownload_all(folder, http_client=self.http)
            except ArtifactLinkExpiredError as exc:
                self.download_errors[item_id] = str(exc)
                return
            except (SpineError, OSError) as exc:
                self.download_errors[item_id] = _describe(exc)
                return
            saved = list(zip(run.result.artifacts, paths, strict=True))
            run_id = run.run_id
            recorder.safely(
                f"Artifacts of run {run_id} were saved but not recorded",
                lambda led, run_id=run_id, saved=saved: led.record_artifacts(  # type: ignore[misc]
                    run_id, saved
                ),
            )

    # -- the whole batch --------------------------------------------------------------------

    async def run(self) -> BaseException | None:
        """Run the batch; returns why it had to stop as a whole (None when it did not).
        Cancellation (Ctrl-C) propagates, after the creates in flight are recorded."""
        self._stop_event = asyncio.Event()
        known = self.ledger.batch_items(self.batch)
        orphans = [r.id for r in known.values() if r.state == "sending" and r.run_id is None]
        if orphans:
            # We hold the batch lock: whoever sent these is gone.
            self.ledger.mark_orphans_ambiguous(orphans)
            known = self.ledger.batch_items(self.batch)
        current = await asyncio.to_thread(self.fingerprints, known)
        to_create, to_follow = self.plan(known, current)
        self._emit()
        queue: asyncio.Queue[tuple[BatchItem, RunRecord | None]] = asyncio.Queue()
        for entry in to_create:
            queue.put_nowait(entry)

        async def creator() -> None:
            while True:
                try:
                    item, previous = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self.create(item, previous)

        unexpected: list[BaseException] = []
        try:
            async with contextlib.AsyncExitStack() as stack:
                stack.push_async_callback(self._close_http)
                async with asyncio.TaskGroup() as group:
                    self._group = group
                    for item, rec in to_follow:
                        assert rec.run_id is not None
                        handle = self.client.runs.attach(rec.run_id)
                        self._start_follow(item, handle, _Recorder(self.ledger), rec)
                    for _ in range(max(1, min(self.concurrency, len(to_create)))):
                        group.create_task(creator())
        except* Exception as failures:
            # A defect of this module, not of one item: still one plain exception, after the
            # summary (an ExceptionGroup never reaches the caller).
            unexpected.extend(failures.exceptions)
        finally:
            self._group = None
        if unexpected and self.stopped is None:
            self.stopped = unexpected[0]
        return self.stopped

    async def _close_http(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None

    # -- summary ----------------------------------------------------------------------------

    def outcome(self, item: BatchItem, rec: RunRecord | None) -> ItemOutcome:
        item_id = item.item_id
        override = self.overrides.get(item_id)
        if rec is None and override is None:
            return ItemOutcome(item_id, None, "not_started")
        status = rec.state if rec is not None else "not_started"
        if status == "sending":  # only if the batch stopped mid-create
            status = "running" if rec is not None and rec.run_id else "ambiguous"
        error = rec.error if rec is not None and status in ("ambiguous", "rejected",
                                                            "lost") else None
        if override is not None:
            status, error = override
        artifacts = []
        for art in rec.artifacts if rec is not None else ():
            try:
                artifacts.append(os.path.relpath(art.path, self.out))
            except ValueError:  # pragma: no cover - another drive on Windows
                artifacts.append(art.path)
        if item_id in self.download_errors:
            error = f"artifacts not saved: {self.download_errors[item_id]}"
        return ItemOutcome(
            id=item_id,
            run_id=rec.run_id if rec is not None else None,
            status=status,
            credits_consumed=rec.credits if rec is not None else None,
            duration_ms=rec.duration_ms if rec is not None else None,
            errors=rec.errors if rec is not None else [],
            artifacts=artifacts,
            idempotency_key=(
                rec.idempotency_key if rec is not None and status == "ambiguous" else None
            ),
            error=error,
        )

    def write_summary(self) -> tuple[dict[str, int], int, list[ItemOutcome]]:
        known = self.ledger.batch_items(self.batch)
        path = self.out / SUMMARY
        tmp = self.out / f".{SUMMARY}.{os.getpid()}.tmp"
        counts: dict[str, int] = {}
        credits = 0
        attention: list[ItemOutcome] = []
        with tmp.open("w", encoding="utf-8") as handle:
            for item in self.items:
                rec = known.get(item.item_id)
                if rec is not None and rec.downloaded_at is not None:
                    rec = self.ledger.row(rec.id)  # with its artifacts
                outcome = self.outcome(item, rec)
                counts[outcome.status] = counts.get(outcome.status, 0) + 1
                credits += outcome.credits_consumed or 0
                needs_look = outcome.status != "completed" or outcome.error
                if needs_look and len(attention) < 1000:
                    attention.append(outcome)
                handle.write(json.dumps(outcome.to_json(), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return counts, credits, attention


class _NotSent(Exception):
    """Stands for "the batch stopped before this create was handed to the SDK"."""


def _describe(exc: BaseException) -> str:
    """``str(exc)`` for the SDK's errors; with the type's name for anything else."""
    if isinstance(exc, SpineError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"{type(exc).__name__}: {exc}"


def _prepare(out: str | os.PathLike[str]) -> tuple[Path, str]:
    """Make sure the output folder exists and can be written (a file is created and removed
    there), before anything is sent; the batch's default name is its absolute path. Raises
    :class:`OutputFolderError` with a plain reason."""
    folder = Path(out)
    shown = os.fspath(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputFolderError(
            f"cannot use {shown} as the output folder: it is a file, not a folder", path=out
        ) from None
    except OSError as exc:
        raise OutputFolderError(
            f"cannot create the output folder {shown}: {_reason(exc)}", path=out
        ) from None
    if not folder.is_dir():
        raise OutputFolderError(
            f"cannot use {shown} as the output folder: it is not a folder", path=out
        )
    probe = folder / f"{PROBE}-{os.getpid()}"
    try:
        with probe.open("wb") as handle:
            handle.write(b"probe")
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink()
        raise OutputFolderError(
            f"cannot write into the output folder {shown}: {_reason(exc)}", path=out
        ) from None
    return folder, f"dir:{folder.resolve()}"


def _reason(exc: OSError) -> str:
    """A plain reason for a file-system failure (no errno number)."""
    plain = {
        errno.EACCES: "permission denied",
        errno.EPERM: "the operation is not permitted (an immutable or protected folder?)",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "no space left on the device",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EDQUOT: "the disk quota is exceeded",
    }
    if exc.errno in plain:
        return plain[exc.errno]
    return (exc.strerror or str(exc)).lower()


def _fingerprint_of(item: BatchItem) -> str:
    from spine.ledger._fingerprint import split_files

    _, fingerprint = describe_request(
        item.prompt,
        template=item.template,
        blocks=list(item.blocks) if item.blocks is not None else None,
        agent_instructions=item.agent_instructions,
        webhook_url=None,
        files=split_files(item.paths() or None),
    )
    return fingerprint


def _check_options(
    *,
    concurrency: object,
    timeout: object,
    poll_interval: object,
    max_poll_interval: object,
    max_unreachable: object,
    name: object,
    on_update: object,
    sleep: object,
    clock: object,
    out: object,
) -> None:
    """Every argument of :func:`arun_batch` checked before anything is sent."""
    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"out must be a path (str or os.PathLike), not {type(out).__name__}")
    if not os.fspath(out):
        raise LedgerUsageError("out must not be empty")
    for label, value in (("concurrency", concurrency), ("max_unreachable", max_unreachable)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{label} must be an int, not {type(value).__name__}")
        if value < 1:
            raise LedgerUsageError(f"{label} must be at least 1, got {value!r}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
        if not timeout > 0:
            raise LedgerUsageError(
                f"timeout must be a positive number of seconds (or None for no limit), got"
                f" {timeout!r}: with no time at all the batch could not create anything"
            )
    check_schedule(
        None if timeout is None or math.isinf(float(timeout)) else float(timeout),
        poll_interval,  # type: ignore[arg-type]
        max_poll_interval,  # type: ignore[arg-type]
    )
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise LedgerUsageError(f"name must be a non-empty string, got {name!r}")
    for label, fn in (("on_update", on_update), ("sleep", sleep), ("clock", clock)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{label} must be callable, not {type(fn).__name__}")


async def arun_batch(
    client: AsyncSpineClient,
    items: Iterable[BatchItem | Mapping[str, Any]] | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    ledger: Ledger | str | os.PathLike[str] | None = None,
    concurrency: int = 8,
    timeout: float | None = None,
    resend_ambiguous: bool = False,
    rerun_changed: bool = False,
    poll_interval: float = 2.0,
    max_poll_interval: float = 30.0,
    download: bool = True,
    name: str | None = None,
    on_update: Callable[[BatchUpdate], object] | None = None,
    sleep: Callable[[float], Any] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    max_unreachable: int = 8,
) -> BatchReport:
    """Create a run per item, wait for them all, download artifacts, write the summary.

    Args:
        client: the :class:`spine.AsyncSpineClient` to use. For a back-off of the whole batch
            at the first 429, give it ``retry_policy=RetryPolicy(max_retries=0)`` (what
            :func:`run_batch` and ``spine batch`` do): with retries on, each create first
            retries on its own.
        items: :class:`BatchItem` objects or mappings with the JSONL fields, or the path of a
            JSON Lines file (:func:`read_items`). Every item is checked before anything is
            sent, with the SDK's own checks of ``runs.create`` (:class:`BatchInputError`; an
            empty batch is refused too).
        out: the output folder: ``out/<item id>/`` receives each item's artifacts and
            ``out/summary.jsonl`` one line per item, in input order (:class:`ItemOutcome`).
            Created if missing, and checked to be a writable folder before anything is sent
            (:class:`OutputFolderError`).
        ledger: a :class:`Ledger`, a path, ``"off"`` or None (``SPINE_LEDGER``, then the
            default file). With ``off`` a temporary in-memory ledger is used: the batch
            works, but cannot be resumed after a crash.
        concurrency: creates (and downloads) in flight at once (default 8). Every created
            run is awaited concurrently whatever this is.
        timeout: seconds for the whole batch, creates included (default None: no limit;
            must be positive). Runs still going then are reported ``running`` and items not
            created yet ``not_started``; running the batch again picks them up.
        resend_ambiguous: re-send creates recorded as ambiguous, with their original
            Idempotency-Key (default: list them in the summary and leave them).
        rerun_changed: create a new run for an item whose request changed since its run was
            created (default: report it ``changed`` and leave it; the old run stays in the
            ledger).
        poll_interval, max_poll_interval: the polling schedule of each run, in seconds
            (positive, finite, ``poll_interval <= max_poll_interval``).
        download: save artifacts (default True).
        name: the batch's name in the ledger (default: the output folder's absolute path);
            running again with the same name resumes it.
        on_update: called with a :class:`BatchUpdate` whenever an item changes state.
        sleep, clock: injectable for tests (the back-off uses them).
        max_unreachable: consecutive creates that cannot reach the server before the batch
            stops (with the last error).

    Returns a :class:`BatchReport`. Raises, before anything is sent: ``TypeError`` or
    :class:`LedgerUsageError` (a ``ValueError``) for a bad argument, :class:`BatchInputError`
    for bad items, :class:`OutputFolderError`, :class:`BatchBusyError` when another process
    runs this batch, :class:`LedgerError` when the ledger cannot be used. When the batch had
    to stop as a whole (a 401, the ledger failing, the server unreachable) it raises that
    error with the summary written first (``exc.batch_report``). Cancelled (Ctrl-C), it
    writes the summary, then lets the cancellation through (with ``batch_report`` set).
    """
    _check_options(
        concurrency=concurrency, timeout=timeout, poll_interval=poll_interval,
        max_poll_interval=max_poll_interval, max_unreachable=max_unreachable, name=name,
        on_update=on_update, sleep=sleep, clock=clock, out=out,
    )
    if timeout is not None and math.isinf(timeout):
        timeout = None
    batch_items = _normalise(items)
    if not isinstance(client, AsyncSpineClient):
        raise TypeError(
            f"client must be a spine.AsyncSpineClient, not {type(client).__name__}"
            " (run_batch makes one for you)"
        )
    folder, default_name = _prepare(out)
    opened = open_ledger(ledger)
    own = opened is None or not isinstance(ledger, Ledger)
    if opened is None:
        opened = Ledger(":memory:")
    try:
        with _locked(folder):
            runner = _Batch(
                client,
                batch_items,
                out=folder,
                ledger=opened,
                batch=name or default_name,
                concurrency=concurrency,
                timeout=timeout,
                resend_ambiguous=bool(resend_ambiguous),
                rerun_changed=bool(rerun_changed),
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                download=bool(download),
                on_update=on_update,
                sleep=sleep,
                clock=clock,
                max_unreachable=max_unreachable,
            )

            def report(interrupted: bool = False) -> BatchReport:
                counts, credits, attention = runner.write_summary()
                return BatchReport(
                    total=len(batch_items),
                    counts=counts,
                    credits=credits,
                    summary_path=folder / SUMMARY,
                    out=folder,
                    attention=attention,
                    download_errors=len(runner.download_errors),
                    ledger_path=None if opened.path == ":memory:" else opened.path,
                    elapsed=clock() - runner.started,
                    pauses=list(runner.gate.pauses),
                    deadline_reached=runner.deadline_reached,
                    interrupted=interrupted,
                )

            try:
                stopped = await runner.run()
            except (asyncio.CancelledError, KeyboardInterrupt) as exc:
                exc.batch_report = report(interrupted=True)  # type: ignore[union-attr]
                raise
            done = report()
            if stopped is not None:
                stopped.batch_report = done  # type: ignore[attr-defined]
                raise stopped
            return done
    finally:
        if own:
            opened.close()


def run_batch(
    items: Iterable[BatchItem | Mapping[str, Any]] | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    api_key: str | None = None,
    base_url: str | None = None,
    **options: Any,
) -> BatchReport:
    """The synchronous form of :func:`arun_batch`: runs it in a new event loop with its own
    :class:`spine.AsyncSpineClient` (``api_key`` and ``base_url`` default to
    ``SPINE_API_KEY`` and ``SPINE_BASE_URL``; creates are not retried one by one, so a 429
    pauses the whole batch). ``options`` are those of :func:`arun_batch`; every argument is
    checked before anything is sent."""

    async def main() -> BatchReport:
        async with AsyncSpineClient(
            api_key=api_key, base_url=base_url, retry_policy=RetryPolicy(max_retries=0)
        ) as client:
            return await arun_batch(client, items, out=out, **options)

    return asyncio.run(main())
