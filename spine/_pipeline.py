"""The one request pipeline: every call of both clients goes through here.

An :class:`~spine._operations.Operation` (built from the generated endpoint module) becomes an
``httpx.Request`` with the auth header, the User-Agent and the per-request timeout; it is sent
under the retry policy; the body is read with a size cap and a total time budget; the answer is
parsed once (``parse_envelope``: one ``validate_json`` pass) or mapped to an exception
(``error_from_response``). The decisions live in pure functions shared by both drivers;
:class:`SyncPipeline` and :class:`AsyncPipeline` only do the I/O.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import tenacity
from pydantic import BaseModel

from spine._exceptions import (
    SpineConnectionError,
    SpineError,
    SpineTimeoutError,
    UnexpectedResponseError,
    body_excerpt,
    error_from_response,
)
from spine._log import configure_logging_from_env, logger
from spine._models import parse_envelope
from spine._operations import Operation
from spine._retry import RetryPolicy, is_ambiguous, retrying_kwargs
from spine._version import __version__

T = TypeVar("T", bound="BaseModel")

DEFAULT_BASE_URL = "https://api.getspine.ai"
API_PREFIX = "/v1"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
USER_AGENT = f"spine-sdk-python/{__version__}"
#: A response body larger than this is refused (the API's largest bodies are a few MiB).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def resolve_api_key(api_key: str | None) -> str:
    key = api_key if api_key is not None else os.environ.get("SPINE_API_KEY")
    if key is None or not key.strip():
        raise ValueError(
            "Missing API key: pass SpineClient(api_key='sk_spine_...') or set the "
            "SPINE_API_KEY environment variable. Keys are created at platform.getspine.ai/keys."
        )
    if not isinstance(key, str):
        raise TypeError(f"api_key must be a str, not {type(key).__name__}")
    if any(c in key for c in "\r\n\0"):
        raise ValueError("api_key contains a line break or NUL: check how it was read")
    return key.strip()


def resolve_base_url(
    base_url: str | None, http_client: httpx.Client | httpx.AsyncClient | None, allow_http: bool
) -> str:
    """The normalised API base, always ending in ``/v1`` (as the official SDK reports it)."""
    url = base_url or os.environ.get("SPINE_BASE_URL")
    if not url and http_client is not None and str(http_client.base_url):
        url = str(http_client.base_url)
    url = (url or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL}, got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError("base_url must not carry a query or a fragment")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK and not allow_http:
        raise ValueError(
            f"Refusing plain http:// for {parts.hostname}: the API key would travel unencrypted. "
            "Use https://, or pass allow_http=True if this really is a trusted network."
        )
    if not url.endswith(API_PREFIX):
        url += API_PREFIX
    return url


def resolve_timeout(timeout: httpx.Timeout | float | None) -> tuple[httpx.Timeout, float]:
    """The httpx timeouts and the total time budget of one request (connect to last byte)."""
    if timeout is None:
        return DEFAULT_TIMEOUT, 60.0
    if isinstance(timeout, httpx.Timeout):
        phases = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
        return timeout, max(phases) if phases else float("inf")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(
            f"timeout must be a positive number of seconds or an httpx.Timeout, got {timeout!r}"
        )
    seconds = float(timeout)
    return httpx.Timeout(seconds, connect=min(10.0, seconds)), seconds


class Settings:
    """What both pipelines share: endpoint, credentials, timeouts, retry policy."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: httpx.Timeout | float | None,
        retry_policy: RetryPolicy | None,
        http_client: httpx.Client | httpx.AsyncClient | None,
        allow_http: bool,
    ) -> None:
        configure_logging_from_env()
        self.api_key = resolve_api_key(api_key)
        self.base_url = resolve_base_url(base_url, http_client, allow_http)
        self.root = self.base_url[: -len(API_PREFIX)]  # generated paths start with /v1
        self.timeout, self.total = resolve_timeout(timeout)
        if retry_policy is None:
            retry_policy = RetryPolicy()
        if not isinstance(retry_policy, RetryPolicy):
            raise TypeError(
                f"retry_policy must be a RetryPolicy, not {type(retry_policy).__name__}"
            )
        self.retry_policy = retry_policy
        self.headers = {
            "X-API-KEY": self.api_key,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        self.clock: Callable[[], float] = time.monotonic
        self.rand: Callable[[], float] = random.random

    def request_kwargs(self, op: Operation[Any], deadline: float | None) -> dict[str, Any]:
        """The arguments of ``httpx.Client.build_request`` for one attempt of ``op``."""
        kw = op.kwargs
        headers = self.headers
        if "headers" in kw:
            headers = {**headers, **kw["headers"]}
        budget = self.total
        if deadline is not None:
            budget = min(budget, max(deadline - self.clock(), 0.001))
        timeout = self.timeout
        if budget < self.total:
            timeout = httpx.Timeout(
                connect=min_opt(timeout.connect, budget),
                read=min_opt(timeout.read, budget),
                write=min_opt(timeout.write, budget),
                pool=min_opt(timeout.pool, budget),
            )
        out: dict[str, Any] = {
            "method": kw["method"],
            "url": self.root + kw["url"],
            "headers": headers,
            "timeout": timeout,
        }
        if "params" in kw:
            out["params"] = kw["params"]
        if "files" in kw:
            out["files"] = kw["files"]
        return out

    def retrying(self, op: Operation[Any], deadline: float | None, sleep: Any) -> dict[str, Any]:
        policy = self.retry_policy
        if op.files and not all(f.replayable for f in op.files):
            policy = RetryPolicy.none()  # a stream that cannot be rewound is sent once
        return retrying_kwargs(
            policy,
            idempotent=op.idempotent,
            deadline=deadline,
            clock=self.clock,
            rand=self.rand,
            sleep=sleep,
        )


def min_opt(value: float | None, cap: float) -> float:
    return cap if value is None else min(value, cap)


def finish(op: Operation[T], response: httpx.Response, body: bytes, started: float) -> T:
    """Turn a complete response into the operation's model, or raise the mapped exception."""
    status = response.status_code
    headers = response.headers
    request_id = headers.get("x-request-id")
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s -> %d in %.1f ms (request id %s)",
            response.request.method,
            response.request.url.path,
            status,
            (time.monotonic() - started) * 1000,
            request_id,
        )
    if 200 <= status < 300:
        return parse_envelope(op.model, body, status_code=status, request_id=request_id)
    if 300 <= status < 400:
        location = headers.get("location", "")
        raise UnexpectedResponseError(
            f"HTTP {status} redirect to {body_excerpt(location.encode())!s} was not followed: the "
            "API key is only ever sent to the configured base_url. Check base_url.",
            status_code=status,
            request_id=request_id,
            raw_body=body,
        )
    exc = error_from_response(status, body, headers)
    if not op.idempotent and is_ambiguous(status):
        mark_ambiguous(exc, op)
    raise exc


