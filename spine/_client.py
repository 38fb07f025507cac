"""``SpineClient`` and ``AsyncSpineClient`` with their ``runs`` and ``canvas`` resources.

The clients hold settings and a driver (:mod:`spine._base_client`); their ``runs`` and ``canvas``
are the one-liners of :mod:`spine._resources`, so the two clients cannot drift apart.

Threads, asyncio and fork
-------------------------

* **Threads.** One ``SpineClient`` is safe to share between threads: requests share its
  connection pool (up to 100 connections), and nothing else in the client changes after
  construction. Handles (``RunHandle``) are cheap; give each thread its own for the same run.
* **asyncio.** One ``AsyncSpineClient`` serves any number of concurrent handles in one event
  loop; at most 16 of its requests are on the wire at once and the others wait their turn
  (cancelling a waiting or running call is immediate). Connections belong to the loop that
  opened them: a client used in one loop after another (``asyncio.run`` twice, a notebook, a
  test framework's loop per test) notices the new loop on its first call there, as it notices
  a fork, and opens a new pool; the old loop's connections are dropped without being awaited,
  and ``aclose()`` never raises because of them. Use one loop at a time; ``await
  client.aclose()`` (or ``async with``) at the end.
* **fork.** Create clients after ``os.fork()`` (or in the worker, with ``multiprocessing`` or
  a pre-forking server such as gunicorn or Celery) where you can. A client that crosses a fork
  anyway is safe: on its first call in the child it notices the new process id and opens a new
  connection pool, leaving the inherited connections untouched (not closed: their sockets are
  shared with the parent, and the parent keeps using them). Two processes never talk on one
  connection, which would mix their answers. An ``http_client`` you passed in is yours to
  recreate in the child; the SDK cannot renew it. An ``AsyncSpineClient`` cannot be used
  across a fork with a running event loop; create it in the child's loop.
"""

from __future__ import annotations

import functools
import time
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from spine._base_client import AsyncPipeline, Settings, SyncPipeline
from spine._redact import register_secret, release_secret
from spine._resources import AsyncCanvas, AsyncRuns, Canvas, Runs
from spine._retry import RetryPolicy
from spine._transport import install_budget, install_lean_pool, lazy_tls_context

if TYPE_CHECKING:
    from spine._webhooks import Webhooks

__all__ = ["AsyncSpineClient", "SpineClient"]

# Enough keep-alive connections that concurrent polling reuses them instead of reconnecting.
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
# Requests of one async client on the wire at once; the rest wait their turn in the SDK.
# httpcore's pool scheduling costs grow with (queued requests x connections): a thousand
# handles polling at once spent most of their time there (27 s for 1,000 creates on loopback,
# against 5 s with this limit).
_MAX_IN_FLIGHT = 16


def _check_http_client(http_client: object, expected: type) -> None:
    if http_client is not None and not isinstance(http_client, expected):
        raise TypeError(
            f"http_client must be an {expected.__module__}.{expected.__qualname__}, "
            f"not {type(http_client).__name__}"
        )


def _register_key(settings: Settings, key: str) -> None:
    """Keep ``key`` masked in every text while the client's settings live (its driver, handles
    and resources hold them); released when they are collected."""
    if register_secret(key):
        weakref.finalize(settings, release_secret, key)


_H = TypeVar("_H", httpx.Client, httpx.AsyncClient)


def _new_pool(kind: type[_H], settings: Settings) -> _H:
    """A connection pool of the SDK's own (``kind``: ``httpx.Client`` or ``AsyncClient``)."""
    http = kind(
        timeout=settings.timeout,
        limits=_LIMITS,
        follow_redirects=False,
        verify=lazy_tls_context() or True,
    )
    install_budget(http)
    install_lean_pool(http)
    return http


class _ClientBase:
    _settings: Settings
    _owns_http: bool

    def _configure(
        self, http_client: httpx.Client | httpx.AsyncClient | None, kind: type, **settings: Any
    ) -> None:
        """What both ``__init__`` do before their driver: check ``http_client`` (of ``kind``),
        build the settings (see :class:`Settings` for the rest), keep the key masked while
        they live."""
        _check_http_client(http_client, kind)
        self._settings = Settings(http_client=http_client, **settings)
        _register_key(self._settings, self._settings.api_key)
        self._owns_http = http_client is None

    @property
    def base_url(self) -> str:
        """The API base in use, normalised to end in ``/v1``."""
        return self._settings.base_url

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._settings.retry_policy

    @functools.cached_property
    def webhooks(self) -> Webhooks:
        """Webhook signature verification (``client.webhooks.construct_event``); no request is
        sent. Built on first use: a process that never verifies a webhook never loads it."""
        from spine._webhooks import Webhooks

        return Webhooks()

    def __repr__(self) -> str:
        # Never the key: only where requests go.
        return f"{type(self).__name__}(base_url={self.base_url!r})"


