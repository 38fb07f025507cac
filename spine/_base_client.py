"""Settings and the two send loops: every call of both clients goes through here.

An :class:`~spine._operations.Operation` (built from the generated endpoint module) becomes an
``httpx.Request`` with the auth header, the User-Agent and the per-request timeout
(:class:`Settings`); it is sent under the retry policy (:mod:`spine._retry`), within one time
:class:`~spine._transport.Budget` per attempt (bounded by ``wait()``'s deadline); the body is
decoded with a size cap by :class:`~spine._transport.BodyReader`; the answer is parsed once
(``parse_envelope``: one ``validate_json`` pass) and checked to be about the ids asked for, or
mapped to an exception by :func:`spine._exceptions.error_from_response`. Every exception leaving
here is a :class:`~spine.SpineError` with its cause chained and secrets scrubbed
(:func:`spine._exceptions.scrub`). The decisions live in pure functions shared by both drivers;
:class:`SyncPipeline` and :class:`AsyncPipeline` only do the I/O, and are the narrow runtime
that handles use (``call``, ``clock``, ``sleep``).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import random
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

import httpx

from spine._exceptions import (
    SpineConnectionError,
    SpineError,
    SpineTimeoutError,
    UnexpectedResponseError,
    error_from_response,
    scrub,
    sentence,
)
from spine._log import configure_logging_from_env, logger, protect_loggers
from spine._models import parse_envelope
from spine._operations import Operation, is_uuid
from spine._redact import mask_secret, redact
from spine._retry import (
    OUTCOMES,
    RetryPolicy,
    body_is_error_envelope,
    classify_exception,
    is_ambiguous,
    retrying_kwargs,
    should_retry_exception,
    should_retry_status,
)
from spine._transport import (
    BUDGET,
    MAX_RESPONSE_BYTES,
    BodyReader,
    BodyTooLarge,
    Budget,
    UndecodableBody,
)
from spine._version import __version__

if TYPE_CHECKING:
    import asyncio

    from pydantic import BaseModel

T = TypeVar("T", bound="BaseModel")

DEFAULT_BASE_URL = "https://api.getspine.ai"
API_PREFIX = "/v1"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
USER_AGENT = f"spine-sdk-python/{__version__}"


def resolve_api_key(api_key: str | None) -> str:
    key = api_key if api_key is not None else os.environ.get("SPINE_API_KEY")
    if key is not None and not isinstance(key, str):
        raise TypeError(f"api_key must be a str, not {type(key).__name__}")
    if key is None or not key.strip():
        raise ValueError(
            "Missing API key: pass SpineClient(api_key='sk_spine_...') or set the "
            "SPINE_API_KEY environment variable. Keys are created at platform.getspine.ai/keys."
        )
    key = key.strip()
    if any(c in key for c in "\r\n\0"):
        raise ValueError("api_key contains a line break or NUL: check how it was read")
    if not all(" " <= c <= "~" for c in key):
        # Said without the key itself: a header can only carry printable ASCII.
        raise ValueError(
            "api_key contains a control or non-ASCII character: check how it was read "
            "(keys look like sk_spine_...)"
        )
    return key


#: The hosts plain http:// is allowed to without ``allow_http``.
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _shown(url: str) -> str:
    """``url`` for an error message: quoted, with anything before an ``@`` (a user name or
    password) left out."""
    if "@" not in url:
        return repr(url)
    scheme, sep, _ = url.partition("://")
    host = url.rpartition("@")[2]
    return repr(f"{scheme}{sep}\u2026@{host}" if sep else f"\u2026@{host}")


def resolve_base_url(
    base_url: str | None, http_client: httpx.Client | httpx.AsyncClient | None, allow_http: bool
) -> str:
    """The normalised API base, always ending in ``/v1`` (as the official SDK reports it).

    Raises ``TypeError`` for a ``base_url`` that is not a str (or an ``httpx.URL``), and
    ``ValueError`` for one that is not an http(s) URL, carries a query, a fragment or a user
    name or password (never echoed), or is plain http to a host that is not loopback without
    ``allow_http``."""
    if isinstance(base_url, httpx.URL):
        base_url = str(base_url)
    elif base_url is not None and not isinstance(base_url, str):
        raise TypeError(f"base_url must be a str, not {type(base_url).__name__}")
    url = base_url or os.environ.get("SPINE_BASE_URL")
    if not url and http_client is not None and str(http_client.base_url):
        url = str(http_client.base_url)
    url = (url or DEFAULT_BASE_URL).strip().rstrip("/")
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError(f"base_url must not contain spaces or control characters: {_shown(url)}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number from 0 to 65535 raises here
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise ValueError(f"base_url is not a valid URL ({exc}): {_shown(url)}") from None
    if "@" in parts.netloc:
        # httpx would send it as Basic auth, and the client's repr and logs would show it.
        raise ValueError(
            "base_url must not carry a user name or password (the part before '@'): the SDK"
            " authenticates with api_key (or SPINE_API_KEY) alone."
            f" Use {parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        )
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, got {_shown(url)}"
        )
    if parts.query or parts.fragment:
        raise ValueError("base_url must not carry a query or a fragment")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK and not allow_http:
        raise ValueError(
            f"Refusing plain http:// for {parts.hostname}: the API key would travel unencrypted. "
            "Use https://, or pass allow_http=True if this really is a trusted network."
        )
    if not url.endswith(API_PREFIX):
        url += API_PREFIX
    return url


def resolve_timeout(timeout: httpx.Timeout | float | None) -> tuple[httpx.Timeout, float]:
    """The httpx timeouts and the total time budget of one request (connect to last byte)."""
    if timeout is None:
        return DEFAULT_TIMEOUT, 60.0
    if isinstance(timeout, httpx.Timeout):
        phases = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
        return timeout, max(phases) if phases else float("inf")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(
            f"timeout must be a positive number of seconds or an httpx.Timeout, got {timeout!r}"
        )
    seconds = float(timeout)
    return httpx.Timeout(seconds, connect=min(10.0, seconds)), seconds


class Settings:
    """What both pipelines share: endpoint, credentials, timeouts, retry policy."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: httpx.Timeout | float | None,
        retry_policy: RetryPolicy | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        allow_http: bool,
    ) -> None:
        configure_logging_from_env()
        protect_loggers()
        self.api_key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url, http_client, allow_http)
        self.root = self.base_url[: -len(API_PREFIX)]  # generated paths start with /v1
        self.timeout, self.total = resolve_timeout(timeout)
        if retry_policy is None:
            retry_policy = RetryPolicy()
        if not isinstance(retry_policy, RetryPolicy):
            raise TypeError(
                f"retry_policy must be a RetryPolicy, not {type(retry_policy).__name__}"
            )
        self.retry_policy = retry_policy
        self.headers = {
            "X-API-KEY": self.api_key,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            # Only what BodyReader decodes (with a bound): never br or zstd.
            "Accept-Encoding": "gzip, deflate",
        }
        self.clock: Callable[[], float] = time.monotonic
        self.rand: Callable[[], float] = random.random
        self.owned = http_client is None
        self._timeout_ext = self.timeout.as_dict()

    def request_kwargs(self, op: Operation[Any], deadline: float | None) -> dict[str, Any]:
        """The arguments of ``httpx.Client.build_request`` for one attempt of ``op``."""
        kw = op.kwargs
        headers = self.headers
        if "headers" in kw:
            headers = {**headers, **kw["headers"]}
        budget = self.total
        if deadline is not None:
            budget = min(budget, max(deadline - self.clock(), 0.001))
        timeout = self.timeout
        if budget < self.total:
            timeout = httpx.Timeout(
                connect=min_opt(timeout.connect, budget),
                read=min_opt(timeout.read, budget),
                write=min_opt(timeout.write, budget),
                pool=min_opt(timeout.pool, budget),
            )
        out: dict[str, Any] = {
            "method": kw["method"],
            "url": self.root + kw["url"],
            "headers": headers,
            "timeout": timeout,
        }
        if "params" in kw:
            out["params"] = kw["params"]
        if "files" in kw:
            out["files"] = kw["files"]
        return out

    def build_request(
        self, http: httpx.Client | httpx.AsyncClient, op: Operation[Any], deadline: float | None
    ) -> httpx.Request:
        """One attempt's request. On a pool the SDK owns there are no client defaults to merge
        (no base URL, cookies, params or default headers it did not set itself), so the request
        is made directly: ``Client.build_request`` would merge them at about 50 us a call, more
        than the rest of the SDK's work on a request. An injected client keeps its defaults."""
        kw = self.request_kwargs(op, deadline)
        if not self.owned:
            return http.build_request(**kw)
        timeout: httpx.Timeout = kw["timeout"]
        return httpx.Request(
            kw["method"],
            _parsed_url(kw["url"]),
            headers={**kw["headers"], "Connection": "keep-alive"},
            params=kw.get("params"),
            files=kw.get("files"),
            extensions={
                "timeout": self._timeout_ext if timeout is self.timeout else timeout.as_dict()
            },
        )

    def policy_for(self, op: Operation[Any]) -> RetryPolicy:
        if op.files and not all(f.replayable for f in op.files):
            return _SEND_ONCE  # a stream that cannot be rewound is sent once
        return self.retry_policy

    def wants_retry(self, op: Operation[Any], outcome: Received | Exception) -> bool:
        """Whether a first attempt's outcome starts the retry loop (the loop's own predicate
        decides the later ones, with the same rules)."""
        if self.policy_for(op).max_retries == 0:
            return False
        if isinstance(outcome, Exception):
            return should_retry_exception(outcome, idempotent=op.idempotent)
        status = outcome.status_code
        if 200 <= status < 300:
            return False
        # A create's 429 and 503 are retried only with the API's error envelope.
        enveloped = op.idempotent or body_is_error_envelope(outcome.body)
        return should_retry_status(status, idempotent=op.idempotent, enveloped=enveloped)

    def retrying(self, op: Operation[Any], deadline: float | None, sleep: Any) -> dict[str, Any]:
        return retrying_kwargs(
            self.policy_for(op),
            idempotent=op.idempotent,
            deadline=deadline,
            clock=self.clock,
            rand=self.rand,
            sleep=sleep,
        )