def mark_ambiguous(exc: SpineError, op: Operation[Any]) -> None:
    exc.idempotency_key = op.idempotency_key
    exc.run_may_exist = True


def transport_error(exc: httpx.HTTPError, op: Operation[Any]) -> SpineError:
    """Map an httpx exception to the SDK's tree (the caller chains it as ``__cause__``)."""
    request = getattr(exc, "_request", None)
    where = f" ({request.method} {request.url.path})" if request is not None else ""
    err: SpineError
    if isinstance(exc, httpx.TimeoutException):
        err = SpineTimeoutError(f"The request timed out{where}: {type(exc).__name__}")
    elif isinstance(exc, httpx.TransportError):
        err = SpineConnectionError(
            f"Could not reach the Spine API{where}: {type(exc).__name__}: {exc}. "
            "Check the network and base_url."
        )
    else:  # pragma: no cover - httpx raises only transport errors from send()
        err = SpineConnectionError(f"HTTP error{where}: {type(exc).__name__}: {exc}")
    if not op.idempotent and is_ambiguous(exc):
        mark_ambiguous(err, op)
    return err


def body_too_large(op: Operation[Any], response: httpx.Response) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"The response body is larger than {MAX_RESPONSE_BYTES} bytes; refusing to read it.",
        status_code=response.status_code,
        request_id=response.headers.get("x-request-id"),
    )


