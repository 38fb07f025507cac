"""The exceptions of the Spine SDK, and the one place where a response becomes an exception.

Exception tree::

    SpineError                      base of everything the SDK raises on purpose
    ├── SpineConnectionError        the request could not be sent or the connection broke
    ├── SpineTimeoutError           an HTTP timeout, or wait() ran out of time
    ├── WebhookSignatureError       a webhook payload failed verification (local, no network)
    ├── ArtifactDownloadError       an artifact could not be saved (artifact_name, url...)
    │   ├── ArtifactLinkExpiredError    the storage host answered 403, 404 or 410
    │   └── ArtifactSizeMismatchError   the bytes received differ from size_bytes
    └── SpineAPIError               the API answered with an error (status_code, request_id...)
        ├── BadRequestError         400
        │   └── InvalidRequestError     refused before sending (also a ValueError)
        ├── AuthenticationError     401
        ├── NotFoundError           404
        ├── RateLimitError          429 (retry_after), after the retry budget
        ├── ServerError             5xx, after the retry budget
        ├── RunFailedError          wait() saw the run end as ``failed`` (status_code 0)
        └── UnexpectedResponseError the response is not what the contract says (raw_body kept)

Any other status of 400 or more (403, 409, 413, 422...) raises the base :class:`SpineAPIError`.

Every :class:`SpineError` carries ``idempotency_key`` and ``run_may_exist``. They are set after an
ambiguous failure of ``POST /v1/run`` (the request may have reached the server): the message then
says that the run may exist and how to check for it before creating it again. Spine does not
document deduplication by ``Idempotency-Key``, so the SDK never re-sends such a request itself.

``str(exc)`` is meant to be read by a person: the server's message, the HTTP status, the
``X-Request-ID`` to quote to support, and a short hint of what to do next. Nothing in this module
ever sees the API key; any text that came from the server is passed through
:func:`spine._redact.redact` anyway, so a key echoed back by a proxy never reaches a message.

This module imports nothing heavy (no httpx, no pydantic): it is loaded by ``import spine``.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spine._redact import contains_secret, redact, redact_bytes, redact_deep

if TYPE_CHECKING:
    from spine._models import GetRunResponse, RunError


_EXCERPT_CHARS = 120
_END = (".", "!", "?", "…")


def sentence(*parts: str | None) -> str:
    """Join message parts as sentences: each ends with exactly one full stop (none doubled
    when a part, such as an httpx message, already ends with one), one space between."""
    out: list[str] = []
    for part in parts:
        text = (part or "").strip()
        if not text:
            continue
        while text.endswith("..") and not text.endswith("..."):
            text = text[:-1]
        out.append(text if text.endswith(_END) else text + ".")
    return " ".join(out)


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Unpickle an SDK exception without calling its keyword-only ``__init__``."""
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class SpineError(Exception):
    """Base class of every exception the SDK raises on purpose.

    ``idempotency_key`` and ``run_may_exist`` describe an ambiguous ``POST /v1/run``: when
    ``run_may_exist`` is true the run may have been created (and charged). Spine does not
    document that a repeated create with the same ``Idempotency-Key`` returns the first run
    (the sandbox does), so check before creating it again: a webhook endpoint subscribed to
    ``run.started`` receives an event for every run created. If you create it again, pass the
    same ``idempotency_key`` so that a server that honours the key can deduplicate.
    """

    message: str
    idempotency_key: str | None
    run_may_exist: bool
    #: The row of :data:`spine._retry.OUTCOMES` the failure was classified under (set by the
    #: request pipeline; None for what no request produced, such as a failed run).
    _outcome: str | None = None

    def __init__(
        self,
        message: str = "",
        *,
        idempotency_key: str | None = None,
        run_may_exist: bool = False,
    ) -> None:
        # Secrets are masked where the exception is built: whatever a server echoed never
        # reaches an attribute, the args, a pickle or a log record.
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.idempotency_key = idempotency_key
        self.run_may_exist = run_may_exist

    @property
    def transient(self) -> bool:
        """True when this failure does not end a wait: ``wait()`` and the other waits poll
        again on their schedule (only their deadline ends them). False for a definitive
        answer (a refused id, key or account: 400 with the API's error envelope, 401, 403, 404)
        and for what no request produced (a failed run, a wait's own timeout). One column of
        the SDK's outcome table (``docs/faults.md``)."""
        from spine._retry import is_transient

        return is_transient(self)

    def _describe(self) -> str:
        return redact(self.message)

    def __str__(self) -> str:
        text = self._describe()
        if self.run_may_exist:
            note = (
                "The run may have been created on the server (and charged). Check before"
                " creating it again: a webhook endpoint subscribed to run.started gets an event"
                " for every run created."
            )
            if self.idempotency_key:
                note += (
                    " If you create it again, pass"
                    f" idempotency_key={self.idempotency_key!r} so that a server that honours"
                    " the key can return the first run (Spine does not document that it does)."
                )
            text = f"{text} {note}" if text else note
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact(self.message)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class SpineConnectionError(SpineError):
    """The request could not be sent, or the connection broke before a response arrived."""


