"""The scheduler of the SDK's own httpcore connection pools: linear, and safe under threads.

On every request, and again when each response is closed, httpcore 1.x's pool walks its
connections under its lock: it drops closed, expired and surplus idle ones, then hands queued
requests a connection. Three things make that walk costly or unsafe for a client shared by
many threads, and :func:`install_lean_pool` gives an SDK-owned pool a scheduler without them:

* **Quadratic cost.** httpcore counts the pool's connections by building a list of them for
  every idle connection: with 64 idle keep-alive connections (64 polling threads) one walk took
  about 600 µs, twice per request. Here the count is kept as the walk goes (about 20 µs).
* **A system call per idle connection.** Whether an idle connection expired includes asking
  its socket whether the server closed it. Here a connection is asked just before it is handed
  out (so a connection the server closed is never reused), and all idle connections are asked
  on a sweep at most every :data:`SWEEP_EVERY` seconds (so those the server closed are still
  closed on this side soon after).
* **Closing a connection under the request that holds it.** A connection handed to a queued
  request stays idle until that request's thread starts sending; meanwhile httpcore's walk in
  another thread may close it (as a surplus idle connection, to make room, or as "expired"
  because the answer to the request that holds it is already arriving), which fails or hangs
  that request (httpcore issue #1110, "Connection pool can close a connection it has already
  assigned to a queued request"). Here a connection held by a request in the pool is never
  asked, closed or handed out again until that request leaves the pool.

Otherwise the decisions are httpcore's: a closed connection is dropped; an expired one is
dropped and closed; an idle one is dropped and closed while the pool holds more connections
than ``max_keepalive_connections`` (httpcore compares the count of all connections, active ones
included, with that limit, and so does this); each queued request, in order, gets the first
connection that can serve its origin and is available, else a new connection while the pool is
below ``max_connections``, else one made by closing the first idle connection, else it waits.

Only HTTP/1.1 pools of httpcore's own classes with the state this reads are changed; any other
pool (another httpcore major version, HTTP/2, an injected transport, a subclass of the caller's)
is left alone and :func:`install_lean_pool` returns False. ``tests/faults/test_transport_pool.py``
(real connections) and ``tests/property/test_pool_scheduler.py`` (the decisions, against
httpcore's own scheduler) prove it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpcore
import httpx

from spine._transport._pools import connection_pools

__all__ = ["SWEEP_EVERY", "install_lean_pool"]

#: Seconds between two walks that ask every idle connection whether it expired.
SWEEP_EVERY = 1.0


def _assign(pool: Any) -> list[Any]:
    """The scheduler: called by httpcore with the pool's lock held. Returns the connections the
    caller must close (outside the lock)."""
    closing: list[Any] = []
    connections: list[Any] = pool._connections
    requests: list[Any] = pool._requests
    keepalive = pool._max_keepalive_connections
    # A connection a request holds (in use, or handed out and about to be used) belongs to that
    # request's thread until the request leaves the pool: it is neither asked, closed nor handed
    # out again here. (httpcore's scheduler asks it whether the server closed it, and a response
    # arriving for the request that holds it makes it look so.)
    held = {id(r.connection) for r in requests if r.connection is not None}
    now = time.monotonic()
    sweep = now - pool._swept_at >= pool.sweep_every
    if sweep:
        pool._swept_at = now
    if connections:
        kept: list[Any] = []
        count = len(connections)
        for connection in connections:
            if connection.is_closed():
                count -= 1
            elif id(connection) in held:
                kept.append(connection)
            elif connection.is_idle():
                # An idle connection's expiry check asks its socket whether the server closed
                # it: a system call, made here on a sweep and always before reuse (below).
                if count > keepalive or (sweep and connection.has_expired()):
                    count -= 1
                    closing.append(connection)
                else:
                    kept.append(connection)
            elif connection.has_expired():
                count -= 1
                closing.append(connection)
            else:
                kept.append(connection)
        if count != len(connections):
            connections[:] = kept

    for pool_request in requests:
        if not pool_request.is_queued():
            continue
        origin = pool_request.request.url.origin
        chosen = None
        index = 0
        while index < len(connections):
            connection = connections[index]
            if (
                id(connection) not in held
                and connection.can_handle_request(origin)
                and connection.is_available()
            ):
                if not connection.has_expired():
                    chosen = connection
                    break
                del connections[index]  # expired or closed by the server: never reused
                closing.append(connection)
                continue
            index += 1
        if chosen is None:
            if len(connections) >= pool._max_connections:
                idle = next((c for c in connections if c.is_idle() and id(c) not in held), None)
                if idle is None:
                    continue  # stays queued until a connection frees up
                connections.remove(idle)
                closing.append(idle)
            chosen = pool.create_connection(origin)
            connections.append(chosen)
        held.add(id(chosen))
        pool_request.assign_to_connection(chosen)
    return closing


class _LeanPool(httpcore.ConnectionPool):
    """httpcore's sync pool with the one-pass scheduler."""

    sweep_every = SWEEP_EVERY
    _swept_at = -math.inf

    def _assign_requests_to_connections(self) -> list[Any]:
        return _assign(self)


class _AsyncLeanPool(httpcore.AsyncConnectionPool):
    """httpcore's async pool with the one-pass scheduler."""

    sweep_every = SWEEP_EVERY
    _swept_at = -math.inf

    def _assign_requests_to_connections(self) -> list[Any]:
        return _assign(self)


_LEAN: dict[type, type] = {
    httpcore.ConnectionPool: _LeanPool,
    httpcore.AsyncConnectionPool: _AsyncLeanPool,
}
_NEEDED = (
    "_connections",
    "_requests",
    "_max_keepalive_connections",
    "_max_connections",
    "_optional_thread_lock",
    "_http2",
)


def _shaped(pool: Any) -> bool:
    """The pool has the state the scheduler reads, with the types it expects."""
    if not all(hasattr(pool, name) for name in _NEEDED):
        return False
    limits = (pool._max_keepalive_connections, pool._max_connections)
    return (
        pool._http2 is False  # HTTP/1.1 only: one request per connection at a time
        and isinstance(pool._connections, list)
        and isinstance(pool._requests, list)
        and all(isinstance(limit, int) for limit in limits)
        and callable(getattr(pool, "create_connection", None))
    )


def install_lean_pool(http: httpx.Client | httpx.AsyncClient) -> bool:
    """Give each httpcore pool of an SDK-owned ``http`` client (the default transport and any
    proxy mounts) the one-pass scheduler. A pool of another class or shape is left alone.
    Returns True when every pool has it."""
    complete = True
    for pool in connection_pools(http):
        if type(pool) in _LEAN.values():
            continue
        lean = _LEAN.get(type(pool))
        if lean is None or not _shaped(pool):
            complete = False
            continue
        pool.__class__ = lean
    return complete