def over_budget(op: Operation[Any]) -> SpineTimeoutError:
    return SpineTimeoutError(
        "The response arrived too slowly: the request's total time budget ran out while "
        "reading the body."
    )


def close_files(op: Operation[Any]) -> None:
    for upload in op.files:
        if upload.owned:
            upload.stream.close()


class SyncPipeline:
    """Sends operations on an ``httpx.Client``."""

    def __init__(
        self, settings: Settings, http: httpx.Client, sleep: Callable[[float], None]
    ) -> None:
        self.settings = settings
        self.http = http
        self.sleep = sleep

    def _attempt(self, op: Operation[Any], deadline: float | None) -> httpx.Response:
        s = self.settings
        request = self.http.build_request(**s.request_kwargs(op, deadline))
        budget_end = s.clock() + (
            s.total if deadline is None else min(s.total, deadline - s.clock())
        )
        response = self.http.send(request, stream=True, follow_redirects=False)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise body_too_large(op, response)
                chunks.append(chunk)
                if s.clock() > budget_end:
                    raise over_budget(op)
        finally:
            response.close()
        response._content = b"".join(chunks)  # what httpx's own read() sets
        return response

    def call(self, op: Operation[T], *, deadline: float | None = None) -> T:
        started = time.monotonic()
        try:
            retrying = tenacity.Retrying(**self.settings.retrying(op, deadline, self.sleep))
            response = retrying(self._attempt, op, deadline)
        except httpx.HTTPError as exc:
            raise transport_error(exc, op) from exc
        except SpineError as exc:
            if not op.idempotent:
                mark_ambiguous(exc, op)
            raise
        finally:
            close_files(op)
        return finish(op, response, response.content, started)


class AsyncPipeline:
    """Sends operations on an ``httpx.AsyncClient``; the same decisions as :class:`SyncPipeline`."""

    def __init__(
        self, settings: Settings, http: httpx.AsyncClient, sleep: Callable[[float], Any]
    ) -> None:
        self.settings = settings
        self.http = http
        self.sleep = sleep

    async def _attempt(self, op: Operation[Any], deadline: float | None) -> httpx.Response:
        s = self.settings
        request = self.http.build_request(**s.request_kwargs(op, deadline))
        budget_end = s.clock() + (
            s.total if deadline is None else min(s.total, deadline - s.clock())
        )
        response = await self.http.send(request, stream=True, follow_redirects=False)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise body_too_large(op, response)
                chunks.append(chunk)
                if s.clock() > budget_end:
                    raise over_budget(op)
        finally:
            await response.aclose()
        response._content = b"".join(chunks)
        return response

    async def call(self, op: Operation[T], *, deadline: float | None = None) -> T:
        started = time.monotonic()
        try:
            retrying = tenacity.AsyncRetrying(**self.settings.retrying(op, deadline, self.sleep))
            response: httpx.Response = await retrying(self._attempt, op, deadline)
        except httpx.HTTPError as exc:
            raise transport_error(exc, op) from exc
        except SpineError as exc:
            if not op.idempotent:
                mark_ambiguous(exc, op)
            raise
        finally:
            close_files(op)
        return finish(op, response, response.content, started)


def _headers_for_log(headers: Mapping[str, str]) -> dict[str, str]:  # pragma: no cover
    from spine._log import redact_headers

    return redact_headers(headers)
