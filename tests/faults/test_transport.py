"""The real clients against a server that breaks the connection: resets, stalls, trickles, a wrong
Content-Length, oversized and gzip-bomb bodies. Each test checks the outcome and counts the runs
on the server side: nothing lost, nothing created twice."""

from __future__ import annotations

import time
import tracemalloc

import httpx
import pytest

import spine

from . import _server as b
from ._server import FaultServer
from .conftest import Api

ONE_RETRY = spine.RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.01)

R1 = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
R1B = R1.encode()
EVIL = b"e0e0e0e0-e0e0-4e0e-8e0e-e0e0e0e0e0e0"


def _create(api: Api, client: object, **kwargs: object) -> object:
    return api.call(client.runs.create, "Summarise Q1", **kwargs)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- resets


def test_get_reset_mid_response_is_retried(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url)
    handle = _create(api, client)
    server.script(b.reset_mid_body(act=False), b.reset(), b.api())
    run = api.call(client.runs.get, handle.run_id)  # type: ignore[attr-defined]
    assert run.status == "running"
    assert len([r for r in server.requests if r.method == "GET"]) == 3
    assert server.runs == 1


def test_get_reset_every_time_raises_connection_error_with_cause(
    api: Api, server: FaultServer
) -> None:
    client = api.client(base_url=server.url, retry_policy=ONE_RETRY)
    handle = _create(api, client)
    server.script(b.reset())
    with pytest.raises(spine.SpineConnectionError) as info:
        api.call(client.runs.get, handle.run_id)  # type: ignore[attr-defined]
    assert isinstance(info.value.__cause__, httpx.TransportError)
    assert not info.value.run_may_exist
    assert len([r for r in server.requests if r.method == "GET"]) == 2


@pytest.mark.parametrize("behaviour", ["reset-after-acting", "reset-mid-body", "reset-unacted"])
def test_create_reset_is_ambiguous_never_retried_and_recoverable_by_key(
    api: Api, server: FaultServer, behaviour: str
) -> None:
    client = api.client(base_url=server.url)
    first = {
        "reset-after-acting": b.reset(act=True),
        "reset-mid-body": b.reset_mid_body(act=True),
        "reset-unacted": b.reset(act=False),
    }[behaviour]
    server.script(first, b.api())
    with pytest.raises(spine.SpineConnectionError) as info:
        _create(api, client)
    err = info.value
    assert err.run_may_exist is True
    assert err.idempotency_key
    assert err.idempotency_key in str(err) and "may have been created" in str(err)
    assert isinstance(err.__cause__, httpx.TransportError)
    assert len(server.creates()) == 1, "an ambiguous create must never be re-sent automatically"
    acted = behaviour != "reset-unacted"
    assert server.runs == (1 if acted else 0)

    again = _create(api, client, idempotency_key=err.idempotency_key)
    assert server.runs == 1, "the same key never creates a second run"
    if acted:
        assert again.run_id == server.run_ids[0]  # type: ignore[attr-defined]
    keys = {r.headers["idempotency-key"] for r in server.creates()}
    assert keys == {err.idempotency_key}


def test_connection_refused_is_a_connection_error_and_create_is_safe(api: Api) -> None:
    with FaultServer() as gone:
        url = gone.url
    client = api.client(base_url=url, retry_policy=ONE_RETRY)
    with pytest.raises(spine.SpineConnectionError) as info:
        api.call(client.runs.get, "550e8400-e29b-41d4-a716-446655440000")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    with pytest.raises(spine.SpineConnectionError) as info:
        _create(api, client)
    # The connection was never made: nothing can exist, and the create was retried.
    assert info.value.run_may_exist is False
    assert api.sleeps, "a create that never reached the server is retried"


# ----------------------------------------------------------------------------- stalls


def test_get_stall_is_a_timeout_with_cause(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url, timeout=0.3, retry_policy=ONE_RETRY, real_sleep=True)
    handle = _create(api, client)
    server.script(b.stall())
    began = time.monotonic()
    with pytest.raises(spine.SpineTimeoutError) as info:
        api.call(client.runs.get, handle.run_id)  # type: ignore[attr-defined]
    assert time.monotonic() - began < 1.5
    assert isinstance(info.value.__cause__, httpx.TimeoutException)