class SpineTimeoutError(SpineError):
    """An HTTP request timed out, or ``wait()`` reached its timeout before the run finished.

    For a ``wait()`` timeout, ``run_id`` and ``timeout`` are set; the run keeps going on the server.
    """

    run_id: str | None
    timeout: float | None

    def __init__(
        self,
        message: str = "",
        *,
        run_id: str | None = None,
        timeout: float | None = None,
        idempotency_key: str | None = None,
        run_may_exist: bool = False,
    ) -> None:
        super().__init__(message, idempotency_key=idempotency_key, run_may_exist=run_may_exist)
        self.run_id = run_id
        self.timeout = timeout


class WebhookSignatureError(SpineError):
    """A webhook payload failed verification: a bad or missing signature, a stale timestamp, or a
    body that is not a Spine event."""


_HINTS: dict[int, str] = {
    400: "Check the request arguments (prompt, template, blocks, files, ids).",
    401: (
        "Check the API key (the api_key argument or the SPINE_API_KEY environment variable):"
        " it may be missing, mistyped, revoked or rotated."
    ),
    403: "This API key is not allowed to do this.",
    404: "Check the id, and that it belongs to the account of this API key.",
    408: "The server timed out waiting for the request; retry later.",
    413: "The upload is larger than the server accepts; send smaller or fewer files.",
    429: "Too many requests: slow down and retry later.",
}