_SEND_ONCE = RetryPolicy(max_retries=0)

#: Parsing a URL is the largest cost httpx adds to a request (~18 us). A handle polls the same
#: URL again and again, so parsed URLs (immutable) are kept, a bounded number of them.
_parsed_url = functools.lru_cache(maxsize=1024)(httpx.URL)


def min_opt(value: float | None, cap: float) -> float:
    return cap if value is None else min(value, cap)


class Received:
    """A complete response: what the retry policy and :func:`finish` look at. (A plain class:
    a dataclass costs about 0.3 ms of CPU to build, on the path of every first call.)"""

    __slots__ = ("body", "headers", "method", "path", "status_code")

    def __init__(
        self, status_code: int, headers: httpx.Headers, body: bytes, method: str, path: str
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        self.method = method
        self.path = path

    def __repr__(self) -> str:
        return f"Received({self.status_code}, {self.method} {self.path}, {len(self.body)} bytes)"


def start_reading(response: httpx.Response, budget: Budget) -> BodyReader:
    budget.start_reading()
    try:
        return BodyReader(response.headers.get("content-encoding"))
    except UndecodableBody as exc:
        raise unreadable(
            UnexpectedResponseError(
                f"The response has {exc}; the SDK asks for gzip or identity only.",
                status_code=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
        ) from None


def take_chunk(reader: BodyReader, chunk: bytes, response: httpx.Response, budget: Budget) -> None:
    """Add one raw chunk; raise when the body is too large, undecodable or too slow."""
    try:
        reader.feed(chunk)
    except BodyTooLarge:
        raise body_too_large(response) from None
    except UndecodableBody as exc:
        raise undecodable(response, exc) from None
    if budget.left() < 0:
        raise over_budget(response)


def received(reader: BodyReader, response: httpx.Response) -> Received:
    try:
        body = reader.finish()
    except BodyTooLarge:
        raise body_too_large(response) from None
    except UndecodableBody as exc:
        raise undecodable(response, exc) from None
    request = response.request
    return Received(response.status_code, response.headers, body, request.method, request.url.path)


def unreadable(error: UnexpectedResponseError) -> UnexpectedResponseError:
    """Classify an answer the SDK could not read (see :data:`spine._retry.OUTCOMES`)."""
    error._outcome = "unreadable"
    return error


def body_too_large(response: httpx.Response) -> UnexpectedResponseError:
    return unreadable(
        UnexpectedResponseError(
            f"The response body is larger than {MAX_RESPONSE_BYTES} bytes; refusing to read it.",
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )
    )


def undecodable(response: httpx.Response, exc: Exception) -> UnexpectedResponseError:
    return unreadable(
        UnexpectedResponseError(
            f"The response body could not be decoded: {exc}.",
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )
    )


def over_budget(response: httpx.Response) -> httpx.ReadTimeout:
    # A timeout like any other: retried when a read timeout would be, mapped to
    # SpineTimeoutError otherwise.
    return httpx.ReadTimeout(
        "The response arrived too slowly: the request's time budget ran out while reading it.",
        request=response.request,
    )


# ----------------------------------------------------------------------------- outcome


def finish(op: Operation[T], response: Received, started: float) -> T:
    """Turn a complete response into the operation's model, or raise the mapped exception."""
    status = response.status_code
    headers = response.headers
    request_id = _short(headers.get("x-request-id"))
    if request_id is not None:
        request_id = redact(request_id)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %d in %.1f ms (request id %s)",
            response.method,
            response.path,
            status,
            (time.monotonic() - started) * 1000,
            request_id,
        )
    if 200 <= status < 300:
        try:
            model = parse_envelope(
                op.model, response.body, status_code=status, request_id=request_id
            )
            check_identity(op, model, status, request_id, response.body)
        except SpineError as exc:
            exc._outcome = "unreadable"  # a 2xx: the server acted, whatever the body says
            settle(exc, op)
            raise
        return model
    error = error_from_response(status, response.body, headers)
    error.request_id = request_id
    settle(error, op)
    raise error


def _short(value: str | None, limit: int = 200) -> str | None:
    if value is None:
        return None
    return value if len(value) <= limit else value[:limit] + "\u2026"


def check_identity(
    op: Operation[Any], model: BaseModel, status: int, request_id: str | None, body: bytes
) -> None:
    """The answer must be about what was asked for: a poll of run A that returns run B (a
    confused proxy or cache, or a response smuggled in after a wrong Content-Length) is refused,
    never handed to the caller as run A."""
    for name, wanted in op.expect:
        got = getattr(model, name, None)
        if not isinstance(got, str) or got.casefold() != wanted.casefold():
            raise UnexpectedResponseError(
                f"Unexpected response for {type(model).__name__}: asked for {name} "
                f"{wanted!r} but the answer is about {got!r}.",
                status_code=status,
                request_id=request_id,
                raw_body=body,
            )
    for name in op.uuids:
        got = getattr(model, name, None)
        if not is_uuid(got):
            raise UnexpectedResponseError(
                f"Unexpected response for {type(model).__name__}: its {name} {got!r} is not a"
                " UUID, so it cannot be followed.",
                status_code=status,
                request_id=request_id,
                raw_body=body,
            )


def mark_ambiguous(exc: SpineError, op: Operation[Any]) -> None:
    exc.idempotency_key = op.idempotency_key
    exc.run_may_exist = True


def settle(exc: SpineError, op: Operation[Any]) -> None:
    """Apply the outcome table to a failure of ``op``: a create whose failure may come after the
    server acted gets ``run_may_exist`` and its key. A SpineError nobody classified was raised
    while the request was under way by code other than the SDK's (a caller's event hook)."""
    if exc._outcome is None:
        exc._outcome = "failed_locally"
    rule = OUTCOMES.get(exc._outcome)
    if not op.idempotent and (rule is None or rule.run_may_exist):
        mark_ambiguous(exc, op)


_KEY_NOTE_MARK = "spine: POST /v1/run was interrupted"


def keep_key(exc: BaseException, op: Operation[Any]) -> None:
    """A create interrupted by something that is not an SDK error (Ctrl-C, a task cancelled,
    an exception from a caller's code): the request may have reached the server, so its key
    goes on what propagates, as a note (PEP 678) that tracebacks print."""
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list) and any(
        isinstance(n, str) and n.startswith(_KEY_NOTE_MARK) for n in notes
    ):
        return
    try:
        exc.add_note(
            f"{_KEY_NOTE_MARK} after it may have reached the server: the run may have been"
            " created (and charged). Check before creating it again; if you do, pass"
            f" idempotency_key={op.idempotency_key!r} so that a server that honours the key"
            " can return the first run (Spine does not document that it does)."
        )
    except Exception:  # pragma: no cover - an exception type that refuses notes
        logger.debug("could not add the idempotency key to %r", type(exc).__name__)


