"""A loopback upload sink: reads each request body as fast as it arrives and discards it.

It answers every request with the ``POST /v1/run`` success envelope, so an SDK's
``runs.create(prompt, files=[...])`` completes normally, while the server spends as little CPU
as possible per byte (no multipart parsing, no hashing): the upload figure then measures the
client, not the server. HTTP/1.1 with keep-alive; bodies framed by ``Content-Length`` or
``Transfer-Encoding: chunked``.

Prints ``{"url": ...}`` once listening, then reads commands from stdin: ``stats`` answers
``{"bodies": [size of each request body received, in bytes], "framing": ["content-length" or
"chunked", per request]}``; ``quit`` stops.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import uuid

from _util import commands, emit, pin_to_cpu

_MAX_HEAD = 64 * 1024
bodies: list[int] = []
framing: list[str] = []


def _envelope() -> bytes:
    run_id = str(uuid.uuid4())
    data = {
        "run_id": run_id,
        "status": "running",
        "poll_url": f"/v1/run/{run_id}",
        "canvas_id": str(uuid.uuid4()),
        "estimated_duration_ms": 900000,
    }
    return json.dumps({"success": True, "data": data}).encode()


class Sink(asyncio.Protocol):
    """One connection: head, then body (counted and dropped), then the answer; repeat."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.head = bytearray()
        self.state = "head"
        self.remaining = 0  # body bytes left (content-length) or in this chunk (chunked)
        self.line = bytearray()  # a partial chunk-size line
        self.received = 0

    def data_received(self, data: bytes) -> None:
        view = memoryview(data)
        while view.nbytes and not self.transport.is_closing():
            view = self._step(view)

    def _step(self, view: memoryview) -> memoryview:
        if self.state == "head":
            self.head += view
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > _MAX_HEAD:
                    self.transport.close()
                return view[:0]
            rest = bytes(self.head[end + 4 :])
            self._start_body(bytes(self.head[:end]))
            self.head.clear()
            return memoryview(rest)
        if self.state == "length" or self.state == "chunk-data":
            take = min(self.remaining, view.nbytes)
            self.remaining -= take
            self.received += take
            if self.remaining == 0:
                if self.state == "length":
                    self._answer()
                else:
                    self.state = "chunk-crlf"
                    self.remaining = 2
            return view[take:]
        if self.state == "chunk-crlf":
            take = min(self.remaining, view.nbytes)
            self.remaining -= take
            if self.remaining == 0:
                self.state = "chunk-size"
            return view[take:]
        # chunk-size or trailer: a line at a time (lines are short: look at the next 1 KiB)
        data = bytes(view[:1024])
        end = data.find(b"\n")
        if end < 0:
            self.line += data
            if len(self.line) > _MAX_HEAD:
                self.transport.close()
            return view[len(data) :]
        line = (bytes(self.line) + data[:end]).strip()
        self.line.clear()
        if self.state == "chunk-size":
            size = int(line.split(b";", 1)[0], 16)
            if size == 0:
                self.state = "trailer"
            else:
                self.state = "chunk-data"
                self.remaining = size
        elif not line:  # the empty line that ends the trailer
            self._answer()
        return view[end + 1 :]

    def _start_body(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        headers = {}
        for raw in lines[1:]:
            name, _, value = raw.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        self.received = 0
        if b"chunked" in headers.get(b"transfer-encoding", b""):
            framing.append("chunked")
            self.state = "chunk-size"
        else:
            framing.append("content-length")
            self.remaining = int(headers.get(b"content-length", b"0") or 0)
            self.state = "length"
            if self.remaining == 0:
                self._answer()

    def _answer(self) -> None:
        bodies.append(self.received)
        body = _envelope()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"X-Request-ID: req_bench_sink\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        self.state = "head"


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()

    def control() -> None:
        for command in commands():
            if command == "stats":
                emit({"bodies": list(bodies), "framing": list(framing)})
            else:
                emit({"error": f"unknown command {command!r}"})
        loop.call_soon_threadsafe(stop.set)

    emit({"url": f"http://127.0.0.1:{port}"})
    threading.Thread(target=control, daemon=True).start()
    async with server:
        await stop.wait()


if __name__ == "__main__":
    if "--cpu" in sys.argv:
        cpu = int(sys.argv[sys.argv.index("--cpu") + 1])
        if cpu >= 0:
            pin_to_cpu(cpu)
    asyncio.run(serve())
    sys.exit(0)