class SpineAPIError(SpineError):
    """The API answered with an error.

    Attributes:
        status_code: the HTTP status (0 when the error is not an HTTP one, e.g. a failed run).
        error_message: the envelope's ``error`` string, or None.
        request_id: the ``X-Request-ID`` response header, or None; quote it to support.
        response_body: the parsed JSON body, or None when it was not JSON.
        raw_body: the body bytes as received, or None.
    """

    status_code: int
    error_message: str | None
    request_id: str | None
    response_body: Any
    raw_body: bytes | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_message: str | None = None,
        request_id: str | None = None,
        response_body: Any = None,
        raw_body: bytes | None = None,
        idempotency_key: str | None = None,
        run_may_exist: bool = False,
    ) -> None:
        super().__init__(message, idempotency_key=idempotency_key, run_may_exist=run_may_exist)
        self.status_code = status_code
        self.error_message = None if error_message is None else redact(error_message)
        self.request_id = None if request_id is None else redact(request_id)
        self.response_body = redact_deep(response_body)
        self.raw_body = _redact_raw(raw_body)

    def _hint(self) -> str | None:
        if 500 <= self.status_code <= 599:
            support = (
                f"quote request id {redact(self.request_id)} to Spine support"
                if self.request_id
                else "contact Spine support"
            )
            return f"The Spine API had a problem: retry later, and if it persists, {support}."
        return _HINTS.get(self.status_code)

    def _describe(self) -> str:
        # The one place that writes the status: messages never carry "HTTP <status>".
        message = redact(self.message) if self.message else ""
        if not message:
            message = "The Spine API answered with an error" if self.status_code else (
                "Spine API error")
        details: list[str] = []
        status = f"HTTP {self.status_code}"
        if self.status_code and not (message == status or message.startswith(status + ":")):
            details.append(status)  # (a message written by hand may already name it)
        if self.request_id:
            details.append(f"request id {redact(self.request_id)}")
        text = f"{message} ({'; '.join(details)})" if details else message
        hint = self._hint()
        return sentence(text, hint) if hint else text

    def __repr__(self) -> str:
        # Only what is known: no status_code=0 for an error that was not an HTTP answer, no
        # request_id=None when the server sent none.
        parts = [repr(redact(self.message))]
        if self.status_code:
            parts.append(f"status_code={self.status_code}")
        if self.request_id:
            parts.append(f"request_id={redact(self.request_id)!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class BadRequestError(SpineAPIError):
    """400: the request was invalid (template, blocks, empty prompt, malformed id...)."""


class AuthenticationError(SpineAPIError):
    """401: the API key is missing, invalid or revoked."""


class NotFoundError(SpineAPIError):
    """404: the run, canvas or task does not exist or belongs to another account."""


class RateLimitError(SpineAPIError):
    """429: too many requests, after the retry budget. ``retry_after`` is in seconds, or None."""

    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        retry_after: float | None = None,
        error_message: str | None = None,
        request_id: str | None = None,
        response_body: Any = None,
        raw_body: bytes | None = None,
        idempotency_key: str | None = None,
        run_may_exist: bool = False,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            error_message=error_message,
            request_id=request_id,
            response_body=response_body,
            raw_body=raw_body,
            idempotency_key=idempotency_key,
            run_may_exist=run_may_exist,
        )
        self.retry_after = retry_after

    def _hint(self) -> str | None:
        if self.retry_after is not None:
            return (
                "Too many requests: slow down; the server asks to retry after"
                f" {self.retry_after:g} s."
            )
        return _HINTS[429]


class ServerError(SpineAPIError):
    """5xx: the server failed, after the retry budget."""


class RunFailedError(SpineAPIError):
    """``wait()`` saw the run end in the ``failed`` state.

    ``run_id``, ``errors`` (the run's :class:`RunError` list) and ``run`` (the last
    :class:`GetRunResponse`) describe it. ``status_code`` is 0: the HTTP calls all succeeded.
    ``canvas_url`` is the run's canvas in the Spine web app when ``wait()`` ran against the
    Spine API host, else None (a sandbox's canvases are not on the web app).
    """

    run_id: str
    canvas_url: str | None = None
    errors: list[RunError]
    run: GetRunResponse | None

    def __init__(
        self,
        run_id: str,
        errors: Sequence[RunError] | None = None,
        *,
        run: GetRunResponse | None = None,
        request_id: str | None = None,
    ) -> None:
        errors_list = list(errors or [])
        details = "; ".join(e.error for e in errors_list if e.error)
        message = f"Run {run_id} failed: {details or 'no error detail provided'}"
        super().__init__(
            message,
            status_code=0,
            error_message=details or None,
            request_id=request_id,
        )
        self.run_id = run_id
        self.errors = [_redacted_model(e) for e in errors_list]
        self.run = None if run is None else _redacted_model(run)

    @classmethod
    def from_run(cls, run: GetRunResponse) -> RunFailedError:
        """Build the error for a run whose last state is ``failed``."""
        return cls(run.run_id, run.errors or [], run=run)

    def _hint(self) -> str | None:
        if self.canvas_url:
            return f"Inspect .errors, or the canvas at {self.canvas_url}."
        return "Inspect .errors and .run for details."

    def __repr__(self) -> str:
        errors = [redact(e.error) for e in self.errors]
        return f"RunFailedError(run_id={self.run_id!r}, errors={errors!r})"