def transport_error(exc: Exception, op: Operation[Any]) -> SpineError:
    """Map an exception from httpx (or below it) to the SDK's tree; the caller chains it as
    ``__cause__``. The request it names had its key masked by the driver (:func:`hide_key`)."""
    kw = op.kwargs
    where = f" ({str(kw.get('method', '?')).upper()} {kw.get('url', '?')})"
    err: SpineError
    kind = classify_exception(exc)
    if isinstance(exc, httpx.TimeoutException):
        err = SpineTimeoutError(
            f"The request timed out{where}: {type(exc).__name__}: {redact(exc)}"
        )
    elif isinstance(exc, httpx.TransportError):
        err = SpineConnectionError(
            sentence(
                # Sent (maybe partly): the server was reached, then the connection closed.
                f"The connection closed before an answer{where}: {type(exc).__name__}:"
                f" {redact(exc)}" if is_ambiguous(exc) else
                f"Could not reach the Spine API{where}: {type(exc).__name__}: {redact(exc)}",
                "Check the network and base_url.",
            )
        )
    else:  # not a transport failure: an httpx or library error below the SDK
        err = SpineError(f"The request failed{where}: {type(exc).__name__}: {redact(exc)}")
    err._outcome = kind
    settle(err, op)
    return err


def hide_key(request: httpx.Request | None) -> None:
    """Mask the API key in a request the SDK built, once it failed: an httpx exception chained
    as a cause carries that request, and ``repr(exc.__cause__.request.headers)`` must not show
    the key. The request is the SDK's own and finished; nothing sends it again."""
    if request is not None and "x-api-key" in request.headers:
        request.headers["X-API-KEY"] = mask_secret(request.headers["x-api-key"]).replace(
            "\u2026", "..."
        )


