"""Retry policy and classification: one policy, two tenacity drivers (sync and async).

The unit of one attempt is a function that returns an :class:`httpx.Response` (any status) or
raises an :mod:`httpx` exception. This module decides, without doing any I/O:

* whether an outcome may be retried (:func:`should_retry_exception`, :func:`should_retry_status`);
* how long to wait first (:func:`compute_delay`, honouring ``Retry-After`` via
  :func:`parse_retry_after`);
* whether a failed ``POST /v1/run`` may still have created a run (:func:`is_ambiguous`);
* and, through :func:`retrying_kwargs`, the ``retry=/wait=/stop=`` arguments that drive both
  ``tenacity.Retrying`` and ``tenacity.AsyncRetrying`` from the same policy.

Classification: one table, :data:`OUTCOMES` (kind -> retry a GET?, retry a create?, may the
run exist?, does a wait go on?), read by the retry loop, by the mapping of a failed create and
by the wait loop; ``docs/faults.md`` shows the same table. In short (DESIGN.md, "Decisions"):

* idempotent requests (GET) retry connection failures, timeouts, broken answers (ConnectError,
  ConnectTimeout, PoolTimeout, ReadTimeout, WriteTimeout, ReadError, WriteError,
  RemoteProtocolError) and the statuses 408, 429 and 500-599;
* ``POST /v1/run`` (not idempotent, and it costs money) is retried only when the server did not
  act on it: no connection was made, or it answered 429 or 503 *with the API's error envelope*
  (we take these to mean "not acted on"; Spine documents neither, see docs/contract.md). Once
  its bytes may have reached the server, every outcome but a definitive refusal (400, 401, 413
  with the error envelope) is *ambiguous*: not retried, and the error says that the run may
  exist and carries the key (:func:`is_ambiguous`);
* a wait ends only on a definitive answer (400 with the envelope, 401, 403, 404, an id refused
  before sending, a 2xx it cannot read); everything else is transient for it
  (:func:`is_transient`).

httpx and tenacity are imported lazily: ``RetryPolicy`` is part of ``import spine``.
"""

from __future__ import annotations

import email.utils
import math
import numbers
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from spine._log import logger

if TYPE_CHECKING:
    import httpx
    from tenacity import RetryCallState

__all__ = [
    "OUTCOMES",
    "RetryPolicy",
    "Rule",
    "body_is_error_envelope",
    "classify_exception",
    "classify_status",
    "compute_delay",
    "is_ambiguous",
    "is_error_envelope",
    "is_transient",
    "parse_retry_after",
    "retrying_kwargs",
    "rule_of",
    "should_retry_exception",
    "should_retry_status",
]

# The largest exponent used by compute_delay: 2.0 ** 1023 is still a finite float.
_MAX_EXPONENT = 1023


#: The longest single sleep the SDK makes (about 31 years): ``max_delay=math.inf`` ("no cap")
#: and a huge ``Retry-After`` stay sleepable (``time.sleep`` refuses larger values).
MAX_SLEEP = 1e9


def _check_number(name: str, value: object, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"RetryPolicy.{name} must be a number, not {type(value).__name__} ({value!r})"
        )
    number = float(value)
    if math.isnan(number) or (math.isinf(number) and not allow_inf):
        raise ValueError(f"RetryPolicy.{name} must be finite, got {value!r}")
    if number < 0:
        raise ValueError(f"RetryPolicy.{name} must not be negative, got {value!r}")
    return number