class UnexpectedResponseError(SpineAPIError):
    """The response is not what the API contract says: not JSON, a wrong envelope, missing or
    malformed fields. ``raw_body`` keeps the bytes as received."""

    def _hint(self) -> str | None:
        return (
            "The response does not match the Spine API contract; if this persists, upgrade the"
            " SDK or quote the request id to support."
        )


class InvalidRequestError(BadRequestError, ValueError):
    """Input the API would reject, caught before any request was sent.

    It is a :class:`BadRequestError` (code that catches the server's 400 keeps working) and a
    :class:`ValueError`. Nothing was sent, so there is no HTTP status: ``status_code`` is 0
    (the SDK's value for "not an HTTP answer", as for :class:`RunFailedError`; it stays an
    ``int`` as ``SpineAPIError`` documents) and ``request_id`` is None. Test for this class,
    not for ``status_code == 400``.
    """

    _outcome = "refused_locally"

    def __init__(self, message: str) -> None:
        super().__init__(message, status_code=0, error_message=message)

    def _describe(self) -> str:
        # Nothing was sent: no "(HTTP 400)", no request id, no advice about the server.
        return sentence(redact(self.message), "Nothing was sent to the API.")

    def __repr__(self) -> str:
        return f"InvalidRequestError({redact(self.message)!r})"


class ArtifactDownloadError(SpineError):
    """An artifact could not be downloaded: the storage host refused, or the file came back wrong.

    Attributes:
        artifact_name: the artifact's name as the API gave it.
        status_code: the storage host's HTTP status, or None when the problem is not an HTTP one.
        url: where the download went, without the query string (which holds the signature).
    """

    artifact_name: str
    status_code: int | None
    url: str | None
    #: The storage host's ``Retry-After`` in seconds (None when absent or unreadable).
    _retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        artifact_name: str = "",
        status_code: int | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.artifact_name = redact(artifact_name)
        self.status_code = status_code
        self.url = None if url is None else redact(url)


class ArtifactLinkExpiredError(ArtifactDownloadError):
    """The storage host answered 403, 404 or 410: the pre-signed link expired or was revoked.

    Fetch the run again (``client.runs.get(run_id)`` or ``handle.refresh()``) for its current
    links. Spine documents that the links expire after a short window, not whether a new read
    of the run gives new ones.
    """


class ArtifactSizeMismatchError(ArtifactDownloadError):
    """The number of bytes received differs from the artifact's ``size_bytes`` (or from the
    ``Content-Length`` the storage host announced). Nothing was written under the final name."""

    expected: int | None
    received: int

    def __init__(
        self,
        message: str,
        *,
        artifact_name: str = "",
        expected: int | None = None,
        received: int = 0,
        url: str | None = None,
    ) -> None:
        super().__init__(message, artifact_name=artifact_name, url=url)
        self.expected = expected
        self.received = received


# ----------------------------------------------------------------------------- secrets


def _redact_raw(raw: bytes | None) -> bytes | None:
    """A body as received, unless it holds a secret: then the secret is masked. A JSON body
    that hides one behind escapes (``"sk\\u005fspine..."``) is written out again, decoded
    and masked."""
    if not raw:
        return raw
    masked = redact_bytes(bytes(raw))
    stripped = masked.lstrip()
    if stripped[:1] in (b"{", b"[", b'"') and b"\\" in masked:
        try:
            parsed = json.loads(masked)
        except (ValueError, RecursionError):
            return masked
        clean = redact_deep(parsed)
        if clean is not parsed:
            return json.dumps(clean, ensure_ascii=False).encode("utf-8")
    return masked


