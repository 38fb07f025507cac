"""A small loopback HTTP server that misbehaves on purpose, for the fault tests.

The sandbox (``spine.testing.Sandbox``) covers the faults an API can show on the wire (statuses,
``Retry-After``, delays, trickled bodies, dropped connections). This server covers what lies below
that: a connection reset half-way through a body, response headers that trickle in, a stall
after the headers, a wrong ``Content-Length``, a gzip bomb, a redirect to another host.

Requests are parsed with h11 (one thread per connection); every response is written as raw bytes
by a *behaviour*, so that it can break the protocol in any way. Behaviours are queued with
:meth:`FaultServer.script` and taken one per request (the last one repeats). The server also plays
a minimal Spine API for the behaviour :func:`api`: ``POST /v1/run`` creates a run (honouring
``Idempotency-Key``: the same key gives the same run), ``GET /v1/run/{id}`` answers ``running``
until :meth:`FaultServer.finish` is called. ``runs`` counts the runs created on the server side.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import socket
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import h11

__all__ = ["FaultServer", "Request"]


@dataclass
class Request:
    """One request the server received (the body in full)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Behaviour = Callable[["FaultServer", socket.socket, Request], bool]
"""Answer ``request`` on ``sock``; return True to keep the connection open for more requests."""


@dataclass
class _Run:
    run_id: str
    key: str | None
    status: str = "running"


