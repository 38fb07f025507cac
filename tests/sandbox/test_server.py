"""The HTTP layer: start-up time, keep-alive, concurrency, streaming uploads, raw protocol."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from spine.testing import Sandbox


def test_starts_and_stops_cleanly() -> None:
    # Start-up time is a performance target: benchmarks/sandbox_load.py measures it.
    box = Sandbox().start()
    try:
        assert box.startup_seconds is not None
        assert box.url.startswith("http://127.0.0.1:")
        assert httpx.get(box.url + "/_sandbox/health").json() == {
            "success": True, "data": {"status": "ok"}
        }
        with pytest.raises(RuntimeError, match="already running"):
            box.start()
    finally:
        box.stop()
    box.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(box.url + "/_sandbox/health", timeout=1)


def test_stop_while_a_response_is_delayed() -> None:
    box = Sandbox().start()
    box.inject(delay=30, path="/_sandbox/health")

    def call() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(box.url + "/_sandbox/health", timeout=60)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while box.faults.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    began = time.perf_counter()
    box.stop()
    assert time.perf_counter() - began < 5
    caller.join(timeout=10)
    assert not caller.is_alive()


def test_head_requests(sandbox: Sandbox) -> None:
    response = httpx.head(sandbox.url + "/_sandbox/health")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_port_in_use_raises() -> None:
    with Sandbox() as first, pytest.raises(OSError):
        Sandbox(port=first.port).start()


def test_url_before_start() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = Sandbox().url
    assert "not started" in repr(Sandbox())


def test_keep_alive_reuses_one_connection(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.url, headers={"X-API-KEY": sandbox.api_key}) as client:
        run_id = client.post("/v1/run", data={"prompt": "x"}).json()["data"]["run_id"]
        for _ in range(20):
            assert client.get(f"/v1/run/{run_id}").status_code == 200
        client.get("/nope")  # errors keep the connection too
        client.get(f"/v1/run/{run_id}")
    connections = {r.connection for r in sandbox.requests}
    assert len(sandbox.requests) == 23
    assert len(connections) == 1


def test_many_concurrent_clients(sandbox: Sandbox) -> None:
    """200 clients, each on its own connection, create and poll at the same time.
    (benchmarks/sandbox_load.py does 1,000 against a sandbox in its own process.)"""
    tls = ssl.create_default_context()  # shared: building one per client is slow

    async def one(i: int) -> list[int]:
        async with httpx.AsyncClient(base_url=sandbox.url, verify=tls, timeout=30,
                                     headers={"X-API-KEY": sandbox.api_key}) as client:
            created = await client.post("/v1/run", data={"prompt": f"run {i}"})
            run_id = created.json()["data"]["run_id"]
            polled = [await client.get(f"/v1/run/{run_id}") for _ in range(2)]
            return [r.status_code for r in [created, *polled]]

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(one(i) for i in range(200)))

    results = asyncio.run(main())
    assert results == [[200, 200, 200]] * 200
    assert sandbox.runs_created == 200
    assert len({r.connection for r in sandbox.requests}) == 200


def _chunks(total: int, size: int = 1 << 20) -> Iterator[bytes]:
    block = bytes(range(256)) * (size // 256)
    sent = 0
    while sent < total:
        piece = block[: min(size, total - sent)]
        sent += len(piece)
        yield piece


def test_large_upload_is_streamed_and_hashed() -> None:
    total = 64 * 1024 * 1024
    expected = hashlib.sha256()
    for piece in _chunks(total):
        expected.update(piece)
    with Sandbox(max_file_size=100 * 1024 * 1024) as box:
        boundary = "----sandbox-test-boundary"
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n"
            "Summarise this\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            "filename=\"big.zip\"\r\nContent-Type: application/zip\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body() -> Iterator[bytes]:
            yield head
            yield from _chunks(total)
            yield tail

        response = httpx.post(
            box.url + "/v1/run",
            content=body(),
            headers={
                "X-API-KEY": box.api_key,
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            timeout=60,
        )
        assert response.status_code == 200, response.text
        upload = box.uploads(response.json()["data"]["run_id"])[0]
        assert upload.size == total
        assert upload.sha256 == expected.hexdigest()


def test_oversize_upload_is_drained_then_413() -> None:
    with Sandbox(max_file_size=1024 * 1024) as box:
        response = httpx.post(
            box.url + "/v1/run",
            headers={"X-API-KEY": box.api_key},
            data={"prompt": "x"},
            files=[("files", ("big.pdf", b"\0" * (5 * 1024 * 1024), "application/pdf"))],
        )
        assert response.status_code == 413
        assert response.json()["error"] == "File too large: big.pdf exceeds the 1 MiB limit"


def _raw(sandbox: Sandbox, data: bytes, read_until: bytes = b"\r\n\r\n") -> bytes:
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while read_until not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_expect_100_continue(sandbox: Sandbox) -> None:
    body = b"prompt=hello"
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/run HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + sandbox.api_key.encode()
            + b"\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue"
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 ")
        sock.sendall(body)
        final = b""
        while b"}}" not in final:
            final += sock.recv(65536)
        assert final.startswith(b"HTTP/1.1 200 ")
    assert sandbox.runs_created == 1


def test_malformed_request_gets_400(sandbox: Sandbox) -> None:
    answer = _raw(sandbox, b"THIS IS NOT HTTP\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"x-request-id: req_" in answer.lower()


def test_http_1_0_and_connection_close(sandbox: Sandbox) -> None:
    answer = _raw(sandbox, b"GET /_sandbox/health HTTP/1.0\r\n\r\n", read_until=b"}}")
    assert answer.startswith(b"HTTP/1.1 200 ")
    answer = _raw(
        sandbox, b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        read_until=b"}}",
    )
    assert b"connection: close" in answer.lower()


def test_client_disconnect_mid_upload_creates_nothing(sandbox: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/run HTTP/1.1\r\nHost: x\r\nX-API-KEY: " + sandbox.api_key.encode()
            + b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000"
            + b"\r\n\r\nprompt=hel"
        )
    deadline = time.monotonic() + 5
    while not sandbox.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.runs_created == 0
    assert sandbox.requests[0].fault == "client-disconnected"


def test_absolute_form_target(sandbox: Sandbox) -> None:
    answer = _raw(
        sandbox,
        b"GET http://example.test/_sandbox/health HTTP/1.1\r\nHost: example.test\r\n\r\n",
        read_until=b"}}",
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
