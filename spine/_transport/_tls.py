"""The TLS context of the SDK's own clients, with its trust store loaded on first use.

``httpx.Client()`` builds its TLS context when it is constructed: the context itself is cheap,
but loading the CA bundle into it (certifi's, about 150 certificates) takes about 20 ms of CPU,
the largest single cost of building a client. A client whose base URL is ``http://`` (the
sandbox, a local test server) never needs it. :func:`lazy_tls_context` returns a context
configured exactly as httpx 0.28 configures its default one (``verify=True``:
``ssl.create_default_context`` with ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's
bundle), except that the CA bundle is loaded when the first TLS connection is wrapped, not
before. Verification is the same from the first handshake on: nothing is wrapped before the
trust store is in place, and a bundle that cannot be loaded fails that connection with the
error httpx would have raised when the client was built.

httpx before 0.28 configured its context differently (its own cipher list, for one), so there
the SDK leaves the context to httpx (:func:`lazy_tls_context` returns None).
``tests/faults/test_transport_tls.py`` proves the context matches httpx's own once loaded, that
the bundle is loaded only on the first TLS connection, and that verification holds.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
from typing import Any

import httpx

__all__ = ["LazyTLSContext", "lazy_tls_context"]


def _httpx_version() -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in httpx.__version__.split(".")[:2])
    except ValueError:
        return (0, 0)


_SAME_AS_HTTPX = _httpx_version() >= (0, 28)


class LazyTLSContext(ssl.SSLContext):
    """An ``ssl.SSLContext`` that loads its verify locations just before its first use."""

    _where: dict[str, str]
    _loaded: bool
    _lock: threading.Lock

    def __new__(cls, *args: Any, **kwargs: Any) -> LazyTLSContext:
        return super().__new__(cls, ssl.PROTOCOL_TLS_CLIENT)

    def __init__(self, *, cafile: str | None = None, capath: str | None = None) -> None:
        # What ssl.create_default_context(cafile=..., capath=...) sets, minus the loading.
        self.verify_mode = ssl.CERT_REQUIRED
        self.check_hostname = True
        if sys.version_info >= (3, 13):
            self.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
        keylog = os.environ.get("SSLKEYLOGFILE")
        if keylog and not sys.flags.ignore_environment:
            self.keylog_filename = keylog
        self._where = {"cafile": cafile} if cafile else {"capath": capath} if capath else {}
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the trust store is in place (after the first TLS connection)."""
        return self._loaded

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if not self._loaded:
                where = self._where
                if not where:
                    import certifi

                    where = {"cafile": certifi.where()}
                self.load_verify_locations(**where)
                self._loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
        self._ensure_loaded()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
        self._ensure_loaded()
        return super().wrap_bio(*args, **kwargs)

    def get_ca_certs(self, binary_form: bool = False) -> Any:
        self._ensure_loaded()
        return super().get_ca_certs(binary_form)

    def cert_store_stats(self) -> dict[str, int]:
        self._ensure_loaded()
        return super().cert_store_stats()


def lazy_tls_context() -> LazyTLSContext | None:
    """The context for an SDK-owned client (``verify=`` of ``httpx.Client``), or None to let
    httpx build its own (before httpx 0.28). The environment is read now, as httpx reads it
    when a client is built."""
    if not _SAME_AS_HTTPX:
        return None
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = None if cafile else os.environ.get("SSL_CERT_DIR") or None
    return LazyTLSContext(cafile=cafile, capath=capath)