@dataclass
class FaultServer:
    """A threaded loopback server; use as a context manager. ``url`` is its base URL."""

    host: str = "127.0.0.1"
    requests: list[Request] = field(default_factory=list)
    _behaviours: list[Behaviour] = field(default_factory=list)
    _runs: dict[str, _Run] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _sock: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _conns: list[socket.socket] = field(default_factory=list)
    _connections: int = 0

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FaultServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(256)
        sock.settimeout(0.05)
        self._sock = sock
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() at once
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ------------------------------------------------------------------ scripting

    def script(self, *behaviours: Behaviour) -> FaultServer:
        """Answer the next requests with these behaviours, in order (the last one repeats);
        replaces what was scripted before."""
        with self._lock:
            self._behaviours[:] = behaviours
        return self

    @property
    def runs(self) -> int:
        """Runs created on the server side (an idempotent replay does not count)."""
        with self._lock:
            return len(self._runs)

    @property
    def run_ids(self) -> list[str]:
        with self._lock:
            return list(self._runs)

    def finish(self, status: str = "completed") -> None:
        with self._lock:
            for run in self._runs.values():
                run.status = status

    def creates(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it stopped."""
        return self._stop.wait(seconds)

    # ------------------------------------------------------------------ the minimal API

    def act(self, request: Request) -> tuple[int, dict[str, Any]]:
        """What the Spine API would answer (status, envelope); creates runs."""
        if request.method == "POST" and request.path == "/v1/run":
            key = request.headers.get("idempotency-key")
            with self._lock:
                if key is not None and key in self._keys:
                    run = self._runs[self._keys[key]]
                else:
                    run = _Run(str(uuid.uuid4()), key)
                    self._runs[run.run_id] = run
                    if key is not None:
                        self._keys[key] = run.run_id
            data: dict[str, Any] = {
                "run_id": run.run_id,
                "status": "running",
                "poll_url": f"/v1/run/{run.run_id}",
                "estimated_duration_ms": 1000,
            }
            return 200, {"success": True, "data": data}
        if request.method == "GET" and request.path.startswith("/v1/run/"):
            run_id = request.path.rsplit("/", 1)[-1]
            with self._lock:
                found = self._runs.get(run_id)
            if found is None:
                return 404, {"success": False, "error": f"Run not found: {run_id}"}
            data = {"run_id": found.run_id, "status": found.status}
            if found.status in ("completed", "partial"):
                data["result"] = {"final_output": "done", "artifacts": []}
            if found.status == "failed":
                data["errors"] = [{"error": "boom"}]
            return 200, {"success": True, "data": data}
        return 404, {"success": False, "error": "Not found"}

    # ------------------------------------------------------------------ plumbing

    def _next_behaviour(self) -> Behaviour:
        with self._lock:
            if len(self._behaviours) > 1:
                return self._behaviours.pop(0)
            if self._behaviours:
                return self._behaviours[0]
        return api()

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._connections += 1
                number = self._connections
                self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn, number), daemon=True)
            thread.start()
            with self._lock:
                self._threads.append(thread)

    def _read_request(
        self, conn: socket.socket, buffer: bytes, number: int
    ) -> tuple[Request | None, bytes]:
        parser = h11.Connection(h11.SERVER)
        if buffer:
            parser.receive_data(buffer)
        method = target = ""
        headers: dict[str, str] = {}
        body = bytearray()
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return None, b""
                parser.receive_data(data)
                if not data:
                    return None, b""
                continue
            if isinstance(event, h11.Request):
                method = event.method.decode()
                target = event.target.decode("latin-1")
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                leftover, _closed = parser.trailing_data
                return Request(method, target, headers, bytes(body), number), leftover
            elif isinstance(event, h11.ConnectionClosed):
                return None, b""

    def _serve(self, conn: socket.socket, number: int) -> None:
        conn.settimeout(30)
        leftover = b""
        try:
            while not self._stop.is_set():
                try:
                    request, leftover = self._read_request(conn, leftover, number)
                except h11.RemoteProtocolError:
                    return
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                behaviour = self._next_behaviour()
                try:
                    keep = behaviour(self, conn, request)
                except OSError:
                    return
                if not keep:
                    return
        finally:
            with contextlib.suppress(OSError):
                conn.close()


# ----------------------------------------------------------------------------- behaviours


def http_response(
    status: int,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
    *,
    content_length: int | None = None,
    reason: str = "X",
) -> bytes:
    """The raw bytes of a response (``content_length`` may lie)."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    extra = list(headers or [])
    if not any(k.lower() == "content-type" for k, _ in extra):
        extra.append(("Content-Type", "application/json"))
    length = len(body) if content_length is None else content_length
    extra.append(("Content-Length", str(length)))
    lines += [f"{k}: {v}" for k, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _envelope_bytes(data: Any) -> bytes:
    return json.dumps(data).encode()


def api(headers: list[tuple[str, str]] | None = None) -> Behaviour:
    """Answer like the Spine API (see :meth:`FaultServer.act`)."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        status, envelope = server.act(request)
        sock.sendall(http_response(status, _envelope_bytes(envelope), headers))
        return True

    return run


def status(
    code: int,
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    act: bool = False,
) -> Behaviour:
    """Answer with ``code`` (an error envelope unless ``body``); ``act`` creates the run first."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        if act:
            server.act(request)
        payload = (
            body
            if body is not None
            else _envelope_bytes({"success": False, "error": f"injected {code}"})
        )
        sock.sendall(http_response(code, payload, headers))
        return True

    return run


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def reset(*, act: bool = False) -> Behaviour:
    """Reset the connection without answering (after acting on the request when ``act``)."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        if act:
            server.act(request)
        _reset(sock)
        return False

    return run


def reset_mid_body(*, act: bool = True, fraction: float = 0.5) -> Behaviour:
    """Send the headers and part of the real answer, then reset the connection."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        status_code, envelope = server.act(request) if act else (200, {"success": True, "data": {}})
        raw = http_response(status_code, _envelope_bytes(envelope))
        head, _, body = raw.partition(b"\r\n\r\n")
        sock.sendall(head + b"\r\n\r\n" + body[: int(len(body) * fraction)])
        time.sleep(0.02)
        _reset(sock)
        return False

    return run


def stall(*, after_headers: bool = False, act: bool = False) -> Behaviour:
    """Never answer (or answer the headers and then nothing) until the server stops."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        if act:
            server.act(request)
        if after_headers:
            sock.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
        server.sleep(60)
        return False

    return run


def trickle(*, interval: float, chunk: int = 1, headers_too: bool = False) -> Behaviour:
    """Send the real answer ``chunk`` bytes at a time, ``interval`` seconds apart (the body
    only, or the whole response with ``headers_too``), until done or the client leaves."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        status_code, envelope = server.act(request)
        raw = http_response(status_code, _envelope_bytes(envelope) + b" " * 4096)
        start = 0 if headers_too else raw.index(b"\r\n\r\n") + 4
        sock.sendall(raw[:start])
        for i in range(start, len(raw), chunk):
            if server.sleep(interval):
                return False
            try:
                sock.sendall(raw[i : i + chunk])
            except OSError:
                return False
        return True

    return run


def raw(data: bytes | Callable[[Request], bytes], *, keep: bool = False) -> Behaviour:
    """Send these exact bytes (or the bytes made from the request), then close unless ``keep``."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        sock.sendall(data(request) if callable(data) else data)
        return keep

    return run


def redirect(location: str, code: int = 307) -> Behaviour:
    return status(
        code,
        headers=[("Location", location)],
        body=b'{"success": false, "error": "moved"}',
    )


@functools.lru_cache(maxsize=2)
def _bomb(expanded: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    pieces = []
    block = b"\0" * (1024 * 1024)
    for _ in range(expanded // len(block)):
        pieces.append(compressor.compress(block))
    pieces.append(compressor.flush())
    return b"".join(pieces)


def gzip_bomb(expanded: int) -> Behaviour:
    """A 200 whose gzip body expands to ``expanded`` zero bytes."""
    payload = _bomb(expanded)

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        headers = [("Content-Encoding", "gzip")]
        sock.sendall(http_response(200, payload, headers))
        return True

    return run


def gzipped(behaviour_body: bytes) -> Behaviour:
    payload = gzip.compress(behaviour_body)

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        sock.sendall(http_response(200, payload, [("Content-Encoding", "gzip")]))
        return True

    return run


def huge_body(size: int, *, chunk: int = 1024 * 1024) -> Behaviour:
    """A 200 that declares and streams ``size`` bytes of JSON-ish filler."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        head = http_response(200, b"", content_length=size)
        sock.sendall(head)
        sent = 0
        piece = b" " * chunk
        try:
            while sent < size and not server._stop.is_set():
                n = min(chunk, size - sent)
                sock.sendall(piece[:n])
                sent += n
        except OSError:
            pass
        return False

    return run


def chunks(parts: Iterator[bytes]) -> Behaviour:
    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        for part in parts:
            sock.sendall(part)
        return False

    return run