class SpineClient(_ClientBase):
    """A synchronous client of the Spine API. Safe to share between threads.

    ``SpineClient(*, api_key=None, base_url=None, timeout=None, retry_policy=None,
    http_client=None, allow_http=False)``: see ``help(SpineClient.__init__)``. Use it as a
    context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.Client | None = None,
        allow_http: bool = False,
    ) -> None:
        """Create a client (no request is sent).

        Args:
            api_key: ``sk_spine_...``; defaults to the ``SPINE_API_KEY`` environment variable.
            base_url: the API host; defaults to ``SPINE_BASE_URL``, then
                ``https://api.getspine.ai``. ``/v1`` is appended unless present. Plain
                ``http://`` is refused except on loopback or with ``allow_http=True``.
            timeout: per request: seconds (total) or an ``httpx.Timeout``; default 60 s total
                and 10 s to connect.
            retry_policy: how transient failures are retried; default ``RetryPolicy()``.
            http_client: an ``httpx.Client`` to send with. The SDK adds its headers per request
                and never closes it.
            allow_http: permit a non-loopback ``http://`` base URL.

        Raises:
            ValueError: no API key (argument or ``SPINE_API_KEY``), or a base URL that is
                not http(s), or plain ``http://`` to a non-loopback host without
                ``allow_http``.
            TypeError: ``http_client`` is not an ``httpx.Client``.
        """
        self._configure(
            http_client,
            httpx.Client,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry_policy=retry_policy,
            allow_http=allow_http,
        )
        self._runtime = SyncPipeline(
            self._settings,
            http_client or self._new_http(),
            time.sleep,
            renew=self._new_http if http_client is None else None,
        )
        self.runs = Runs(self._runtime)
        self.canvas = Canvas(self._runtime)

    def _new_http(self) -> httpx.Client:
        return _new_pool(httpx.Client, self._settings)

    def close(self) -> None:
        """Close the connection pool (not an injected ``http_client``). Idempotent."""
        if self._owns_http:
            self._runtime.http.close()

    def __enter__(self) -> SpineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncSpineClient(_ClientBase):
    """The asynchronous twin of :class:`SpineClient`; every method is awaitable, handles are
    :class:`AsyncRunHandle`. ``http_client`` must be an ``httpx.AsyncClient``."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        retry_policy: RetryPolicy | None = None,
        http_client: httpx.AsyncClient | None = None,
        allow_http: bool = False,
    ) -> None:
        """Create an async client (no request is sent); the arguments are those of
        :class:`SpineClient` (see ``help(SpineClient.__init__)``):

        api_key (``SPINE_API_KEY``), base_url (``SPINE_BASE_URL``, then
        ``https://api.getspine.ai``), timeout (60 s total, 10 s to connect), retry_policy
        (``RetryPolicy()``), http_client (an ``httpx.AsyncClient``, never closed by the SDK),
        allow_http (permit a non-loopback ``http://`` base URL).
        """
        self._configure(
            http_client,
            httpx.AsyncClient,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry_policy=retry_policy,
            allow_http=allow_http,
        )
        import asyncio  # here, not at import: `import spine` for sync code stays lighter

        self._runtime = AsyncPipeline(
            self._settings,
            http_client or self._new_http(),
            asyncio.sleep,
            renew=self._new_http if http_client is None else None,
            max_in_flight=_MAX_IN_FLIGHT if http_client is None else None,
        )
        self.runs = AsyncRuns(self._runtime)
        self.canvas = AsyncCanvas(self._runtime)

    def _new_http(self) -> httpx.AsyncClient:
        return _new_pool(httpx.AsyncClient, self._settings)

    async def aclose(self) -> None:
        """Close the connection pool (not an injected ``http_client``). Idempotent."""
        if self._owns_http:
            await self._runtime.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> AsyncSpineClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
