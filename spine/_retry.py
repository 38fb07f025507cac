"""Retry policy and classification: one policy, two tenacity drivers (sync and async).

The unit of one attempt is a function that returns an :class:`httpx.Response` (any status) or
raises an :mod:`httpx` exception. This module decides, without doing any I/O:

* whether an outcome may be retried (:func:`should_retry_exception`, :func:`should_retry_status`);
* how long to wait first (:func:`compute_delay`, honouring ``Retry-After`` via
  :func:`parse_retry_after`);
* whether a failed ``POST /v1/run`` may still have created a run (:func:`is_ambiguous`);
* and, through :func:`retrying_kwargs`, the ``retry=/wait=/stop=`` arguments that drive both
  ``tenacity.Retrying`` and ``tenacity.AsyncRetrying`` from the same policy.

Classification (DESIGN.md, "Decisions"):

* idempotent requests (GET) retry ConnectError, ConnectTimeout, PoolTimeout, ReadTimeout,
  WriteTimeout, ReadError, WriteError and RemoteProtocolError, and the statuses 408, 429 and
  500-599;
* ``POST /v1/run`` (not idempotent, and it costs money) is retried only when the server did not
  act on it: ConnectError, ConnectTimeout, PoolTimeout (the request was never sent), and the
  statuses 429 and 503 (we take these to mean "not acted on"; Spine documents neither, see
  docs/contract.md). A failure after the request may have reached the server (ReadTimeout,
  WriteTimeout, ReadError, WriteError, RemoteProtocolError, 500, 502, 504...) is *ambiguous*: it
  is not retried, and the caller reports that the run may exist (:func:`is_ambiguous`);
* every other status is returned as it is, for the caller to map to an exception.

httpx and tenacity are imported lazily: ``RetryPolicy`` is part of ``import spine``.
"""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spine._log import logger

if TYPE_CHECKING:
    import httpx
    from tenacity import RetryCallState

__all__ = [
    "RetryPolicy",
    "compute_delay",
    "is_ambiguous",
    "parse_retry_after",
    "retrying_kwargs",
    "should_retry_exception",
    "should_retry_status",
]

# The largest exponent used by compute_delay: 2.0 ** 1023 is still a finite float.
_MAX_EXPONENT = 1023


def _check_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"RetryPolicy.{name} must be a number of seconds, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"RetryPolicy.{name} must be finite, got {value!r}")
    if number < 0:
        raise ValueError(f"RetryPolicy.{name} must not be negative, got {value!r}")
    return number


@dataclass(frozen=True)
class RetryPolicy:
    """How the SDK retries failed requests.

    Args:
        max_retries: retries after the first attempt (0 disables retries).
        base_delay: the first backoff delay in seconds; it doubles on every retry.
        max_delay: the cap on any single delay, including one asked for by ``Retry-After``.
        jitter: the relative random spread of a backoff delay, in [0, 1] (0.1 = ±10 %).

    ``POST /v1/run`` is only retried when the request never reached the server or was refused
    with 429 or 503, whatever the policy says; see the module documentation.
    """

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise ValueError(f"RetryPolicy.max_retries must be an int, got {self.max_retries!r}")
        if self.max_retries < 0:
            raise ValueError(
                f"RetryPolicy.max_retries must not be negative, got {self.max_retries!r}"
            )
        base = _check_number("base_delay", self.base_delay)
        cap = _check_number("max_delay", self.max_delay)
        jitter = _check_number("jitter", self.jitter)
        if jitter > 1:
            raise ValueError(f"RetryPolicy.jitter must be between 0 and 1, got {self.jitter!r}")
        if base > cap:
            raise ValueError(
                f"RetryPolicy.base_delay ({self.base_delay!r}) must not exceed"
                f" max_delay ({self.max_delay!r})"
            )
        object.__setattr__(self, "base_delay", base)
        object.__setattr__(self, "max_delay", cap)
        object.__setattr__(self, "jitter", jitter)

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
        return min(max(retry_after, 0.0), policy.max_delay)
    raw = policy.base_delay * 2.0 ** min(attempt, _MAX_EXPONENT)
    if math.isinf(raw):
        return policy.max_delay
    r = min(max(rand(), 0.0), 1.0)
    delay = raw * (1.0 + policy.jitter * (2.0 * r - 1.0))
    return min(max(delay, 0.0), policy.max_delay)


# ----------------------------------------------------------------------------- classification

_IDEMPOTENT_STATUSES = frozenset({408, 429})
_POST_STATUSES = frozenset({429, 503})


def _retryable_exception_types(idempotent: bool) -> tuple[type[BaseException], ...]:
    import httpx

    # The request provably never reached the server: no connection, or none from the pool.
    never_sent: tuple[type[BaseException], ...] = (
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
    )
    if not idempotent:
        return never_sent
    return (
        *never_sent,
        httpx.ReadTimeout,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
    )


def should_retry_exception(exc: BaseException, *, idempotent: bool) -> bool:
    """True when a raised httpx exception may be retried for this kind of request."""
    return isinstance(exc, _retryable_exception_types(idempotent))


def should_retry_status(status: int, *, idempotent: bool) -> bool:
    """True when a response with this status may be retried for this kind of request."""
    if idempotent:
        return status in _IDEMPOTENT_STATUSES or 500 <= status <= 599
    return status in _POST_STATUSES


def is_ambiguous(outcome: BaseException | int | httpx.Response) -> bool:
    """For a non-idempotent request: True when the failure may come after the server acted.

    ``outcome`` is a raised exception, a status code or a response. Ambiguous are transport
    failures after the request may have been (partly) sent (ReadTimeout, WriteTimeout, ReadError,
    WriteError, RemoteProtocolError and any other httpx transport error except ConnectError,
    ConnectTimeout and PoolTimeout) and 5xx statuses other than 503. Exceptions that are not
    httpx transport errors are not classified here and give False.
    """
    if isinstance(outcome, BaseException):
        import httpx

        if not isinstance(outcome, httpx.TransportError):
            return False
        not_sent = (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.UnsupportedProtocol,
            httpx.ProxyError,
        )
        return not isinstance(outcome, not_sent)
    status = outcome if isinstance(outcome, int) else outcome.status_code
    return 500 <= status <= 599 and status != 503


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
        status = getattr(outcome.result(), "status_code", None)
        return isinstance(status, int) and should_retry_status(status, idempotent=idempotent)

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
