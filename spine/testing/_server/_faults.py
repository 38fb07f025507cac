"""Faults the sandbox injects on demand, and the request log.

A :class:`Fault` matches requests by method and path pattern and changes how they are answered:
with a status code (429 with ``Retry-After``, bursts of 5xx, ...), after a delay, with a body that
trickles out slowly, or not at all (the connection is dropped, either before the request is acted
on or after: "act then drop", the ambiguous case for a create).
"""

from __future__ import annotations

import dataclasses
import email.utils
import fnmatch
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import Any, Literal

__all__ = ["Fault", "FaultList", "RequestRecord"]

DropMode = Literal["before", "after"]

_DEFAULT_MESSAGES = {
    429: "Rate limit exceeded",
    500: "An internal error occurred",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


@dataclass(eq=False)
class Fault:
    """One injected fault: which requests it applies to, and what happens to them.

    Matching:
        ``method``: an HTTP method, or None for any. ``path``: a shell-style pattern matched
        against the path without the query string (``"/v1/run"`` is create only,
        ``"/v1/run/*"`` is any poll, ``"/v1/canvas/*"`` any canvas read, ``"*"`` everything).
        ``after``: let this many matching requests through first. ``times``: apply to this
        many requests, then stop (None: forever).

    Effect (combine ``delay`` or ``trickle`` with the others):
        ``status``: answer with this status and an error envelope (``error`` overrides the
        message; ``body`` and ``content_type`` replace the body entirely, e.g. an HTML error
        page) and extra ``headers``; the request is not acted on.
        ``retry_after``: add a ``Retry-After`` header, in seconds (``retry_after_format =
        "seconds"``, the default) or as an HTTP-date that many seconds from now
        (``"http-date"``); a string or a :class:`datetime` is sent as given.
        ``delay``: wait this many real seconds before answering.
        ``trickle``: send the response body in ``trickle_chunk``-byte pieces with ``trickle``
        seconds between them.
        ``drop``: ``"before"`` closes the connection without acting on the request or
        answering; ``"after"`` acts on it (a create really creates the run) and then closes
        the connection without answering.

    ``hits`` counts the requests the fault was applied to; ``seen`` every matching request.
    """

    method: str | None = None
    path: str = "*"
    times: int | None = 1
    after: int = 0
    status: int | None = None
    error: str | None = None
    body: str | bytes | None = None
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float | str | datetime | None = None
    retry_after_format: Literal["seconds", "http-date"] = "seconds"
    delay: float = 0.0
    trickle: float | None = None
    trickle_chunk: int = 16
    drop: DropMode | None = None
    seen: int = 0
    hits: int = 0

    def __post_init__(self) -> None:
        if self.method is not None:
            self.method = self.method.upper()
            if self.method in ("*", "ANY"):
                self.method = None
        if self.drop not in (None, "before", "after"):
            raise ValueError(f"drop must be 'before' or 'after', not {self.drop!r}")
        if self.drop is not None and self.status is not None:
            raise ValueError("a fault either drops the connection or answers with a status")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if self.status is None and self.drop is None and not self.delay and self.trickle is None:
            raise ValueError("a fault needs one of status, drop, delay or trickle")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or None for forever)")
        if self.after < 0 or self.delay < 0 or self.trickle_chunk < 1:
            raise ValueError("after and delay must be >= 0, trickle_chunk >= 1")
        if self.retry_after_format not in ("seconds", "http-date"):
            raise ValueError("retry_after_format must be 'seconds' or 'http-date'")

    @property
    def exhausted(self) -> bool:
        """True once the fault has been applied ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.path)

    def describe(self) -> str:
        """A short label for the request log, e.g. ``status=429`` or ``drop=after``."""
        parts = []
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.drop is not None:
            parts.append(f"drop={self.drop}")
        if self.delay:
            parts.append(f"delay={self.delay:g}")
        if self.trickle is not None:
            parts.append(f"trickle={self.trickle:g}")
        return " ".join(parts)

    def response_headers(self) -> list[tuple[str, str]]:
        headers = [(k, str(v)) for k, v in self.headers.items()]
        value = self.retry_after
        if value is None:
            return headers
        if isinstance(value, datetime):
            text = email.utils.format_datetime(value, usegmt=True)
        elif isinstance(value, str):
            text = value
        elif self.retry_after_format == "http-date":
            text = email.utils.formatdate(time.time() + float(value), usegmt=True)
        else:
            text = str(int(value)) if float(value).is_integer() else f"{float(value):g}"
        return [*headers, ("Retry-After", text)]

    def response_body(self, method: str, path: str) -> tuple[bytes, str] | None:
        """The raw body and content type to send, or None for the default error envelope."""
        if self.body is None:
            return None
        data = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        return data, self.content_type or "text/plain; charset=utf-8"

    def message(self, method: str, path: str) -> str:
        if self.error is not None:
            return self.error
        assert self.status is not None
        if self.status == 500 and method == "POST" and path == "/v1/run":
            return "An internal error occurred while creating the run"
        if self.status in _DEFAULT_MESSAGES:
            return _DEFAULT_MESSAGES[self.status]
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return f"HTTP {self.status}"

    def __repr__(self) -> str:
        # The fields that differ from the defaults, then the counters: a list of faults stays
        # readable (the dataclass repr spells all 17 fields of each).
        shown = []
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name in ("seen", "hits") or not item.repr:
                continue
            default = (item.default_factory() if item.default_factory is not dataclasses.MISSING
                       else item.default)
            if value != default or item.name == "path":
                shown.append(f"{item.name}={value!r}")
        shown.append(f"hits={self.hits}, seen={self.seen}")
        return f"Fault({', '.join(shown)})"


class FaultList:
    """The sandbox's active faults, in the order they were added (the first match wins).

    Thread-safe: tests add faults from their own thread while the server consults them.
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._faults: list[Fault] = []

    def add(self, fault: Fault | None = None, /, **options: Any) -> Fault:
        """Add a :class:`Fault` (or build one from keyword arguments) and return it."""
        if fault is None:
            fault = Fault(**options)
        elif options:
            raise TypeError("pass either a Fault or keyword options, not both")
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults that will still apply to some request."""
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def __repr__(self) -> str:
        with self._lock:
            faults = list(self._faults)
        if not faults:
            return "FaultList([])"
        pending = sum(1 for f in faults if not f.exhausted)
        lines = ",\n".join(f"  {f!r}" for f in faults)
        return f"FaultList({len(faults)} faults, {pending} pending: [\n{lines}\n])"

    def take(self, method: str, path: str) -> Fault | None:
        """Find the fault for this request (counting it as seen / hit), or None."""
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, path):
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.hits += 1
                return fault
        return None


class MaskedKey(str):
    """An API key as the sandbox received it: equal to the key (tests can compare it), shown
    masked by ``repr()`` (``sk_spine_…WXYZ``) so a printed log or dict never reveals it."""

    __slots__ = ()

    def __repr__(self) -> str:
        from spine._redact import mask_secret

        return repr(mask_secret(str.__str__(self)))


@dataclass(frozen=True, repr=False)
class RequestRecord:
    """One request the sandbox received, as the request log keeps it.

    ``status`` is None when the connection was dropped without an answer. ``headers`` has
    lower-case names. ``run_id`` is the run created (for a create) or addressed (for a poll).
    ``connection`` numbers the TCP connections (requests on a kept-alive connection share it).
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    status: int | None
    request_id: str
    run_id: str | None = None
    fault: str | None = None
    replayed: bool = False
    started_at: float = 0.0
    duration_ms: float = 0.0
    connection: int = 0

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def user_agent(self) -> str | None:
        return self.headers.get("user-agent")

    @property
    def api_key(self) -> str | None:
        """The ``X-API-KEY`` header: equal to the key sent, masked in its repr."""
        key = self.headers.get("x-api-key")
        return None if key is None else MaskedKey(key)

    def __repr__(self) -> str:
        # Every field, with credentials in the headers masked (the log is often printed).
        from spine._redact import redact_headers

        shown = {
            f.name: redact_headers(self.headers) if f.name == "headers" else getattr(self, f.name)
            for f in dataclasses.fields(self)
        }
        return f"RequestRecord({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    @property
    def dropped(self) -> bool:
        return self.status is None


# help(Fault.__init__) shows what each field means, not only the generated signature.
Fault.__init__.__doc__ = Fault.__doc__
