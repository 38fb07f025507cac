"""The exception tree, its messages, and the mapping of error responses to exceptions."""

from __future__ import annotations

import email.utils
import json
import pickle
import time

import httpx
import pytest

import spine._exceptions as exc_module
from spine._exceptions import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    RunFailedError,
    ServerError,
    SpineAPIError,
    SpineConnectionError,
    SpineError,
    SpineTimeoutError,
    UnexpectedResponseError,
    WebhookSignatureError,
    error_from_response,
)
from spine._models import GetRunResponse, RunError

KEY = "sk_spine_live_0123456789abcdefWXYZ"


def envelope(message: str) -> bytes:
    return json.dumps({"success": False, "error": message}).encode()


# ----------------------------------------------------------------------------- tree


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (SpineConnectionError, SpineError),
        (SpineTimeoutError, SpineError),
        (WebhookSignatureError, SpineError),
        (SpineAPIError, SpineError),
        (BadRequestError, SpineAPIError),
        (AuthenticationError, SpineAPIError),
        (NotFoundError, SpineAPIError),
        (RateLimitError, SpineAPIError),
        (ServerError, SpineAPIError),
        (RunFailedError, SpineAPIError),
        (UnexpectedResponseError, SpineAPIError),
    ],
)
def test_tree(cls: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(cls, parent)
    assert cls.__bases__ == (parent,)


def test_docstring_draws_the_tree() -> None:
    doc = exc_module.__doc__ or ""
    import spine.exceptions

    assert len(spine.exceptions.__all__) >= 16
    for name in spine.exceptions.__all__:
        assert name in doc, name
    assert "└──" in doc
    assert "├──" in doc


def test_every_error_has_the_ambiguity_attributes() -> None:
    for exc in (
        SpineError("x"),
        SpineConnectionError("x"),
        SpineTimeoutError("x"),
        NotFoundError("x", status_code=404),
    ):
        assert exc.idempotency_key is None
        assert exc.run_may_exist is False
        assert "may have been created" not in str(exc)


# ----------------------------------------------------------------------------- mapping


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (599, ServerError),
        (403, SpineAPIError),
        (409, SpineAPIError),
        (413, SpineAPIError),
        (422, SpineAPIError),
        (418, SpineAPIError),
        (600, SpineAPIError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[SpineAPIError]) -> None:
    exc = error_from_response(status, envelope("boom"), {})
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.error_message == "boom"
    assert exc.response_body == {"success": False, "error": "boom"}
    assert exc.raw_body == envelope("boom")
    assert str(exc).startswith("boom")


def test_documented_404() -> None:
    body = envelope("Run not found: 550e8400-e29b-41d4-a716-446655440000")
    exc = error_from_response(404, body, {"X-Request-ID": "req_42"})
    assert isinstance(exc, NotFoundError)
    assert exc.request_id == "req_42"
    text = str(exc)
    assert text.startswith("Run not found: 550e8400-e29b-41d4-a716-446655440000 (HTTP 404;")
    assert "request id req_42" in text
    assert "belongs to the account" in text


@pytest.mark.parametrize(
    "headers",
    [
        {"x-request-id": "abc"},
        {"X-REQUEST-ID": "abc"},
        {"X-Request-Id": "abc"},
        httpx.Headers({"x-request-id": "abc"}),
    ],
)
def test_request_id_is_read_case_insensitively(headers: dict[str, str]) -> None:
    assert error_from_response(500, envelope("x"), headers).request_id == "abc"


def test_missing_request_id_is_none() -> None:
    exc = error_from_response(500, envelope("x"), {"Content-Type": "application/json"})
    assert exc.request_id is None
    assert "request id" not in str(exc)


def test_html_body_keeps_class_and_raw_body() -> None:
    body = b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>"
    exc = error_from_response(502, body, {"Content-Type": "text/html"})
    assert type(exc) is ServerError
    assert exc.error_message is None
    assert exc.response_body is None
    assert exc.raw_body == body
    text = str(exc)
    assert "not JSON" in text
    assert "<html> <head><title>502 Bad Gateway" in text  # newlines collapsed
    assert "\n" not in text


def test_long_non_json_body_excerpt_is_short() -> None:
    body = b"<p>" + b"x" * 100_000
    exc = error_from_response(503, body, {})
    assert len(str(exc)) < 500
    assert "\u2026" in str(exc)
    assert exc.raw_body == body


def test_binary_garbage_body_is_safe() -> None:
    body = bytes(range(256)) * 4
    exc = error_from_response(500, body, {})
    assert type(exc) is ServerError
    text = str(exc)
    assert all(ch.isprintable() for ch in text)


def test_empty_body() -> None:
    exc = error_from_response(401, b"", {})
    assert type(exc) is AuthenticationError
    assert exc.error_message is None
    assert exc.raw_body == b""
    assert "empty body" in str(exc)


def test_json_without_error_string() -> None:
    exc = error_from_response(404, b'{"success": false}', {})
    assert type(exc) is NotFoundError
    assert exc.error_message is None
    assert exc.response_body == {"success": False}
    assert str(exc).startswith("The error response has no message (HTTP 404). ")
    assert str(exc).count("404") == 1


def test_json_list_body() -> None:
    exc = error_from_response(400, b"[1, 2]", {})
    assert type(exc) is BadRequestError
    assert exc.response_body == [1, 2]
    assert exc.error_message is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"detail": "Not Found"}', "Not Found"),
        (b'{"message": "nope"}', "nope"),
        (b'{"error": {"message": "nested"}}', "nested"),
        (b'{"error": "", "message": "fallback"}', "fallback"),
    ],
)
def test_lenient_message_shapes(body: bytes, message: str) -> None:
    assert error_from_response(404, body, {}).error_message == message


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"error": ' * 50_000, b"\xff\xfe\x00", b"null", b"1e999999", b"NaN"],
)
def test_mapping_never_raises(body: bytes) -> None:
    exc = error_from_response(500, body, {"Retry-After": "garbage"})
    assert isinstance(exc, ServerError)
    assert exc.raw_body == body
    str(exc)
    repr(exc)