def test_create_stall_after_acting_is_ambiguous(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url, timeout=0.3, real_sleep=True)
    server.script(b.stall(act=True), b.api())
    with pytest.raises(spine.SpineTimeoutError) as info:
        _create(api, client)
    assert info.value.run_may_exist and info.value.idempotency_key
    assert isinstance(info.value.__cause__, httpx.TimeoutException)
    assert len(server.creates()) == 1
    again = _create(api, client, idempotency_key=info.value.idempotency_key)
    assert server.runs == 1 and again.run_id == server.run_ids[0]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(lambda: b.stall(after_headers=True), id="stall-after-headers"),
        pytest.param(lambda: b.trickle(interval=0.05, chunk=1), id="trickled-body"),
        pytest.param(
            lambda: b.trickle(interval=0.05, chunk=1, headers_too=True), id="trickled-headers"
        ),
    ],
)
def test_wait_deadline_holds_against_slow_responses(
    api: Api, server: FaultServer, behaviour: object
) -> None:
    """One deadline bounds wait(): a response that stalls or trickles in (even its headers,
    one byte per 50 ms, each well within any read timeout) cannot hold it past the deadline."""
    client = api.client(base_url=server.url, real_sleep=True)
    handle = _create(api, client)
    server.script(behaviour())  # type: ignore[operator]
    began = time.monotonic()
    with pytest.raises(spine.SpineTimeoutError) as info:
        api.call(handle.wait, timeout=0.6, poll_interval=0.1)  # type: ignore[attr-defined]
    elapsed = time.monotonic() - began
    assert elapsed < 0.6 + 0.4, f"wait() overran its deadline: {elapsed:.2f}s"
    assert info.value.run_id == handle.run_id  # type: ignore[attr-defined]
    assert server.runs == 1


def test_trickled_body_without_deadline_is_bounded_by_the_request_timeout(
    api: Api, server: FaultServer
) -> None:
    client = api.client(
        base_url=server.url, timeout=0.5, retry_policy=spine.RetryPolicy.none(), real_sleep=True
    )
    handle = _create(api, client)
    server.script(b.trickle(interval=0.05, chunk=1, headers_too=True))
    began = time.monotonic()
    with pytest.raises(spine.SpineTimeoutError):
        api.call(client.runs.get, handle.run_id)  # type: ignore[attr-defined]
    assert time.monotonic() - began < 1.0


# ----------------------------------------------------------------------------- bodies


def test_oversized_body_is_refused(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url)
    server.script(b.huge_body(40 * 1024 * 1024))
    with pytest.raises(spine.UnexpectedResponseError, match="larger than"):
        api.call(client.runs.get, "550e8400-e29b-41d4-a716-446655440000")


def test_gzip_bomb_is_refused_without_inflating_it(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url)
    server.script(b.gzip_bomb(128 * 1024 * 1024))
    tracemalloc.start()
    try:
        with pytest.raises(spine.UnexpectedResponseError, match="larger than"):
            api.call(client.runs.get, "550e8400-e29b-41d4-a716-446655440000")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB while refusing a gzip bomb"


def test_gzip_body_is_decoded(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url)
    body = b'{"success": true, "data": {"run_id": "%b", "status": "running"}}' % R1B
    server.script(b.gzipped(body))
    run = api.call(client.runs.get, R1)
    assert run.run_id == R1


def test_corrupt_gzip_is_an_unexpected_response(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url)
    server.script(
        b.raw(b.http_response(200, b"\x1f\x8b\x08not gzip at all", [("Content-Encoding", "gzip")]))
    )
    with pytest.raises(spine.SpineError) as info:
        api.call(client.runs.get, R1)
    assert not isinstance(info.value, spine.SpineConnectionError) or info.value.__cause__


def test_unknown_content_encoding_is_an_unexpected_response(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url)
    server.script(b.raw(b.http_response(200, b"\x00\x01", [("Content-Encoding", "snappy")])))
    with pytest.raises(spine.SpineError):
        api.call(client.runs.get, R1)


def test_body_shorter_than_content_length(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url, retry_policy=ONE_RETRY)
    body = b'{"success": true, "data": {"run_id": "%b", "status": "running"}}' % R1B
    server.script(b.raw(b.http_response(200, body, content_length=len(body) + 50)))
    with pytest.raises(spine.SpineConnectionError) as info:
        api.call(client.runs.get, R1)
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert len(server.requests) == 2  # retried once, then given up


