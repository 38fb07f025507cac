"""The TLS context of the SDK's own clients (``spine/_transport/_tls.py``): its trust store loads
on the first TLS connection (an http:// client never loads it), it is then httpx's own default
context in every setting, and certificates are verified from the first handshake on."""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest

import spine
from spine._transport._tls import LazyTLSContext, lazy_tls_context

from . import _server as b
from ._server import FaultServer
from .conftest import Api


def _run(i: int) -> str:
    """A run id (a UUID: ids are checked before sending) numbered ``i``."""
    return f"00000000-0000-4000-8000-{i:012d}"


RUN_1 = _run(1)


def _context(client: Any) -> Any:
    return client._runtime.http._transport._pool._ssl_context


def _same(ours: ssl.SSLContext, theirs: ssl.SSLContext) -> None:
    for name in (
        "protocol",
        "verify_mode",
        "check_hostname",
        "options",
        "minimum_version",
        "maximum_version",
        "verify_flags",
        "hostname_checks_common_name",
        "post_handshake_auth",
        "keylog_filename",
        "security_level",
    ):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [c["name"] for c in ours.get_ciphers()] == [c["name"] for c in theirs.get_ciphers()]
    assert ours.cert_store_stats() == theirs.cert_store_stats()
    assert ours.get_ca_certs(binary_form=True) == theirs.get_ca_certs(binary_form=True)


# ----------------------------------------------------------------------------- laziness


def test_an_http_client_never_loads_the_trust_store(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url)
    context = _context(client)
    assert isinstance(context, LazyTLSContext)
    handle = api.call(client.runs.create, "Summarise Q1")
    api.call(client.runs.get, handle.run_id)
    assert context.loaded is False
    assert context.cert_store_stats()["x509_ca"] > 0  # asking for it loads it
    assert context.loaded is True


def test_an_injected_client_keeps_its_own_context() -> None:
    mine = httpx.Client()
    client = spine.SpineClient(
        api_key="sk_spine_tls", base_url="https://api.example", http_client=mine
    )
    assert not isinstance(_context(client), LazyTLSContext)
    mine.close()


# ----------------------------------------------------------------------------- same as httpx


@pytest.mark.parametrize("env", ["default", "SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE"])
def test_once_loaded_it_is_the_context_httpx_builds(
    env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE"):
        monkeypatch.delenv(name, raising=False)
    if env == "SSL_CERT_FILE":
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(_first_certificates(Path(certifi.where()), 5))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    elif env == "SSL_CERT_DIR":
        monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    elif env == "SSLKEYLOGFILE":
        monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys.log"))
    ours = lazy_tls_context()
    assert ours is not None and ours.loaded is False
    _same(ours, httpx.create_ssl_context())
    assert ours.loaded is True


def _first_certificates(bundle: Path, count: int) -> bytes:
    marker = b"-----END CERTIFICATE-----\n"
    return marker.join(bundle.read_bytes().split(marker)[:count]) + marker


# ----------------------------------------------------------------------------- verification


@dataclass
class TLSServer:
    """A loopback TLS server answering every request like the API answers ``GET /v1/run/{id}``
    for a running run; it closes each connection after one answer."""

    cert: Path
    key: Path
    port: int = 0
    handshakes_failed: int = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @contextlib.contextmanager
    def serving(self) -> Iterator[TLSServer]:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        stop = threading.Event()

        def serve(conn: socket.socket) -> None:
            with contextlib.suppress(OSError), conn:
                try:
                    tls = context.wrap_socket(conn, server_side=True)
                except ssl.SSLError:
                    self.handshakes_failed += 1
                    return
                with tls:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = tls.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    run_id = data.split(b" ", 2)[1].rsplit(b"/", 1)[-1].decode()
                    body = f'{{"success": true, "data": {{"run_id": "{run_id}", '
                    body += '"status": "running"}}'
                    tls.sendall(b.http_response(200, body.encode(), [("Connection", "close")]))

        def accept() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except (TimeoutError, OSError):
                    continue
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=5)
            listener.close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TLSServer]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    with TLSServer(cert, key).serving() as server:
        yield server


def test_an_untrusted_certificate_is_refused_on_the_first_handshake(
    api: Api, tls_server: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    client = api.client(base_url=tls_server.url, retry_policy=spine.RetryPolicy.none())
    assert _context(client).loaded is False
    with pytest.raises(spine.SpineConnectionError) as info:
        api.call(client.runs.get, RUN_1)
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    assert _context(client).loaded is True


def test_a_certificate_trusted_through_ssl_cert_file_is_accepted(
    api: Api, tls_server: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cert))
    client = api.client(base_url=tls_server.url, retry_policy=spine.RetryPolicy.none())
    state = api.call(client.runs.get, RUN_1)
    assert state.run_id == RUN_1
    assert tls_server.handshakes_failed == 0


def test_threads_making_their_first_tls_connections_at_once_all_verify(
    tls_server: TLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cert))
    client = spine.SpineClient(
        api_key="sk_spine_tls", base_url=tls_server.url, retry_policy=spine.RetryPolicy.none()
    )
    barrier = threading.Barrier(16)

    def first(i: int) -> str:
        barrier.wait(timeout=10)
        return str(client.runs.get(_run(i)).run_id)

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(first, range(16))) == [_run(i) for i in range(16)]
    client.close()