def _redacted_model(model: Any) -> Any:
    """``model`` (a pydantic model of the server's data), or a copy with secrets masked."""
    dump = getattr(model, "model_dump", None)
    if dump is None:
        return model
    data = dump(mode="python")
    clean = redact_deep(data)
    if clean is data:
        return model
    return type(model).model_validate(clean)


# ----------------------------------------------------------------------------- mapping

_WS_RE = re.compile(r"\s+")


def body_excerpt(body: bytes, limit: int = _EXCERPT_CHARS) -> str:
    """A short, printable, secret-free excerpt of a response body, for messages."""
    text = body[: limit * 4].decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _WS_RE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[:limit] + "\u2026"
    return redact(text)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, val in headers.items():
        if key.lower() == wanted:
            return val
    return None


def _server_message(parsed: Any) -> str | None:
    """The human-readable message of an error body, read leniently."""
    if not isinstance(parsed, dict):
        return None
    error = parsed.get("error")
    if isinstance(error, str) and error.strip():
        return error
    if isinstance(error, dict):
        nested = error.get("message")
        if isinstance(nested, str) and nested.strip():
            return nested
    for key in ("message", "detail"):
        value = parsed.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _class_for(status_code: int) -> type[SpineAPIError]:
    if status_code == 400:
        return BadRequestError
    if status_code == 401:
        return AuthenticationError
    if status_code == 404:
        return NotFoundError
    if status_code == 429:
        return RateLimitError
    if 500 <= status_code <= 599:
        return ServerError
    return SpineAPIError


def error_from_response(status_code: int, body: bytes, headers: Mapping[str, str]) -> SpineAPIError:
    """Turn an error response into the matching :class:`SpineAPIError` subclass: the one
    mapping from an answer that is not a 2xx to an exception (a 3xx, never followed, becomes
    :class:`UnexpectedResponseError`).

    The ``{"success": false, "error": "..."}`` envelope is read leniently: a body that is not
    JSON (an HTML page from a proxy, an empty body) still gives the class for the status, with
    ``error_message`` None, ``raw_body`` kept and a short excerpt in the message.
    ``X-Request-ID`` is read case-insensitively; for 429, ``Retry-After`` fills ``retry_after``.
    The error's ``_outcome`` is its row of :data:`spine._retry.OUTCOMES` (whether the body is
    the API's error envelope decides between a definitive refusal and an ambiguous answer).
    Every text and body it keeps has secrets masked. This function never raises.
    """
    from spine._retry import classify_status, is_error_envelope

    try:
        error, parsed = _error_from_response(status_code, body, headers)
    except Exception:  # pragma: no cover - defensive: mapping an error must never fail
        error = SpineAPIError("", status_code=status_code, raw_body=body)
        parsed = None
    error._outcome = classify_status(status_code, enveloped=is_error_envelope(parsed))
    return error


def _error_from_response(
    status_code: int, body: bytes, headers: Mapping[str, str]
) -> tuple[SpineAPIError, Any]:
    raw = bytes(body) if body is not None else b""
    request_id = _header(headers, "X-Request-ID") or None
    if request_id is not None:
        request_id = redact(request_id)

    parsed: Any = None
    is_json = False
    if raw.strip():
        try:
            parsed = json.loads(raw)
            is_json = True
        except (ValueError, RecursionError):
            parsed = None

    error_message = _server_message(parsed)
    if error_message is not None:
        error_message = redact(error_message)
        message = error_message
    elif not raw.strip():
        message = "The error response has an empty body"
    elif not is_json:
        message = (
            f"The response body is not JSON (starts with {body_excerpt(raw)!r})"
        )
    else:
        message = "The error response has no message"

    if 300 <= status_code < 400:
        location = _header(headers, "Location") or ""
        return UnexpectedResponseError(
            f"A redirect to {body_excerpt(location.encode())!s} was not "
            "followed: the API key is only ever sent to the configured base_url. Check base_url.",
            status_code=status_code,
            request_id=request_id,
            response_body=parsed if is_json else None,
            raw_body=raw,
        ), parsed
    cls = _class_for(status_code)
    common: dict[str, Any] = {
        "status_code": status_code,
        "error_message": error_message,
        "request_id": request_id,
        "response_body": parsed if is_json else None,
        "raw_body": raw,
    }
    if cls is RateLimitError:
        import time

        from spine._retry import parse_retry_after

        retry_after = parse_retry_after(_header(headers, "Retry-After"), now=time.time())
        return RateLimitError(message, retry_after=retry_after, **common), parsed
    return cls(message, **common), parsed