@dataclass(frozen=True)
class RetryPolicy:
    """How the SDK retries failed requests.

    Args:
        max_retries: retries after the first attempt, an int >= 0 (0 disables retries).
        base_delay: the first backoff delay in seconds (>= 0); it doubles on every retry.
        max_delay: the cap on any single delay in seconds (>= 0; ``math.inf``: no cap),
            including one asked for by ``Retry-After``. A ``base_delay`` above it is allowed:
            every delay is then ``max_delay``.
        jitter: the relative random spread of a backoff delay (>= 0; 0.1 = ±10 %). A spread
            over 1 may draw a negative delay, which becomes 0.

    Every combination of such values is accepted with that meaning (as the official SDK's
    dataclass accepts them); only meaningless values raise ``ValueError``: negative numbers,
    NaN, an infinite ``base_delay`` or ``jitter``, a bool, a non-number, a non-integral
    ``max_retries``.

    ``POST /v1/run`` is only retried when the request never reached the server or was refused
    with 429 or 503, whatever the policy says; see the module documentation.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        given = self.max_retries
        try:
            if isinstance(given, bool):
                raise TypeError
            retries = operator.index(given)  # int, or any integral type (numpy.int64...)
        except TypeError:
            raise ValueError(
                f"RetryPolicy.max_retries must be an int, not {type(given).__name__} ({given!r})"
            ) from None
        if retries < 0:
            raise ValueError(f"RetryPolicy.max_retries must not be negative, got {retries!r}")
        object.__setattr__(self, "max_retries", retries)
        object.__setattr__(self, "base_delay", _check_number("base_delay", self.base_delay))
        object.__setattr__(
            self, "max_delay", _check_number("max_delay", self.max_delay, allow_inf=True)
        )
        object.__setattr__(self, "jitter", _check_number("jitter", self.jitter))

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_retries=0)


# ----------------------------------------------------------------------------- delays

_DELTA_RE = re.compile(r"\d+(?:\.\d+)?")


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Parse a ``Retry-After`` header value into seconds to wait from ``now`` (a Unix time).

    Accepts delta-seconds (``"120"``, also ``"1.5"``) or an HTTP-date. A date in the past gives
    0.0; anything unparseable gives None. Never negative, never NaN or infinite.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_RE.fullmatch(text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" (and the obsolete zone-less forms) mean UTC.
        import datetime

        when = when.replace(tzinfo=datetime.UTC)
    try:
        delta = when.timestamp() - now
    except (OverflowError, OSError, ValueError):
        return None
    if not math.isfinite(delta):
        return None
    return max(0.0, delta)


def compute_delay(
    policy: RetryPolicy,
    attempt: int,
    retry_after: float | None,
    rand: Callable[[], float],
) -> float:
    """The delay before retry number ``attempt + 1`` (``attempt`` = 0 after the first failure).

    A ``Retry-After`` value wins, capped at ``max_delay`` and without jitter. Otherwise:
    ``min(base_delay * 2**attempt * (1 + jitter * (2*rand() - 1)), max_delay)``.
    """
    if attempt < 0:
        raise ValueError(f"attempt must not be negative, got {attempt!r}")
    if retry_after is not None and not math.isnan(retry_after):
        return min(max(retry_after, 0.0), policy.max_delay, MAX_SLEEP)
    raw = policy.base_delay * 2.0 ** min(attempt, _MAX_EXPONENT)
    if math.isinf(raw):
        return min(policy.max_delay, MAX_SLEEP)
    r = min(max(rand(), 0.0), 1.0)
    delay = raw * (1.0 + policy.jitter * (2.0 * r - 1.0))
    if math.isnan(delay):  # 0 * inf cannot happen (base_delay is finite); defensive
        delay = 0.0
    return min(max(delay, 0.0), policy.max_delay, MAX_SLEEP)


# ----------------------------------------------------------------------------- classification


class Rule(NamedTuple):
    """What the SDK does with one kind of outcome (a row of :data:`OUTCOMES`).

    A ``NamedTuple`` (immutable, compared by value): a dataclass would cost every process
    about 0.6 ms more to build when it first imports the SDK.

    Attributes:
        kind: the outcome's name (``SpineError._outcome`` holds it once the error is built).
        what: the outcome, in words (the docs' fault table repeats it).
        retry_read: a GET is sent again, within the retry policy.
        retry_create: ``POST /v1/run`` is sent again, with the same ``Idempotency-Key``, within
            the retry policy: the request never reached the server, or the API refused it
            with 429 or 503 and its error envelope (which we take to mean it did not act).
        run_may_exist: a create that ends this way raises with ``run_may_exist=True`` and the
            key: the request may have reached the server and been acted on.
        wait_goes_on: ``wait()``, ``wait_for_terminal()``, ``stream_progress()`` and
            ``spine wait`` poll again on their schedule (only their deadline ends them).
    """

    kind: str
    what: str
    retry_read: bool
    retry_create: bool
    run_may_exist: bool
    wait_goes_on: bool


def _rules(*rows: tuple[str, str, bool, bool, bool, bool]) -> dict[str, Rule]:
    return {row[0]: Rule(*row) for row in rows}


#: THE classification of every way a call can end other than with the answer it asked for: one
#: table, read by the retry loop (:func:`should_retry_status`, :func:`should_retry_exception`),
#: by the mapping of a failed create (``run_may_exist``) and by the wait loop
#: (:func:`is_transient`). ``docs/faults.md`` shows the same table; a test keeps them equal.
#:
#: The rule for a create: once its bytes may have reached the server, only a definitive
#: refusal is not ambiguous. Definitive are the statuses the API documents as refusals (400,
#: 401, 413, and 429 and 503 which also say "try again") *with the API's error envelope*
#: ``{"success": false, "error": "..."}``, and failures that happen before any byte is sent.
#: Anything else (a redirect, a 404, a 409, a proxy's HTML page, a 2xx the SDK cannot read...)
#: may come from a server that acted: ``run_may_exist=True`` with the key.
#:
#: The rule for a wait: a poll ends it only when the answer is definitive for every later poll
#: (the API refused the key, the account or the id: 400 with the envelope, 401, 403, 404; an id
#: refused before sending) or when it answered success in a form the SDK cannot read (a 2xx
#: that breaks the contract: an SDK too old for the API, most likely; the run ledger retries
#: it a few times itself); everything the pipeline retries, and whatever a proxy or a network
#: may put in the way (connection failures, timeouts, 3xx, 5xx, error pages with an error
#: status, HTML or not), only ends it at its deadline.
OUTCOMES: dict[str, Rule] = _rules(
    # kind, what, retry_read, retry_create, run_may_exist, wait_goes_on
    ("not_connected", "no connection was made (ConnectError, ConnectTimeout, PoolTimeout)",
     True, True, False, True),
    ("proxy_refused", "the proxy refused to open a tunnel to the API (ProxyError)",
     False, False, False, True),
    ("refused_locally", "refused before anything was sent: InvalidRequestError (an invalid id,"
     " an empty prompt, a file that is not a regular file...), httpx's UnsupportedProtocol",
     False, False, False, False),
    ("send_failed", "sending broke off part-way (WriteError, WriteTimeout)",
     True, False, True, True),
    ("no_answer", "the answer did not arrive whole (ReadError, ReadTimeout, RemoteProtocolError,"
     " an answer read too slowly)", True, False, True, True),
    ("transport_other", "any other transport failure (CloseError, LocalProtocolError...)",
     False, False, True, True),
    ("failed_locally", "an exception that is not an HTTP failure, raised while the request was"
     " under way (a file or an event hook that raises)", False, False, True, False),
    ("upload_changed", "a file changed size while it was sent: the upload stopped before its"
     " body was whole (UploadChangedError)", False, False, False, False),
    ("unreadable", "a 2xx whose body breaks the contract (not JSON, not the envelope, a run_id"
     " that is not a UUID or is another run's), or a body too large or undecodable",
     False, False, True, False),
    ("redirect", "any 3xx (never followed)", False, False, True, True),
    ("refused_400", "400 with the error envelope", False, False, False, False),
    ("refused_401", "401 with the error envelope", False, False, False, False),
    ("unauthorized_bare", "401 without the error envelope", False, False, True, False),
    ("forbidden_403", "403", False, False, True, False),
    ("not_found_404", "404", False, False, True, False),
    ("timeout_408", "408", True, False, True, True),
    ("refused_413", "413 with the error envelope", False, False, False, True),
    ("rate_limited_429", "429 with the error envelope", True, True, False, True),
    ("rate_limited_bare", "429 without the error envelope", True, False, True, True),
    ("unavailable_503", "503 with the error envelope", True, True, False, True),
    ("unavailable_bare", "503 without the error envelope", True, False, True, True),
    ("server_error", "any other 5xx (500, 502, 504...)", True, False, True, True),
    ("other_status", "any other status (400 or 413 without the envelope, 402, 405, 409, 410,"
     " 418, 422, a 1xx or 6xx...)", False, False, True, True),
)  # fmt: skip


def is_error_envelope(parsed: object) -> bool:
    """True for the API's error envelope, ``{"success": false, "error": "<message>"}`` (parsed
    JSON; other fields are allowed)."""
    return (
        isinstance(parsed, dict)
        and parsed.get("success") is False
        and isinstance(parsed.get("error"), str)
    )


def body_is_error_envelope(body: bytes | None) -> bool:
    """:func:`is_error_envelope` for a raw body (False when it is not JSON)."""
    if not body or not body.strip():
        return False
    import json

    try:
        return is_error_envelope(json.loads(body))
    except (ValueError, RecursionError):
        return False


_ENVELOPED_KINDS = {
    400: ("refused_400", "other_status"),
    401: ("refused_401", "unauthorized_bare"),
    413: ("refused_413", "other_status"),
    429: ("rate_limited_429", "rate_limited_bare"),
    503: ("unavailable_503", "unavailable_bare"),
}


def classify_status(status: int, *, enveloped: bool) -> str:
    """The :data:`OUTCOMES` kind of an answer that is not a success (``enveloped``: its body is
    the API's error envelope). A 2xx reaching here broke the contract: ``unreadable``."""
    if 200 <= status < 300:
        return "unreadable"
    if 300 <= status < 400:
        return "redirect"
    pair = _ENVELOPED_KINDS.get(status)
    if pair is not None:
        return pair[0] if enveloped else pair[1]
    if status == 403:
        return "forbidden_403"
    if status == 404:
        return "not_found_404"
    if status == 408:
        return "timeout_408"
    if 500 <= status <= 599:
        return "server_error"
    return "other_status"


def classify_exception(exc: BaseException) -> str:
    """The :data:`OUTCOMES` kind of an exception raised while a request was under way."""
    import httpx

    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "not_connected"
    if isinstance(exc, httpx.ProxyError):
        return "proxy_refused"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "refused_locally"
    if isinstance(exc, httpx.WriteError | httpx.WriteTimeout):
        return "send_failed"
    if isinstance(exc, httpx.ReadError | httpx.ReadTimeout | httpx.RemoteProtocolError):
        return "no_answer"
    if isinstance(exc, httpx.TransportError):
        return "transport_other"
    import h11  # httpcore's HTTP/1.1 engine: its errors can escape httpcore's mapping

    if isinstance(exc, h11.RemoteProtocolError):
        return "no_answer"
    if isinstance(exc, h11.LocalProtocolError):  # e.g. a body shorter than its Content-Length
        return "transport_other"
    kind = getattr(type(exc), "outcome_kind", None)  # the SDK's own upload errors name theirs
    return kind if isinstance(kind, str) and kind in OUTCOMES else "failed_locally"


def rule_of(exc: BaseException) -> Rule | None:
    """The :data:`OUTCOMES` row an SDK exception was classified under (None: not an outcome of
    a request, such as a failed run or the end of a wait)."""
    kind = getattr(exc, "_outcome", None)
    return OUTCOMES.get(kind) if isinstance(kind, str) else None


def is_transient(exc: BaseException) -> bool:
    """True when a poll that raised ``exc`` does not end a wait (see :data:`OUTCOMES`)."""
    rule = rule_of(exc)
    return rule is not None and rule.wait_goes_on


def _retries(rule: Rule, idempotent: bool) -> bool:
    return rule.retry_read if idempotent else rule.retry_create


def should_retry_exception(exc: BaseException, *, idempotent: bool) -> bool:
    """True when a raised httpx exception may be retried for this kind of request."""
    if not isinstance(exc, Exception):
        return False  # KeyboardInterrupt, task cancellation: never retried
    return _retries(OUTCOMES[classify_exception(exc)], idempotent)


def should_retry_status(status: int, *, idempotent: bool, enveloped: bool = True) -> bool:
    """True when a response with this status may be retried for this kind of request
    (``enveloped``: its body is the API's error envelope)."""
    if 200 <= status < 300:
        return False
    return _retries(OUTCOMES[classify_status(status, enveloped=enveloped)], idempotent)


def is_ambiguous(outcome: BaseException | int | httpx.Response, *, enveloped: bool = True) -> bool:
    """For ``POST /v1/run``: True when a failure may come after the server acted (the run may
    exist). ``outcome`` is a raised exception, a status code (``enveloped``: its body was the
    error envelope) or a response (its body is looked at). See :data:`OUTCOMES`."""
    if isinstance(outcome, BaseException):
        return OUTCOMES[classify_exception(outcome)].run_may_exist
    if isinstance(outcome, int):
        status = outcome
    else:
        status = outcome.status_code
        enveloped = body_is_error_envelope(outcome.content)
    if 200 <= status < 300:
        return False
    return OUTCOMES[classify_status(status, enveloped=enveloped)].run_may_exist


def _body_of(result: object) -> bytes | None:
    """The body of an attempt's result: the pipeline's ``Received.body`` or a read
    ``httpx.Response``'s content (None when neither is there)."""
    body = getattr(result, "body", None)
    if isinstance(body, bytes):
        return body
    try:
        content = getattr(result, "content", None)
    except Exception:  # an httpx.Response that was not read
        return None
    return content if isinstance(content, bytes) else None


def _describe_outcome(state: RetryCallState) -> str:
    outcome = state.outcome
    if outcome is None:  # pragma: no cover - tenacity always sets it before these hooks
        return "unknown outcome"
    if outcome.failed:
        exc = outcome.exception()
        return type(exc).__name__
    status = getattr(outcome.result(), "status_code", None)
    return f"HTTP {status}"


def retrying_kwargs(
    policy: RetryPolicy,
    *,
    idempotent: bool,
    deadline: float | None,
    clock: Callable[[], float],
    rand: Callable[[], float],
    sleep: Callable[[float], Any] | None = None,
    wall_clock: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying(**kw)`` or ``tenacity.AsyncRetrying(**kw)``.

    The attempt function returns an ``httpx.Response`` (retried when its status is retryable)
    or raises an httpx exception (retried when retryable). ``wait`` honours ``Retry-After``;
    ``stop`` stops after ``policy.max_retries`` retries, or when the next sleep would end after
    ``deadline`` (a ``clock()`` value; None means no deadline).

    When retries stop, the driver gets the last outcome itself, never a ``tenacity.RetryError``:
    the last response is returned (``retry_error_callback``) and the last exception re-raised.
    A response that is retried is dropped here without being closed: an attempt function that
    sends with ``stream=True`` must read (or close) a retryable response before returning it.
    ``sleep`` is passed through when given (for ``AsyncRetrying`` it must return an awaitable);
    ``wall_clock`` (default :func:`time.time`) resolves ``Retry-After`` HTTP-dates.
    """
    if wall_clock is None:
        import time

        wall_clock = time.time
    now_wall = wall_clock

    def retry(state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:  # pragma: no cover
            return False
        if outcome.failed:
            exc = outcome.exception()
            return exc is not None and should_retry_exception(exc, idempotent=idempotent)
        result = outcome.result()
        status = getattr(result, "status_code", None)
        if not isinstance(status, int):
            return False
        enveloped = True
        if not idempotent:  # only a create's retries depend on the body (429/503 enveloped)
            enveloped = body_is_error_envelope(_body_of(result))
        return should_retry_status(status, idempotent=idempotent, enveloped=enveloped)

    def wait(state: RetryCallState) -> float:
        retry_after: float | None = None
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            headers = getattr(outcome.result(), "headers", None)
            if headers is not None:
                retry_after = parse_retry_after(headers.get("Retry-After"), now=now_wall())
        return compute_delay(policy, state.attempt_number - 1, retry_after, rand)

    def stop(state: RetryCallState) -> bool:
        # attempt_number attempts were made, so attempt_number - 1 retries.
        if state.attempt_number > policy.max_retries:
            return True
        return deadline is not None and clock() + state.upcoming_sleep > deadline

    def before_sleep(state: RetryCallState) -> None:
        logger.info(
            "Retrying (retry %d of %d) in %.2fs after %s",
            state.attempt_number,
            policy.max_retries,
            state.upcoming_sleep,
            _describe_outcome(state),
        )

    def give_up(state: RetryCallState) -> Any:
        outcome = state.outcome
        if outcome is None:  # pragma: no cover
            raise RuntimeError("retry stopped without an outcome")
        return outcome.result()  # the last response, or re-raises the last exception

    kwargs: dict[str, Any] = {
        "retry": retry,
        "wait": wait,
        "stop": stop,
        "reraise": True,
        "before_sleep": before_sleep,
        "retry_error_callback": give_up,
    }
    if sleep is not None:
        kwargs["sleep"] = sleep
    return kwargs


# help(RetryPolicy.__init__) shows the arguments, not only the generated signature.
RetryPolicy.__init__.__doc__ = RetryPolicy.__doc__