def close_files(op: Operation[Any]) -> None:
    if op.files:  # only uploads carry files: a read never loads spine._files
        from spine._files import close_uploads

        close_uploads(op.files)


def first_outcome(outcome: Received | Exception) -> Received:
    """Hand back an attempt's outcome: the response, or raise its exception.

    The first attempt of every call is sent without tenacity: most calls succeed at once and
    building a retry loop for them cost more than everything else the SDK adds to a request.
    Only a retryable failure starts tenacity, and its first "attempt" replays that outcome, so
    the attempt count, the delays and ``Retry-After`` are exactly those of a loop that ran from
    the start."""
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


class Sending(Generic[T]):
    """The outcome decisions of one ``call``, shared by both drivers around their one ``await``::

        with Sending(op) as sending:
            response = send(op)
            return sending.finish(response, started)

    Until the answer is in hand, a :class:`SpineError` is settled (:func:`settle`) and
    scrubbed and goes on as it is, and any other exception becomes the SDK's
    (:func:`transport_error`), chained to it as ``__cause__`` and scrubbed too (a cause may
    quote what the server sent). Once it is (:meth:`finish`), an error reading it is only
    scrubbed. Either way the request's files are closed, and something that is not an SDK
    error (Ctrl-C, a cancelled task, an exception from a caller's code) goes on as it is, with
    the key of an interrupted create as a note (:func:`keep_key`): the whole call, up to the
    return of the parsed answer, is covered.
    """

    __slots__ = ("answered", "op")

    def __init__(self, op: Operation[T]) -> None:
        self.op = op
        self.answered = False

    def __enter__(self) -> Sending[T]:
        return self

    def finish(self, response: Received, started: float) -> T:
        """The parsed answer (:func:`finish`), once the files are closed."""
        self.answered = True
        close_files(self.op)
        return finish(self.op, response, started)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        op = self.op
        if not self.answered:
            close_files(op)
        if exc is None:
            return
        if isinstance(exc, SpineError):
            if not self.answered:
                settle(exc, op)
            scrub(exc)
        elif isinstance(exc, Exception) and not self.answered:
            error = transport_error(exc, op)
            error.__cause__ = exc
            scrub(error)
            raise error from error.__cause__
        elif not op.idempotent:
            keep_key(exc, op)