# ----------------------------------------------------------------------------- scrubbing


def _is_validation_error(exc: BaseException) -> bool:
    """A pydantic ValidationError (without importing pydantic: if it was never loaded, no
    exception can be one)."""
    pydantic_core = sys.modules.get("pydantic_core")
    cls = getattr(pydantic_core, "ValidationError", None)
    return isinstance(cls, type) and isinstance(exc, cls)


class RedactedError(Exception):
    """Stands in, in a chain of causes, for a library's exception whose text may hold a secret:
    a pydantic ValidationError quotes (a cut of) the input it rejected, which a hostile server
    may have filled with the API key; any other exception whose text shows a known secret. It
    keeps the type's name and the problems, never the input."""

    def __init__(self, original: BaseException) -> None:
        name = f"{type(original).__module__}.{type(original).__qualname__}"
        if _is_validation_error(original):
            invalid: Any = original
            problems = [
                f"{'.'.join(map(str, e.get('loc', ()))) or 'body'}: {e.get('msg', '')}"
                for e in invalid.errors(
                    include_url=False, include_input=False, include_context=False
                )[:10]
            ]
            text = f"{invalid.title}: {'; '.join(problems)}"
        else:
            text = str(original)
        super().__init__(f"{name}: {redact(text)}")


def _holds_secret(exc: BaseException) -> bool:
    """Whether a library's exception carries a secret anywhere: its text, its args, or an
    attribute (a ``json.JSONDecodeError`` keeps the whole document it failed on in ``.doc``)."""
    if _is_validation_error(exc) or contains_secret(str(exc)):
        return True
    if any(contains_secret(repr(a)) for a in exc.args):
        return True
    try:
        attributes = list(vars(exc).values())
    except TypeError:
        attributes = []
    return any(contains_secret(repr(a)) for a in attributes)


def scrub(exc: SpineError) -> None:
    """Mask secrets in everything an exception carries (its message, args, the server's message,
    request id and bodies, notes), not only in what ``str()`` shows, and in its chain of causes:
    a hostile or broken server may echo the API key back anywhere. Exceptions are built clean
    (their constructors mask what they are given); this catches what was set on them later."""
    exc.message = redact(exc.message)
    exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
    for name in ("error_message", "request_id", "artifact_name", "url"):
        value = getattr(exc, name, None)
        if isinstance(value, str):
            setattr(exc, name, redact(value))
    if isinstance(exc, SpineAPIError):
        exc.response_body = redact_deep(exc.response_body)
        exc.raw_body = _redact_raw(exc.raw_body)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [redact(n) if isinstance(n, str) else n for n in notes]
    link: BaseException = exc
    for _ in range(16):  # chains are short; never loop on a cycle
        cause = link.__cause__ if link.__cause__ is not None else link.__context__
        if cause is None:
            return
        if not isinstance(cause, SpineError | RedactedError) and _holds_secret(cause):
            stand_in = RedactedError(cause)
            stand_in.__cause__ = cause.__cause__
            stand_in.__suppress_context__ = True
            if link.__cause__ is not None:
                link.__cause__ = stand_in
            else:
                link.__context__ = stand_in
            cause = stand_in
        link = cause
