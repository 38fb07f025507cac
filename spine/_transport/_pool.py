"""A linear-time scheduler for the SDK's own httpcore connection pools.

On every request, and again when each response is closed, httpcore's pool walks its connections
to drop closed, expired and surplus idle ones, then hands queued requests a connection. Its
surplus check counts the pool's connections by building a list of them for every idle
connection, so one walk costs (idle connections x connections): with 60 idle keep-alive
connections (a client shared by 64 polling threads) a walk took about 600 µs, under the pool's
lock, twice per request. :func:`install_lean_pool` gives an SDK-owned pool a scheduler that makes
the same decisions in one pass (about 100 µs for the same pool).

The decisions are httpcore 1.x's, kept exactly: a closed connection is dropped; an expired one
is dropped and closed; an idle one is dropped and closed while the pool holds more connections
than ``max_keepalive_connections`` (httpcore compares the number of all connections, active
ones included, with that limit, and so does this); then each queued request, in order, gets the
first connection that can serve its origin and is available, else a new connection when the
pool is below ``max_connections``, else one made by closing the first idle connection, else it
stays queued. Only the walk's cost differs.

Where the pool is not of the shape this relies on (another httpcore major version, an injected
transport), it is left alone and :func:`install_lean_pool` returns False.
``tests/faults/test_transport.py`` proves that it takes effect, that the pool keeps, reuses and
closes connections as httpcore's own scheduler does, and the fallback.
"""

from __future__ import annotations

import math
import time
from typing import Any

import httpcore
import httpx

__all__ = ["SWEEP_EVERY", "install_lean_pool"]

#: Seconds between two walks that ask every idle connection whether it expired.
SWEEP_EVERY = 1.0


def _assign(pool: Any) -> list[Any]:
    """The scheduler: called by httpcore with the pool's lock held. Returns the connections the
    caller must close (outside the lock)."""
    closing: list[Any] = []
    connections: list[Any] = pool._connections
    keepalive = pool._max_keepalive_connections
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

    for pool_request in pool._requests:
        if not pool_request.is_queued():
            continue
        origin = pool_request.request.url.origin
        chosen = None
        index = 0
        while index < len(connections):
            connection = connections[index]
            if connection.can_handle_request(origin) and connection.is_available():
                if not connection.has_expired():
                    chosen = connection
                    break
                del connections[index]  # expired or closed by the server: never reused
                closing.append(connection)
                continue
            index += 1
        if chosen is None:
            if len(connections) >= pool._max_connections:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is None:
                    continue  # stays queued until a connection frees up
                connections.remove(idle)
                closing.append(idle)
            chosen = pool.create_connection(origin)
            connections.append(chosen)
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
)


def _shaped(pool: Any) -> bool:
    """The pool has the state the scheduler reads, with the types it expects."""
    if not all(hasattr(pool, name) for name in _NEEDED):
        return False
    limits = (pool._max_keepalive_connections, pool._max_connections)
    return (
        isinstance(pool._connections, list)
        and isinstance(pool._requests, list)
        and all(isinstance(limit, int) for limit in limits)
        and callable(getattr(pool, "create_connection", None))
    )


def install_lean_pool(http: httpx.Client | httpx.AsyncClient) -> bool:
    """Give each httpcore pool of an SDK-owned ``http`` client (the default transport and any
    proxy mounts) the one-pass scheduler. A pool of another class or shape is left alone.
    Returns True when every pool has it."""
    transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    complete = True
    for transport in transports:
        if transport is None:
            continue
        pool = getattr(transport, "_pool", None)
        if type(pool) in _LEAN.values():
            continue
        lean = _LEAN.get(type(pool))
        if lean is None or not _shaped(pool):
            complete = False
            continue
        pool.__class__ = lean
    return complete