class _Runtime:
    """What both drivers share, and all that a run handle may use of its client: ``call`` (on
    the driver), ``clock`` (the settings' monotonic clock, also read by budgets and retries) and
    ``sleep`` (``time.sleep`` or ``asyncio.sleep``). Tests replace ``clock`` and ``sleep`` here
    to run waits and retries without waiting.

    After ``os.fork()`` the child must not use the connections it inherited: their sockets
    are shared with the parent, and two processes reading one socket get each other's answers.
    A pipeline that owns its pool (``renew`` given) replaces it with a new one on its first call
    in the child; the inherited pool is dropped without being closed, so that nothing is sent on
    the parent's connections. An injected ``http_client`` is the caller's to recreate."""

    settings: Settings
    http: Any
    renew: Callable[[], Any] | None
    pid: int

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def clock(self) -> Callable[[], float]:
        return self.settings.clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self.settings.clock = value

    def check_fork(self) -> None:
        pid = os.getpid()
        if pid != self.pid:
            self.pid = pid
            if self.renew is not None:
                logger.debug("new process (fork): opening a new connection pool")
                self.http = self.renew()


class SyncPipeline(_Runtime):
    """Sends operations on an ``httpx.Client``."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.Client,
        sleep: Callable[[float], None],
        renew: Callable[[], httpx.Client] | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.sleep = sleep
        self.renew = renew
        self.pid = os.getpid()

    def _attempt(self, op: Operation[Any], deadline: float | None) -> Received:
        s = self.settings
        budget = Budget(s.clock, s.total, deadline, bool(op.files))
        token = BUDGET.set(budget)
        request: httpx.Request | None = None
        try:
            request = s.build_request(self.http, op, deadline)
            response = self.http.send(request, stream=True, follow_redirects=False)
            try:
                reader = start_reading(response, budget)
                for chunk in response.iter_raw():
                    take_chunk(reader, chunk, response, budget)
                return received(reader, response)
            finally:
                response.close()
        except BaseException:
            hide_key(request)
            raise
        finally:
            BUDGET.reset(token)

    def _send(self, op: Operation[Any], deadline: float | None) -> Received:
        """The first attempt goes out directly; tenacity takes over only after a retryable
        failure (see :func:`first_outcome`)."""
        try:
            first: Received | Exception = self._attempt(op, deadline)
        except Exception as exc:
            first = exc
        if not self.settings.wants_retry(op, first):
            return first_outcome(first)
        replay = [first]

        def attempt(op: Operation[Any], deadline: float | None) -> Received:
            if replay:
                return first_outcome(replay.pop())
            return self._attempt(op, deadline)

        import tenacity  # only on a retry: keeps it (and asyncio) out of start-up

        retrying = tenacity.Retrying(**self.settings.retrying(op, deadline, self.sleep))
        result: Received = retrying(attempt, op, deadline)
        return result

    def call(self, op: Operation[T], *, deadline: float | None = None) -> T:
        started = time.monotonic()
        self.check_fork()
        with Sending(op) as sending:
            response = self._send(op, deadline)
            return sending.finish(response, started)


class AsyncPipeline(_Runtime):
    """Sends operations on an ``httpx.AsyncClient``; the same decisions as :class:`SyncPipeline`."""

    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        sleep: Callable[[float], Any],
        renew: Callable[[], httpx.AsyncClient] | None = None,
        max_in_flight: int | None = None,
    ) -> None:
        self.settings = settings
        self.http = http
        self.sleep = sleep
        self.renew = renew
        self.pid = os.getpid()
        self.max_in_flight = max_in_flight
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        #: The event loop the pool's connections belong to (None until the first call).
        self._loop: weakref.ReferenceType[asyncio.AbstractEventLoop] | None = None

    def _semaphore(self) -> asyncio.Semaphore | None:
        """At most ``max_in_flight`` requests at once (the pool's size): the others wait here,
        not in httpcore's queue, whose scheduling costs grow with the square of its length (a
        thousand concurrent handles would spend most of their time there)."""
        if self.max_in_flight is None:
            return None
        import asyncio

        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.max_in_flight))
        return self._slots[1]

    async def _attempt(self, op: Operation[Any], deadline: float | None) -> Received:
        import asyncio

        slots = self._semaphore()
        if slots is None:
            return await self._attempt_now(op, deadline)
        # Waiting for a turn counts against the budget, as waiting for a pooled connection would.
        s = self.settings
        wait = s.total if deadline is None else min(s.total, deadline - s.clock())
        try:
            async with asyncio.timeout(max(wait, 0.0) if math.isfinite(wait) else None):
                await slots.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout(
                "No connection became free within the request's time budget."
            ) from None
        try:
            return await self._attempt_now(op, deadline)
        finally:
            slots.release()

    async def _attempt_now(self, op: Operation[Any], deadline: float | None) -> Received:
        s = self.settings
        budget = Budget(s.clock, s.total, deadline, bool(op.files))
        token = BUDGET.set(budget)
        request: httpx.Request | None = None
        try:
            request = s.build_request(self.http, op, deadline)
            response = await self.http.send(request, stream=True, follow_redirects=False)
            try:
                reader = start_reading(response, budget)
                async for chunk in response.aiter_raw():
                    take_chunk(reader, chunk, response, budget)
                return received(reader, response)
            finally:
                await response.aclose()
        except BaseException:
            hide_key(request)
            raise
        finally:
            BUDGET.reset(token)

    async def _send(self, op: Operation[Any], deadline: float | None) -> Received:
        """See :meth:`SyncPipeline._send`."""
        try:
            first: Received | Exception = await self._attempt(op, deadline)
        except Exception as exc:
            first = exc
        if not self.settings.wants_retry(op, first):
            return first_outcome(first)
        replay = [first]

        async def attempt(op: Operation[Any], deadline: float | None) -> Received:
            if replay:
                return first_outcome(replay.pop())
            return await self._attempt(op, deadline)

        import tenacity

        retrying = tenacity.AsyncRetrying(**self.settings.retrying(op, deadline, self.sleep))
        result: Received = await retrying(attempt, op, deadline)
        return result

    async def call(self, op: Operation[T], *, deadline: float | None = None) -> T:
        started = time.monotonic()
        self.check_runtime()
        with Sending(op) as sending:
            response = await self._send(op, deadline)
            return sending.finish(response, started)

    def check_runtime(self) -> None:
        """The fork check, and the same for event loops: a pool's connections belong to the
        loop that opened them, so on its first call in another running loop (a second
        ``asyncio.run``, a test framework's loop per test) a pipeline that owns its pool opens
        a new one. The old pool is dropped without being awaited: its loop is usually closed,
        and its sockets are closed when the old connections are collected."""
        self.check_fork()
        import asyncio

        loop = asyncio.get_running_loop()
        owner = self._loop
        if owner is not None and owner() is loop:
            return
        if owner is not None and self.renew is not None:
            logger.debug("new event loop: opening a new connection pool")
            self.http = self.renew()
        self._loop = weakref.ref(loop)

    async def aclose(self) -> None:
        """Close the pool. A pool whose connections belong to another event loop (a closed
        one, typically) cannot be closed from this loop: it is dropped instead, and a fresh
        pool is closed in its place, so that the client ends up closed without raising."""
        import asyncio

        owner = self._loop
        if owner is not None and owner() is not asyncio.get_running_loop():
            if self.renew is not None:
                logger.debug("closing a pool of another event loop: dropped, not awaited")
                self.http = self.renew()
            self._loop = None
        await self.http.aclose()
