"""Retry policy, Retry-After parsing, classification, and the tenacity drivers (no network)."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import httpx
import pytest
import tenacity

from spine._retry import (
    RetryPolicy,
    compute_delay,
    is_ambiguous,
    parse_retry_after,
    retrying_kwargs,
    should_retry_exception,
    should_retry_status,
)
from tests.unit.conftest import FakeClock

NOW = 1_745_251_200.0
REQUEST = httpx.Request("GET", "https://api.getspine.ai/v1/run/x")


def half() -> float:
    return 0.5


# ----------------------------------------------------------------------------- RetryPolicy


def test_policy_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.max_retries, policy.base_delay, policy.max_delay, policy.jitter) == (
        3,
        0.5,
        30.0,
        0.1,
    )
    assert RetryPolicy.none().max_retries == 0


def test_policy_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RetryPolicy().max_retries = 5  # type: ignore[misc]


def test_policy_normalises_ints_to_floats() -> None:
    policy = RetryPolicy(base_delay=1, max_delay=10, jitter=0)
    assert isinstance(policy.base_delay, float)
    assert policy == RetryPolicy(base_delay=1.0, max_delay=10.0, jitter=0.0)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"max_retries": -1}, "max_retries must not be negative"),
        ({"max_retries": 1.5}, "max_retries must be an int"),
        ({"max_retries": True}, "max_retries must be an int"),
        ({"max_retries": "3"}, "max_retries must be an int"),
        ({"base_delay": -0.1}, "base_delay must not be negative"),
        ({"base_delay": math.nan}, "base_delay must be finite"),
        ({"base_delay": math.inf}, "base_delay must be finite"),
        ({"max_delay": math.nan}, "max_delay must be finite"),
        ({"max_delay": -1}, "max_delay must not be negative"),
        ({"max_delay": "30"}, "max_delay must be a number"),
        ({"base_delay": True}, "base_delay must be a number"),
        ({"base_delay": None}, "base_delay must be a number"),
        ({"base_delay": 1j}, "base_delay must be a number"),
        ({"jitter": -0.01}, "jitter must not be negative"),
        ({"jitter": math.nan}, "jitter must be finite"),
        ({"jitter": math.inf}, "jitter must be finite"),
        ({"jitter": False}, "jitter must be a number"),
        ({"max_retries": None}, "max_retries must be an int"),
    ],
)
def test_policy_validation(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        RetryPolicy(**kwargs)


def test_policy_edge_values_are_valid() -> None:
    RetryPolicy(max_retries=0, base_delay=0, max_delay=0, jitter=0)
    RetryPolicy(jitter=1.0)


# Every combination the docs allow, with its documented meaning (max_delay caps every delay,
# Retry-After included; jitter is a relative spread; the result is never negative).
@pytest.mark.parametrize(
    ("kwargs", "attempt", "rand", "retry_after", "expected"),
    [
        # the example: base_delay above max_delay -> every delay is max_delay
        ({"max_retries": 2, "base_delay": 10.0, "max_delay": 0.05}, 0, 0.5, None, 0.05),
        ({"max_retries": 2, "base_delay": 10.0, "max_delay": 0.05}, 1, 0.0, None, 0.05),
        ({"base_delay": 10.0, "max_delay": 0.05}, 0, 0.5, 7.0, 0.05),
        ({"base_delay": 5, "max_delay": 0}, 3, 0.5, None, 0.0),
        # max_delay=inf: no cap (the backoff doubles without bound; Retry-After as asked)
        ({"base_delay": 1.0, "max_delay": math.inf, "jitter": 0}, 10, 0.5, None, 1024.0),
        ({"max_delay": math.inf}, 0, 0.5, 4000.0, 4000.0),
        # a spread over 1: a draw below zero becomes 0, above is scaled
        ({"base_delay": 1.0, "jitter": 3.0}, 0, 0.0, None, 0.0),
        ({"base_delay": 1.0, "jitter": 3.0}, 0, 1.0, None, 4.0),
        # numbers of any real type
        ({"base_delay": Fraction(1, 4), "jitter": 0}, 0, 0.5, None, 0.25),
    ],
)
def test_every_documented_combination_is_accepted_with_its_meaning(
    kwargs: dict[str, Any], attempt: int, rand: float, retry_after: float | None, expected: float
) -> None:
    policy = RetryPolicy(**kwargs)
    assert compute_delay(policy, attempt, retry_after, lambda: rand) == pytest.approx(expected)


def test_an_uncapped_delay_stays_sleepable() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=math.inf)
    delay = compute_delay(policy, 10_000, None, half)
    assert math.isfinite(delay) and delay > 1e8
    assert math.isfinite(compute_delay(policy, 0, 1e300, half))


def test_integral_max_retries_of_other_types_is_an_int() -> None:
    class Three:
        def __index__(self) -> int:
            return 3

    policy = RetryPolicy(max_retries=Three())  # type: ignore[arg-type]
    assert policy.max_retries == 3 and type(policy.max_retries) is int


# ----------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
        (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),  # in the past: never negative
        ("Mon, 21 Apr 2025 16:00:30 -0000", 30.0),  # -0000: a naive datetime, read as UTC
    ],
)
def test_parse_retry_after(value: str, expected: float) -> None:
    assert parse_retry_after(value, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    "value", [None, "", "   ", "soon", "-1", "1e3", "inf", "nan", "0x10", "12 s", "Mon, 99 Foo"]
)
def test_parse_retry_after_garbage(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


# ----------------------------------------------------------------------------- compute_delay


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (0, 0.5, 0.5),
        (1, 0.5, 1.0),
        (2, 0.5, 2.0),
        (0, 0.0, 0.45),  # -10 %
        (0, 1.0, 0.55),  # +10 %
        (3, 1.0, 4.4),
        (6, 0.5, 30.0),  # 32 s capped
        (10_000, 0.0, 30.0),  # no overflow
    ],
)
def test_backoff(attempt: int, rand: float, expected: float) -> None:
    assert compute_delay(RetryPolicy(), attempt, None, lambda: rand) == pytest.approx(expected)


def test_retry_after_wins_without_jitter() -> None:
    policy = RetryPolicy(jitter=1.0)
    assert compute_delay(policy, 0, 2.0, lambda: 0.0) == 2.0
    assert compute_delay(policy, 5, 0.0, lambda: 1.0) == 0.0
    assert compute_delay(policy, 0, 500.0, lambda: 0.5) == 30.0  # capped at max_delay


def test_backoff_is_never_negative_or_above_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0, jitter=1.0)
    for attempt in range(8):
        for r in (-5.0, 0.0, 0.3, 1.0, 7.0):
            delay = compute_delay(policy, attempt, None, lambda r=r: r)
            assert 0.0 <= delay <= 3.0


def test_negative_attempt_is_an_error() -> None:
    with pytest.raises(ValueError, match="attempt"):
        compute_delay(RetryPolicy(), -1, None, half)


# ----------------------------------------------------------------------------- classification

SAFE_TO_RESEND = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
MAYBE_RECEIVED = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
]


def make_exc(cls: type[httpx.TransportError]) -> httpx.TransportError:
    return cls("boom", request=REQUEST)


@pytest.mark.parametrize("cls", SAFE_TO_RESEND + MAYBE_RECEIVED)
def test_get_retries_transport_errors(cls: type[httpx.TransportError]) -> None:
    assert should_retry_exception(make_exc(cls), idempotent=True)


@pytest.mark.parametrize("cls", SAFE_TO_RESEND)
def test_post_retries_only_when_never_sent(cls: type[httpx.TransportError]) -> None:
    exc = make_exc(cls)
    assert should_retry_exception(exc, idempotent=False)
    assert not is_ambiguous(exc)


@pytest.mark.parametrize("cls", MAYBE_RECEIVED)
def test_post_does_not_retry_after_send(cls: type[httpx.TransportError]) -> None:
    exc = make_exc(cls)
    assert not should_retry_exception(exc, idempotent=False)
    assert is_ambiguous(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("x"),
        KeyboardInterrupt(),
        httpx.UnsupportedProtocol("ftp", request=REQUEST),
        httpx.LocalProtocolError("bad header", request=REQUEST),
        httpx.HTTPStatusError("x", request=REQUEST, response=httpx.Response(500)),
    ],
)
def test_other_exceptions_are_not_retried(exc: BaseException) -> None:
    assert not should_retry_exception(exc, idempotent=True)
    assert not should_retry_exception(exc, idempotent=False)


ENVELOPE = b'{"success": false, "error": "no"}'


# (status, enveloped): retried as a GET, retried as a create, a create's run may exist.
# A create that got bytes to the server is ambiguous unless the API refused it definitively
# (400, 401, 413, 429, 503 with its error envelope).
@pytest.mark.parametrize(
    ("status", "enveloped", "get", "post", "ambiguous"),
    [
        (200, True, False, False, False),
        (201, True, False, False, False),
        (301, True, False, False, True),
        (303, False, False, False, True),
        (400, True, False, False, False),
        (400, False, False, False, True),
        (401, True, False, False, False),
        (401, False, False, False, True),
        (403, True, False, False, True),
        (404, True, False, False, True),
        (408, True, True, False, True),
        (409, True, False, False, True),
        (413, True, False, False, False),
        (413, False, False, False, True),
        (418, True, False, False, True),
        (429, True, True, True, False),
        (429, False, True, False, True),
        (500, True, True, False, True),
        (501, True, True, False, True),
        (502, True, True, False, True),
        (503, True, True, True, False),
        (503, False, True, False, True),
        (504, True, True, False, True),
        (599, True, True, False, True),
        (600, True, False, False, True),
    ],
)
def test_status_classification(
    status: int, enveloped: bool, get: bool, post: bool, ambiguous: bool
) -> None:
    assert should_retry_status(status, idempotent=True, enveloped=enveloped) is get
    assert should_retry_status(status, idempotent=False, enveloped=enveloped) is post
    assert is_ambiguous(status, enveloped=enveloped) is ambiguous
    body = ENVELOPE if enveloped else b"<html>proxy</html>"
    assert is_ambiguous(httpx.Response(status, content=body)) is ambiguous


# ----------------------------------------------------------------------------- tenacity drivers

Outcome = httpx.Response | BaseException


def response(
    status: int, headers: dict[str, str] | None = None, content: bytes = b""
) -> httpx.Response:
    return httpx.Response(status, headers=headers, content=content, request=REQUEST)


class Attempts:
    """A fake attempt function: returns or raises the scripted outcomes in order."""

    def __init__(self, outcomes: Sequence[Outcome]) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> httpx.Response:
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def drive(
    outcomes: Sequence[Outcome],
    *,
    idempotent: bool,
    policy: RetryPolicy | None = None,
    deadline: float | None = None,
    clock: FakeClock | None = None,
    rand: Callable[[], float] = half,
) -> tuple[Attempts, FakeClock, httpx.Response | BaseException]:
    clock = clock or FakeClock()
    attempts = Attempts(outcomes)
    kwargs = retrying_kwargs(
        policy or RetryPolicy(),
        idempotent=idempotent,
        deadline=deadline,
        clock=clock,
        rand=rand,
        sleep=clock.sleep,
        wall_clock=lambda: NOW,
    )
    try:
        result: httpx.Response | BaseException = tenacity.Retrying(**kwargs)(attempts)
    except Exception as exc:
        result = exc
    return attempts, clock, result


def test_kwargs_shape() -> None:
    kwargs = retrying_kwargs(
        RetryPolicy(), idempotent=True, deadline=None, clock=FakeClock(), rand=half
    )
    assert {"retry", "wait", "stop", "reraise", "before_sleep"} <= kwargs.keys()
    assert kwargs["reraise"] is True
    assert "sleep" not in kwargs  # each driver keeps its own sleep unless one is injected


def test_get_retries_5xx_then_succeeds() -> None:
    attempts, clock, result = drive([response(503), response(500), response(200)], idempotent=True)
    assert attempts.calls == 3
    assert clock.sleeps == [0.5, 1.0]
    assert isinstance(result, httpx.Response)
    assert result.status_code == 200


def test_get_gives_up_with_the_last_response() -> None:
    attempts, clock, result = drive([response(500)], idempotent=True)
    assert attempts.calls == 4  # 1 + max_retries
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert isinstance(result, httpx.Response)  # never a tenacity.RetryError
    assert result.status_code == 500


def test_get_retries_timeouts_then_succeeds() -> None:
    outcomes: list[Outcome] = [
        make_exc(httpx.ReadTimeout),
        make_exc(httpx.RemoteProtocolError),
        response(200),
    ]
    attempts, clock, result = drive(outcomes, idempotent=True)
    assert attempts.calls == 3
    assert clock.sleeps == [0.5, 1.0]
    assert isinstance(result, httpx.Response)


def test_get_reraises_the_last_exception() -> None:
    attempts, clock, result = drive([make_exc(httpx.ConnectError)], idempotent=True)
    assert attempts.calls == 4
    assert len(clock.sleeps) == 3
    assert isinstance(result, httpx.ConnectError)


@pytest.mark.parametrize("status", [200, 400, 401, 404, 413])
def test_get_does_not_retry_final_statuses(status: int) -> None:
    attempts, clock, result = drive([response(status), response(200)], idempotent=True)
    assert attempts.calls == 1
    assert clock.sleeps == []
    assert isinstance(result, httpx.Response)
    assert result.status_code == status


def test_get_honours_retry_after() -> None:
    attempts, clock, _ = drive(
        [response(429, {"Retry-After": "4"}), response(200)], idempotent=True
    )
    assert attempts.calls == 2
    assert clock.sleeps == [4.0]


def test_get_honours_retry_after_http_date() -> None:
    when = email.utils.formatdate(NOW + 7, usegmt=True)
    _, clock, _ = drive([response(503, {"Retry-After": when}), response(200)], idempotent=True)
    assert clock.sleeps == [7.0]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_post_never_retries_ambiguous_statuses(status: int) -> None:
    attempts, clock, result = drive([response(status), response(200)], idempotent=False)
    assert attempts.calls == 1
    assert clock.sleeps == []
    assert isinstance(result, httpx.Response)
    assert result.status_code == status


def test_post_retries_503_with_retry_after() -> None:
    attempts, clock, result = drive(
        [response(503, {"Retry-After": "2"}, ENVELOPE), response(200)], idempotent=False
    )
    assert attempts.calls == 2
    assert clock.sleeps == [2.0]
    assert isinstance(result, httpx.Response)
    assert result.status_code == 200


def test_post_retries_429_capped_at_max_delay() -> None:
    attempts, clock, _ = drive(
        [response(429, {"Retry-After": "100"}, ENVELOPE), response(200)], idempotent=False
    )
    assert attempts.calls == 2
    assert clock.sleeps == [30.0]


def test_post_does_not_retry_read_timeout() -> None:
    attempts, clock, result = drive([make_exc(httpx.ReadTimeout), response(200)], idempotent=False)
    assert attempts.calls == 1
    assert clock.sleeps == []
    assert isinstance(result, httpx.ReadTimeout)


def test_post_retries_connect_error() -> None:
    attempts, clock, result = drive(
        [make_exc(httpx.ConnectError), make_exc(httpx.PoolTimeout), response(200)],
        idempotent=False,
    )
    assert attempts.calls == 3
    assert clock.sleeps == [0.5, 1.0]
    assert isinstance(result, httpx.Response)


def test_no_retries_policy() -> None:
    attempts, clock, result = drive([response(503)], idempotent=True, policy=RetryPolicy.none())
    assert attempts.calls == 1
    assert clock.sleeps == []
    assert isinstance(result, httpx.Response)
    assert result.status_code == 503


def test_jitter_uses_the_injected_random() -> None:
    values = iter([0.0, 1.0, 0.25])
    _, clock, _ = drive([response(500)], idempotent=True, rand=lambda: next(values))
    assert clock.sleeps == pytest.approx([0.45, 1.1, 1.9])


def test_deadline_stops_before_a_sleep_that_would_pass_it() -> None:
    clock = FakeClock(start=0.0)
    attempts, clock, result = drive([response(500)], idempotent=True, deadline=1.2, clock=clock)
    # 0.5 s fits (ends at 0.5); the next 1.0 s would end at 1.5 > 1.2: stop with the response.
    assert attempts.calls == 2
    assert clock.sleeps == [0.5]
    assert isinstance(result, httpx.Response)


def test_deadline_counts_time_spent_in_attempts() -> None:
    clock = FakeClock(start=0.0)

    def slow_attempt() -> httpx.Response:
        clock.advance(10.0)
        return response(503)

    kwargs = retrying_kwargs(
        RetryPolicy(max_retries=10),
        idempotent=True,
        deadline=25.0,
        clock=clock,
        rand=half,
        sleep=clock.sleep,
    )
    calls = []

    def attempt() -> httpx.Response:
        calls.append(clock())
        return slow_attempt()

    result = tenacity.Retrying(**kwargs)(attempt)
    assert result.status_code == 503
    # Attempts end at 10, 20.5 and 31.5; after the third, the next sleep would pass 25: stop.
    assert calls == [0.0, 10.5, 21.5]
    assert clock.sleeps == [0.5, 1.0]


def test_retry_logs_at_info(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="spine"):
        drive([make_exc(httpx.ConnectError), response(503), response(200)], idempotent=True)
    messages = [r.getMessage() for r in caplog.records if r.name == "spine"]
    assert messages == [
        "Retrying (retry 1 of 3) in 0.50s after ConnectError",
        "Retrying (retry 2 of 3) in 1.00s after HTTP 503",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "spine")


def test_the_same_kwargs_drive_async_retrying() -> None:
    clock = FakeClock()
    attempts = Attempts(
        [response(503, {"Retry-After": "2"}, ENVELOPE), make_exc(httpx.ConnectError)]
    )
    attempts.outcomes.append(response(200))

    async def fake_sleep(seconds: float) -> None:
        clock.sleep(seconds)

    async def attempt() -> httpx.Response:
        return attempts()

    async def main() -> httpx.Response:
        kwargs = retrying_kwargs(
            RetryPolicy(),
            idempotent=False,
            deadline=None,
            clock=clock,
            rand=half,
            sleep=fake_sleep,
        )
        result: httpx.Response = await tenacity.AsyncRetrying(**kwargs)(attempt)
        return result

    result = asyncio.run(main())
    assert result.status_code == 200
    assert attempts.calls == 3
    assert clock.sleeps == [2.0, 1.0]


def test_async_reraises_the_original_exception() -> None:
    clock = FakeClock()

    async def fake_sleep(seconds: float) -> None:
        clock.sleep(seconds)

    async def attempt() -> httpx.Response:
        raise make_exc(httpx.ReadTimeout)

    async def main() -> None:
        kwargs = retrying_kwargs(
            RetryPolicy(),
            idempotent=False,
            deadline=None,
            clock=clock,
            rand=half,
            sleep=fake_sleep,
        )
        await tenacity.AsyncRetrying(**kwargs)(attempt)

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(main())
    assert clock.sleeps == []