def test_429_retry_after_seconds() -> None:
    exc = error_from_response(429, envelope("Rate limit exceeded"), {"retry-after": "7"})
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == 7.0
    assert "retry after 7 s" in str(exc)


def test_429_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    exc = error_from_response(429, envelope("slow"), {"Retry-After": when})
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after is not None
    assert 100 < exc.retry_after <= 121


@pytest.mark.parametrize("value", [None, "", "soon", "-3"])
def test_429_without_usable_retry_after(value: str | None) -> None:
    headers = {} if value is None else {"Retry-After": value}
    exc = error_from_response(429, envelope("slow"), headers)
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after is None
    assert "slow down" in str(exc)


# ----------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (400, "request arguments"),
        (401, "SPINE_API_KEY"),
        (404, "check the id"),
        (413, "smaller or fewer files"),
        (429, "slow down"),
        (500, "retry later"),
        (503, "quote request id r1 to spine support"),
    ],
)
def test_hint_says_what_to_do(status: int, needle: str) -> None:
    text = str(error_from_response(status, envelope("x"), {"X-Request-ID": "r1"}))
    assert needle.lower() in text.lower()


def test_status_only_message() -> None:
    exc = SpineAPIError("HTTP 418", status_code=418)
    assert str(exc) == "HTTP 418"
    exc = SpineAPIError("", status_code=418, request_id="r")
    assert str(exc) == "The Spine API answered with an error (HTTP 418; request id r)"


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 409, 429, 500, 502, 503, 599])
@pytest.mark.parametrize(
    "body", [b"", b"<html>Bad gateway</html>", b'{"success": false}', b"[1]",
             b'{"success": false, "error": "nope"}'],
)
def test_the_status_is_written_once(status: int, body: bytes) -> None:
    """One place writes "HTTP <status>": never twice, whatever the status and the body."""
    text = str(error_from_response(status, body, {"X-Request-ID": "req_1", "Location": "/x"}))
    assert text.count(f"HTTP {status}") == 1, text
    assert f"(HTTP {status}; request id req_1)" in text, text


def test_repr_is_informative() -> None:
    exc = NotFoundError("Run not found: x", status_code=404, request_id="r9")
    assert repr(exc) == "NotFoundError('Run not found: x', status_code=404, request_id='r9')"
    assert repr(SpineConnectionError("refused")) == "SpineConnectionError('refused')"


