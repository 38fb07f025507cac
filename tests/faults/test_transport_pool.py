"""The SDK's pool scheduler (``spine/_transport/_pool.py``): it is installed on the SDK's own
pools and nowhere else, it keeps, reuses, queues and closes connections as httpcore's own
scheduler does (the same workloads run on a stock pool for comparison), and an idle connection
the server closed is never handed out, even between sweeps."""

from __future__ import annotations

import functools
import math
import select
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpcore
import httpx
import pytest

import spine
from spine._transport import install_lean_pool
from spine._transport._pool import _AsyncLeanPool, _LeanPool

from . import _server as b
from ._server import FaultServer, Request
from .conftest import Api


def _pool(http: httpx.Client | httpx.AsyncClient) -> Any:
    return http._transport._pool  # type: ignore[union-attr]


def _held(barrier: threading.Barrier) -> b.Behaviour:
    """Answer like the API once ``barrier.parties`` requests are in (each on its own
    connection), so that the client has that many requests in flight at once."""

    def run(server: FaultServer, sock: Any, request: Request) -> bool:
        barrier.wait(timeout=10)
        return b.api()(server, sock, request)

    return run


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying context for every client of these tests (they speak plain http)."""
    return ssl.create_default_context()


def _client(kind: str, *, max_connections: int, keepalive: int) -> httpx.Client:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive)
    http = httpx.Client(limits=limits, verify=_tls())
    if kind == "lean":
        assert install_lean_pool(http) is True
        assert type(_pool(http)) is _LeanPool
    else:
        assert type(_pool(http)) is httpcore.ConnectionPool
    return http


def _get_all(http: httpx.Client, url: str, count: int) -> list[int]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: http.get(url).status_code, range(count)))


# ----------------------------------------------------------------------------- installation


def test_the_sdk_clients_get_the_lean_scheduler() -> None:
    sync = spine.SpineClient(api_key="sk_spine_x", base_url="http://127.0.0.1:9")
    asynchronous = spine.AsyncSpineClient(api_key="sk_spine_x", base_url="http://127.0.0.1:9")
    assert type(_pool(sync._runtime.http)) is _LeanPool
    assert type(_pool(asynchronous._runtime.http)) is _AsyncLeanPool
    assert isinstance(_pool(sync._runtime.http), httpcore.ConnectionPool)
    sync.close()


def test_every_pool_of_a_client_is_covered_and_installing_twice_is_harmless() -> None:
    http = httpx.Client(mounts={"http://proxied.example": httpx.HTTPTransport()})
    assert install_lean_pool(http) is True
    pools = [_pool(http), *(m._pool for m in http._mounts.values())]  # type: ignore[attr-defined,union-attr]
    assert [type(p) for p in pools] == [_LeanPool, _LeanPool]
    assert install_lean_pool(http) is True
    http.close()


def test_an_injected_client_is_left_alone() -> None:
    mine = httpx.Client()
    client = spine.SpineClient(
        api_key="sk_spine_x", base_url="http://127.0.0.1:9", http_client=mine
    )
    assert type(_pool(client._runtime.http)) is httpcore.ConnectionPool
    mine.close()


def test_a_pool_of_another_shape_is_left_alone_and_reported() -> None:
    mocked = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert install_lean_pool(mocked) is False

    class TracingPool(httpcore.ConnectionPool):
        """A pool subclass of the caller's: its scheduler may be its own."""

    http = httpx.Client()
    http._transport._pool = TracingPool()  # type: ignore[attr-defined]
    assert install_lean_pool(http) is False
    assert type(_pool(http)) is TracingPool

    odd = httpx.Client()
    del _pool(odd)._max_keepalive_connections  # a future httpcore that renamed its state
    assert install_lean_pool(odd) is False
    assert type(_pool(odd)) is httpcore.ConnectionPool


# ----------------------------------------------------------------------------- same decisions


@pytest.mark.parametrize("kind", ["httpcore", "lean"])
def test_surplus_idle_connections_are_closed_down_to_the_keepalive_limit(
    kind: str, server: FaultServer
) -> None:
    http = _client(kind, max_connections=10, keepalive=2)
    server.script(_held(threading.Barrier(4)))
    assert _get_all(http, f"{server.url}/v1/run/none", 4) == [404] * 4
    assert server._connections == 4
    assert len(_pool(http).connections) == 2
    assert all(c.is_idle() for c in _pool(http).connections)

    server.script(b.api())
    assert http.get(f"{server.url}/v1/run/none").status_code == 404
    assert server._connections == 4  # reused a kept connection
    http.close()


def test_requests_over_the_connection_limit_wait_their_turn(server: FaultServer) -> None:
    http = _client("lean", max_connections=2, keepalive=2)
    server.script(b.api())
    assert _get_all(http, f"{server.url}/v1/run/none", 12) == [404] * 12
    assert server._connections == 2
    assert len(_pool(http).connections) == 2
    http.close()


