"""A small HTTP/1.1 server: asyncio streams driving h11's sans-I/O protocol state machine.

One task per connection, keep-alive, request bodies handed to the application as a stream of
chunks (never buffered whole), ``Expect: 100-continue`` honoured, and responses that can be
delayed, trickled or dropped for fault injection. No threads per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import h11

__all__ = ["BodyStream", "ClientGone", "HttpRequest", "HttpResponse", "HttpServer"]

log = logging.getLogger("spine.testing")

_READ_SIZE = 256 * 1024
_IDLE_TIMEOUT = 300.0
_MAX_HEAD = 64 * 1024


_date_cache: tuple[int, bytes] = (0, b"")


def _http_date() -> bytes:
    """The ``Date`` header value, formatted at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]


class ClientGone(Exception):
    """The client closed the connection (or broke the protocol) mid-request."""


@dataclass
class HttpRequest:
    method: str
    target: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    """Header names lower-cased, values decoded as latin-1, in the order received."""
    connection: int = 0
    """A serial number of the TCP connection the request came on (1, 2, ...)."""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    trickle: tuple[float, int] | None = None
    """(seconds between chunks, chunk size) to send the body slowly."""
    drop: bool = False
    """Close the connection without sending anything."""


Handler = Callable[[HttpRequest, "BodyStream"], Awaitable[HttpResponse]]


class BodyStream:
    """The body of the current request, read chunk by chunk from the connection."""

    def __init__(self, conn: h11.Connection, connection: _Connection) -> None:
        self._conn = conn
        self._connection = connection
        self.finished = False
        self.received = 0

    async def read(self) -> bytes | None:
        """The next chunk of the body, or None at its end."""
        if self.finished:
            return None
        if self._conn.they_are_waiting_for_100_continue:
            await self._connection.send(h11.InformationalResponse(status_code=100, headers=[]))
        while True:
            event = await self._connection.next_event()
            if isinstance(event, h11.Data):
                self.received += len(event.data)
                return bytes(event.data)
            if isinstance(event, h11.EndOfMessage):
                self.finished = True
                return None
            raise ClientGone(f"unexpected {type(event).__name__} while reading the body")

    async def drain(self) -> int:
        """Read and discard the rest of the body; returns how many bytes were discarded."""
        dropped = 0
        while (chunk := await self.read()) is not None:
            dropped += len(chunk)
        return dropped


class _Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: Handler,
        serial: int,
    ) -> None:
        self.serial = serial
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD)

    async def next_event(self, idle: float | None = None) -> h11.Event | type[h11.PAUSED]:
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(str(exc)) from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            try:
                if idle is None:
                    data = await self.reader.read(_READ_SIZE)
                else:
                    async with asyncio.timeout(idle):
                        data = await self.reader.read(_READ_SIZE)
            except (ConnectionError, TimeoutError) as exc:
                raise ClientGone(str(exc)) from exc
            try:
                self.conn.receive_data(data)
            except h11.RemoteProtocolError as exc:
                raise ClientGone(str(exc)) from exc

    async def send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def respond(self, response: HttpResponse, head_only: bool) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        headers.append((b"Date", _http_date()))
        headers.append((b"Server", b"spine-sandbox"))
        headers.append((b"Content-Length", str(len(response.body)).encode("ascii")))
        out = self.conn.send(h11.Response(status_code=response.status, headers=headers)) or b""
        body = b"" if head_only else response.body
        if response.trickle is None or not body:
            if body:
                out += self.conn.send(h11.Data(data=body)) or b""
            out += self.conn.send(h11.EndOfMessage()) or b""
            self.writer.write(out)
            await self.writer.drain()
            return
        interval, size = response.trickle
        self.writer.write(out)
        await self.writer.drain()
        for start in range(0, len(body), size):
            await self.send(h11.Data(data=body[start : start + size]))
            await asyncio.sleep(interval)
        await self.send(h11.EndOfMessage())

    async def serve(self) -> None:
        while True:
            event = await self.next_event(idle=_IDLE_TIMEOUT)
            if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return
            if not isinstance(event, h11.Request):
                return
            target = event.target.decode("latin-1")
            path, _, query = target.partition("?")
            request = HttpRequest(
                method=event.method.decode("ascii").upper(),
                target=target,
                path=path,
                query=query,
                headers=[(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in
                         event.headers],
                connection=self.serial,
            )
            body = BodyStream(self.conn, self)
            response = await self.handler(request, body)
            if response.drop:
                return
            if not body.finished:
                await body.drain()
            await self.respond(response, head_only=request.method == "HEAD")
            if self.conn.our_state is h11.MUST_CLOSE or self.conn.their_state is h11.MUST_CLOSE:
                return
            try:
                self.conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def bad_request(self, message: str) -> None:
        # h11 lets a server answer from IDLE too: a request so broken it never parsed.
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = ('{"success":false,"error":' + json.dumps(message) + "}").encode("utf-8")
        response = HttpResponse(
            400,
            [
                ("Content-Type", "application/json"),
                ("X-Request-ID", "req_" + secrets.token_hex(12)),
                ("Connection", "close"),
            ],
            body,
        )
        with contextlib.suppress(Exception):
            await self.respond(response, head_only=False)


class HttpServer:
    """Serve ``handler`` on ``host:port`` (port 0 picks a free port) until :meth:`close`."""

    def __init__(self, handler: Handler, host: str, port: int, backlog: int = 4096) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._backlog = backlog
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._serial = 0
        self.address: tuple[str, int] = (host, port)

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(
            self._on_connection,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
            limit=_READ_SIZE,
        )
        sockname = self._server.sockets[0].getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        return self.address

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._serial += 1
        connection = _Connection(reader, writer, self._handler, self._serial)
        try:
            await connection.serve()
        except ClientGone as exc:
            await connection.bad_request(f"Malformed request: {exc}")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # The server is closing. This coroutine is the connection's top-level task: ending
            # it normally keeps asyncio's stream callback from logging the cancellation.
            pass
        except Exception:
            log.exception("sandbox: unexpected error while serving a connection")
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        # Connections parked in a handler (a delay fault, a slow upload) are cancelled.
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)
        self._server = None
