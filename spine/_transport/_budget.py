"""The time budget of one attempt, enforced on every socket operation of the SDK's own pools.

httpx has no public hook that bounds a whole request (connect, every read and write) by one
deadline, so :func:`install_budget` wraps the network backend of each httpcore connection pool
an SDK-owned client has (a private attribute of httpcore's pool). Where that shape is not found
it leaves the pool alone and returns False: the drivers' checks between body chunks still hold.
``tests/faults/test_transport.py`` proves the wrapping took effect (a server trickling its
headers byte by byte is cut off at the budget) and the fallback.
"""

from __future__ import annotations

import contextvars
import math
import select
import ssl
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

from spine._transport._pools import connection_pools

__all__ = ["BUDGET", "Budget", "install_budget"]

#: The budget of the attempt running in this context (None outside the SDK's requests).
BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("spine_budget", default=None)


class Budget:
    """When one attempt must be over, as a ``clock()`` value.

    An attempt gets ``total`` seconds (the client's ``timeout``), never past the caller's
    ``deadline`` (``wait()``'s). For an upload the clock starts again when the answer begins to
    arrive: the time spent sending the files does not eat into reading the answer, and writes are
    only bounded by the deadline (a slow uplink is not a reason to give up on a paid run).

    The drivers check it between body chunks, and, on the clients' own connection pools, every
    connect, read and write of the socket is bounded by it (:class:`_BudgetBackend`): a server
    that trickles its headers or body one byte at a time, each within any read timeout, cannot
    hold a call past its budget.
    """

    __slots__ = ("clock", "deadline", "end", "reading", "total", "upload")

    def __init__(
        self, clock: Callable[[], float], total: float, deadline: float | None, upload: bool
    ) -> None:
        self.clock = clock
        self.total = total
        self.deadline = deadline
        self.upload = upload
        self.reading = False
        self.end = self._end_from(clock())
        if upload:
            self.end = math.inf if deadline is None else deadline

    def _end_from(self, now: float) -> float:
        end = now + self.total
        return end if self.deadline is None else min(end, self.deadline)

    def start_reading(self) -> None:
        """The request is sent: an upload's budget for the answer starts now."""
        if not self.reading:
            self.reading = True
            if self.upload:
                self.end = self._end_from(self.clock())

    def left(self) -> float:
        return self.end - self.clock()

    def clamp(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to what is left; None (no limit) when neither limits it."""
        left = self.left()
        if math.isinf(left):
            return timeout
        return left if timeout is None else min(timeout, left)


def _clamped(
    timeout: float | None, error: type[Exception], *, reading: bool = False
) -> float | None:
    budget = BUDGET.get()
    if budget is None:
        return timeout
    if reading:
        budget.start_reading()
    clamped = budget.clamp(timeout)
    if clamped is not None and clamped <= 0:
        raise error("the request's time budget ran out")
    return clamped


class _BudgetStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamped(timeout, httpcore.ReadTimeout, reading=True))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        return _BudgetStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BudgetBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _BudgetStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        return _BudgetStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncBudgetStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: Any = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout = _clamped(timeout, httpcore.ReadTimeout, reading=True)
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, _clamped(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.start_tls(ssl_context, server_hostname, timeout)
        return _AsyncBudgetStream(inner)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # httpcore asks this of every pooled connection each time it schedules a request;
            # anyio answers by building all of a socket's attributes (a getpeername() each
            # time). Asking the socket directly keeps a busy pool's scheduling cheap.
            if self._socket is None:
                self._socket = self._inner.get_extra_info("socket")
            if self._socket is not None:
                return _socket_readable(self._socket)
        return self._inner.get_extra_info(info)


def _socket_readable(sock: Any) -> bool:
    """True when the idle connection has data or was closed (so it cannot be reused)."""
    try:
        if sock.fileno() < 0:
            return True
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready)
    except (OSError, ValueError):
        return True


class _AsyncBudgetBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _AsyncBudgetStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return _AsyncBudgetStream(inner)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def install_budget(http: httpx.Client | httpx.AsyncClient) -> bool:
    """Bound every socket operation of an SDK-owned ``http`` client by the current attempt's
    :class:`Budget`. httpx has no public hook for this, so the network backend of each of its
    connection pools (the default one and any proxy mounts) is wrapped; a pool of another
    shape is left alone (the drivers' checks between body chunks still apply). Returns True
    when every pool was wrapped."""
    complete = True
    for pool in connection_pools(http):
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, _BudgetBackend | _AsyncBudgetBackend):
            continue
        if isinstance(backend, httpcore.NetworkBackend):
            pool._network_backend = _BudgetBackend(backend)
        elif isinstance(backend, httpcore.AsyncNetworkBackend):
            pool._network_backend = _AsyncBudgetBackend(backend)
        else:
            complete = False
    return complete