@pytest.mark.parametrize("kind", ["httpcore", "lean"])
def test_at_the_connection_limit_an_idle_connection_to_another_origin_makes_room(
    kind: str, server: FaultServer, other_server: FaultServer
) -> None:
    http = _client(kind, max_connections=1, keepalive=1)
    assert http.get(f"{server.url}/v1/run/none").status_code == 404
    assert http.get(f"{other_server.url}/v1/run/none").status_code == 404
    origins = [c._origin.port for c in _pool(http).connections]
    assert origins == [other_server.port]
    http.close()


# ----------------------------------------------------------------------------- dead connections


def _wait_readable(connection: Any) -> None:
    """Block until the server's close has reached the client's socket (an I/O event)."""
    ready, _, _ = select.select([_socket(connection)], [], [], 5.0)
    assert ready, "the server's close never reached the client"


def _answer_then_close() -> b.Behaviour:
    """A valid answer, then the server closes the connection without saying so beforehand
    (no ``Connection: close``): the client still holds it as an idle keep-alive connection."""

    def run(server: FaultServer, sock: Any, request: Request) -> bool:
        b.api()(server, sock, request)
        return False

    return run


def test_an_idle_connection_the_server_closed_is_never_reused_between_sweeps(
    api: Api, server: FaultServer
) -> None:
    client = api.client(base_url=server.url, retry_policy=spine.RetryPolicy.none())
    pool = _pool(client._runtime.http)
    handle = api.call(client.runs.create, "Summarise Q1")
    server.script(_answer_then_close(), b.api())
    api.call(client.runs.get, handle.run_id)
    [idle] = pool.connections
    _wait_readable(idle)

    pool.sweep_every = math.inf  # no sweep: only the check before reuse stands in the way
    state = api.call(client.runs.get, handle.run_id)  # no retries: a dead connection would fail
    assert state.run_id == handle.run_id
    assert [r.connection for r in server.requests] == [1, 1, 2]
    assert idle.is_closed()


def test_a_sweep_closes_dead_idle_connections_that_are_not_picked(server: FaultServer) -> None:
    http = _client("lean", max_connections=10, keepalive=10)
    server.script(_held(threading.Barrier(2)))
    assert _get_all(http, f"{server.url}/v1/run/none", 2) == [404, 404]
    server.script(b.api())
    live, dead = _pool(http).connections
    # The server closes the second idle connection; requests keep picking the first one.
    port = _socket(dead).getsockname()[1]
    with server._lock:
        victim = next(s for s in server._conns if _peer_port(s) == port)
    victim.shutdown(socket.SHUT_RDWR)
    _wait_readable(dead)

    _pool(http).sweep_every = math.inf
    assert http.get(f"{server.url}/v1/run/none").status_code == 404
    assert _pool(http).connections == [live, dead]  # not picked, not swept: still held

    _pool(http).sweep_every = 0.0  # the next walk is a sweep
    assert http.get(f"{server.url}/v1/run/none").status_code == 404
    assert _pool(http).connections == [live]
    assert dead.is_closed()
    http.close()


def _socket(connection: Any) -> socket.socket:
    sock: socket.socket = connection._connection._network_stream.get_extra_info("socket")
    return sock


def _peer_port(sock: socket.socket) -> int | None:
    try:
        return int(sock.getpeername()[1])
    except OSError:
        return None


def test_many_threads_share_one_client_without_errors(server: FaultServer) -> None:
    """64 threads polling through one SDK client: every answer arrives, about its own run."""
    client = spine.SpineClient(api_key="sk_spine_threads", base_url=server.url)
    handles = [client.runs.create(f"run {i}") for i in range(64)]
    barrier = threading.Barrier(64)

    def poll(handle: Any) -> list[str]:
        barrier.wait(timeout=10)
        return [client.runs.get(handle.run_id).run_id for _ in range(5)]

    with ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(poll, handles))
    assert answers == [[h.run_id] * 5 for h in handles]
    assert len(_pool(client._runtime.http).connections) <= 64
    client.close()


@pytest.mark.slow
def test_a_connection_held_by_a_request_is_never_closed_under_it(server: FaultServer) -> None:
    """Twelve threads through two connections, many times over: a connection handed to a
    waiting request is idle until that request's thread starts sending, and must not be closed
    meanwhile by another thread's walk. httpcore's own scheduler fails here about once in 100
    rounds with "Bad file descriptor" (httpcore issue #1110); a scheduler that asks or closes a
    held connection, in about one round in 50. The rule itself is proven deterministically in
    tests/property/test_pool_scheduler.py; this shows it on real sockets."""
    server.script(b.api())
    for _ in range(250):
        http = _client("lean", max_connections=2, keepalive=2)
        assert _get_all(http, f"{server.url}/v1/run/none", 12) == [404] * 12
        http.close()