def test_run_may_exist_message_shows_the_key() -> None:
    exc = ServerError("Bad gateway", status_code=502)
    exc.idempotency_key = "idem-123"
    exc.run_may_exist = True
    text = str(exc)
    assert "may have been created" in text
    assert "idempotency_key='idem-123'" in text
    # How to check, and no promise that the real service deduplicates.
    assert "run.started" in text
    assert "Spine does not document that it does" in text
    assert "without paying twice" not in text and "returns the same run" not in text


def test_run_may_exist_on_transport_errors() -> None:
    exc = SpineTimeoutError("read timed out", idempotency_key="k1", run_may_exist=True)
    assert str(exc).startswith("read timed out The run may have been created")
    assert "'k1'" in str(exc)
    no_key = SpineConnectionError("reset", run_may_exist=True)
    assert "Check before creating it again" in str(no_key)
    assert "idempotency_key" not in str(no_key)


def test_api_key_never_in_message_or_repr() -> None:
    body = envelope(f"Invalid API key {KEY}")
    exc = error_from_response(401, body, {"X-Request-ID": "r"})
    assert KEY not in str(exc)
    assert KEY not in repr(exc)
    assert exc.error_message is not None
    assert KEY not in exc.error_message
    assert "sk_spine_\u2026WXYZ" in str(exc)

    html = f"<pre>X-API-KEY: {KEY}</pre>".encode()
    exc = error_from_response(500, html, {})
    assert KEY not in str(exc)
    assert KEY not in repr(exc)


# ----------------------------------------------------------------------------- special errors


def test_run_failed_error_message() -> None:
    run = GetRunResponse(
        run_id="r1",
        status="failed",
        canvas_id="c1",
        errors=[RunError(error="Agent execution failed"), RunError(error="Timeout in block")],
    )
    exc = RunFailedError.from_run(run)
    assert isinstance(exc, SpineAPIError)
    assert exc.status_code == 0
    assert exc.run_id == "r1"
    assert exc.run is run
    assert [e.error for e in exc.errors] == ["Agent execution failed", "Timeout in block"]
    assert exc.message == "Run r1 failed: Agent execution failed; Timeout in block"
    assert str(exc).startswith("Run r1 failed: Agent execution failed; Timeout in block.")
    # The error alone cannot know which API the run was on: no web link unless wait() ran
    # against the Spine API host and filled canvas_url in.
    assert exc.canvas_url is None and "getspine.ai" not in str(exc)
    exc.canvas_url = "https://app.getspine.ai/canvas/c1"
    assert "https://app.getspine.ai/canvas/c1" in str(exc)
    assert "HTTP" not in str(exc)


def test_run_failed_error_without_detail() -> None:
    exc = RunFailedError("r2")
    assert exc.message == "Run r2 failed: no error detail provided"
    assert exc.errors == []
    assert exc.run is None
    assert exc.error_message is None


def test_unexpected_response_error_keeps_raw_body() -> None:
    exc = UnexpectedResponseError("bad shape", status_code=200, raw_body=b"{}", request_id="q")
    assert exc.raw_body == b"{}"
    assert "contract" in str(exc)
    assert "request id q" in str(exc)


def test_timeout_error_attributes() -> None:
    exc = SpineTimeoutError("late", run_id="r", timeout=5.0)
    assert (exc.run_id, exc.timeout) == ("r", 5.0)


@pytest.mark.parametrize(
    "exc",
    [
        SpineError("plain"),
        SpineTimeoutError("late", run_id="r", timeout=1.0),
        NotFoundError("nf", status_code=404, request_id="r", raw_body=b"x"),
        RateLimitError("rl", retry_after=3.0, idempotency_key="k", run_may_exist=True),
        RunFailedError("r", [RunError(error="e")]),
        UnexpectedResponseError("u", status_code=200, raw_body=b"\x00"),
    ],
)
def test_pickle_round_trip(exc: SpineError) -> None:
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert str(copy) == str(exc)
    assert copy.__dict__.keys() == exc.__dict__.keys()