def test_body_longer_than_content_length_never_leaks_into_the_next_response(
    api: Api, server: FaultServer
) -> None:
    """The bytes after the declared length must not be read as the next request's answer."""
    client = api.client(base_url=server.url, retry_policy=ONE_RETRY)
    good = b'{"success": true, "data": {"run_id": "%b", "status": "running"}}' % R1B
    evil = b'{"success": true, "data": {"run_id": "%b", "status": "completed"}}' % EVIL
    smuggled = b.http_response(200, evil)
    server.script(
        b.raw(b.http_response(200, good) + smuggled, keep=True),
        b.api(),
    )
    first = api.call(client.runs.get, R1)
    assert first.run_id == R1
    try:
        second = api.call(client.runs.get, R1)
    except spine.SpineError:
        return  # refusing is fine too
    assert second.run_id != EVIL.decode()


def test_create_answered_with_garbage_says_the_run_may_exist(api: Api, server: FaultServer) -> None:
    """A 2xx means the server acted: a body the SDK cannot read must not hide the new run."""
    client = api.client(base_url=server.url)
    server.script(b.status(200, body=b"<html>gateway says hi</html>", act=True), b.api())
    with pytest.raises(spine.UnexpectedResponseError) as info:
        _create(api, client)
    err = info.value
    assert err.run_may_exist and err.idempotency_key
    again = _create(api, client, idempotency_key=err.idempotency_key)
    assert server.runs == 1 and again.run_id == server.run_ids[0]  # type: ignore[attr-defined]


def test_html_error_page_from_a_proxy(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url, retry_policy=ONE_RETRY)
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    server.script(b.status(502, body=page, headers=[("Content-Type", "text/html")]))
    with pytest.raises(spine.ServerError) as info:
        api.call(client.runs.get, R1)
    assert info.value.status_code == 502
    assert "502 Bad Gateway" in str(info.value)
    assert info.value.raw_body == page


HOSTILE_BODIES = {
    "not-json": b"Service Unavailable",
    "html": b"<!DOCTYPE html><html><body>Cloudflare</body></html>",
    "empty": b"",
    "truncated": b'{"success": true, "data": {"run_id": "%b", "sta' % R1B,
    "json-array": b"[1, 2, 3]",
    "json-string": b'"ok"',
    "no-data": b'{"success": true}',
    "success-string": b'{"success": "yes", "data": {"run_id": "%b", "status": "running"}}' % R1B,
    "success-false-200": b'{"success": false, "error": "quota exceeded"}',
    "data-wrong-type": b'{"success": true, "data": {"run_id": 7, "status": ["running"]}}',
    "nested-deep": b'{"success": true, "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested-objects": b'{"success": true, "data": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001,
    "huge-number": b'{"success": true, "data": {"run_id": "%b", "status": "x", "duration_ms": '
    % R1B
    + b"9" * 5000
    + b"}}",
    "nan": b'{"success": true, "data": {"run_id": "%b", "status": "x", "duration_ms": NaN}}' % R1B,
    "invalid-utf8": b'{"success": true, "data": {"run_id": "r1\xff\xfe", "status": "x"}}',
    "lone-surrogate-escape": b'{"success": true, "data": {"run_id": "\\ud800", "status": "x"}}',
    "bom": b'\xef\xbb\xbf{"success": true, "data": {"run_id": "%b", "status": "x"}}' % R1B,
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
def test_hostile_2xx_bodies_raise_spine_errors_only(
    api: Api, server: FaultServer, kind: str
) -> None:
    body = HOSTILE_BODIES[kind]
    client = api.client(base_url=server.url)
    server.script(b.raw(b.http_response(200, body), keep=True))
    with pytest.raises(spine.SpineError) as info:
        api.call(client.runs.get, R1)
    assert isinstance(info.value, spine.SpineAPIError) and info.value.status_code == 200
    # The same answer to a create: the server acted, so the run may exist.
    server.script(b.raw(b.http_response(200, body), keep=True))
    with pytest.raises(spine.SpineError) as info:
        _create(api, client)
    assert info.value.run_may_exist and info.value.idempotency_key


@pytest.mark.parametrize("status", [400, 401, 404, 409, 413, 422, 500, 503, 599, 600, 999])
@pytest.mark.parametrize("kind", ["html", "empty", "nested-deep"])
def test_hostile_error_bodies_map_to_the_status(
    api: Api, server: FaultServer, status: int, kind: str
) -> None:
    client = api.client(base_url=server.url, retry_policy=spine.RetryPolicy.none())
    server.script(b.raw(b.http_response(status, HOSTILE_BODIES[kind]), keep=True))
    with pytest.raises(spine.SpineAPIError) as info:
        api.call(client.runs.get, R1)
    assert info.value.status_code == status
    if 500 <= status <= 599:
        assert isinstance(info.value, spine.ServerError)
