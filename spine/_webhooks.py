"""Verification of Spine webhook deliveries (no network).

Spine signs each delivery with a ``Spine-Signature: t=<unix seconds>,v1=<hex>`` header, where
the hex is the HMAC-SHA256 of ``"{t}.{raw body}"`` keyed with the endpoint's ``whsec_...``
secret. Several ``v1=`` values may appear (during a secret rotation); one match is enough.

:func:`construct_event` checks, in order: the secret, payload and header are usable; the header
has one integer ``t`` and at least one ``v1``; a ``v1`` matches (constant-time comparison); the
timestamp is within ``tolerance`` seconds of now, in either direction; the body is a JSON object
with the fields of a :class:`~spine.WebhookEvent`. Every failure raises
:class:`~spine.WebhookSignatureError` with the reason; nothing else escapes. Pass the raw body
bytes exactly as received: a re-serialised JSON body will not verify.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from typing import Any

from pydantic import Field, ValidationError

from spine._exceptions import WebhookSignatureError
from spine._model_base import SpineModel

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "WebhookEvent",
    "Webhooks",
    "compute_signature",
    "construct_event",
    "signature_header",
]

SIGNATURE_HEADER = "Spine-Signature"
DEFAULT_TOLERANCE = 300


class WebhookEvent(SpineModel):
    """A verified webhook delivery (``run.started``, ``run.completed``, ``run.failed``...).

    Public as ``spine.WebhookEvent`` and ``spine.models.WebhookEvent``.
    """

    id: str
    """Unique per event (``evt_...``): use it to drop duplicate deliveries."""
    type: str
    created: int
    """Unix seconds."""
    livemode: bool = False
    api_version: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


_TIMESTAMP_RE = re.compile(r"[0-9]{1,15}")


def compute_signature(payload: bytes | str, secret: str, timestamp: int | str) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{payload}"`` keyed with ``secret``."""
    body = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(payload: bytes | str, secret: str, *, timestamp: int | None = None) -> str:
    """A ``Spine-Signature`` header value for ``payload``, as Spine sends it (for tests and the
    local sandbox)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={compute_signature(payload, secret, t)}"


def _as_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    raise WebhookSignatureError(
        f"The payload must be the raw request body as bytes or str, got {type(payload).__name__}"
    )


def _parse_header(sig_header: object) -> tuple[str, list[str]]:
    if sig_header is None or (isinstance(sig_header, str) and not sig_header.strip()):
        raise WebhookSignatureError(f"Missing {SIGNATURE_HEADER} header")
    if isinstance(sig_header, bytes):
        sig_header = sig_header.decode("latin-1")
    if not isinstance(sig_header, str):
        raise WebhookSignatureError(
            f"The {SIGNATURE_HEADER} header must be a str, got {type(sig_header).__name__}"
        )
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in sig_header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "t":
            timestamps.append(value)
        elif key == "v1" and value:
            signatures.append(value)
    if not timestamps:
        raise WebhookSignatureError(f"The {SIGNATURE_HEADER} header has no timestamp (t=...)")
    if len(timestamps) > 1:
        raise WebhookSignatureError(f"The {SIGNATURE_HEADER} header has more than one timestamp")
    if not _TIMESTAMP_RE.fullmatch(timestamps[0]):
        raise WebhookSignatureError(
            f"The {SIGNATURE_HEADER} timestamp is not an integer number of seconds"
        )
    if not signatures:
        raise WebhookSignatureError(f"The {SIGNATURE_HEADER} header has no v1 signature")
    return timestamps[0], signatures


def construct_event(
    payload: bytes | str,
    sig_header: str,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Verify a webhook delivery and parse it into a :class:`WebhookEvent`.

    Args:
        payload: the raw request body, exactly as received (bytes, or str decoded as UTF-8).
        sig_header: the value of the ``Spine-Signature`` header.
        secret: the endpoint's signing secret (``whsec_...``).
        tolerance: the largest accepted age (and clock skew into the future) in seconds.
        now: the current Unix time, for tests; defaults to :func:`time.time`.

    Raises:
        WebhookSignatureError: for any failure, with the reason.
    """
    try:
        return _construct_event(payload, sig_header, secret, tolerance=tolerance, now=now)
    except WebhookSignatureError:
        raise
    except Exception as exc:  # pragma: no cover - defensive: nothing else may escape
        raise WebhookSignatureError(f"Could not verify the webhook ({type(exc).__name__})") from exc


def _construct_event(
    payload: object, sig_header: object, secret: object, *, tolerance: object, now: float | None
) -> WebhookEvent:
    if not isinstance(secret, str) or not secret:
        raise WebhookSignatureError(
            "No webhook secret: pass the endpoint's signing secret (whsec_...) from the portal"
        )
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or tolerance < 0:
        raise WebhookSignatureError(
            f"tolerance must be a non-negative number of seconds, got {tolerance!r}"
        )
    body = _as_bytes(payload)
    timestamp, signatures = _parse_header(sig_header)

    expected = compute_signature(body, secret, timestamp)
    matched = False
    for candidate in signatures:
        # compare_digest on ASCII bytes: constant-time, and never a TypeError on odd input.
        given = candidate.lower().encode("ascii", errors="replace")
        if hmac.compare_digest(expected.encode("ascii"), given):
            matched = True
    if not matched:
        raise WebhookSignatureError(
            "No signature matches the payload: check the endpoint secret, and pass the raw"
            " request body exactly as received"
        )

    current = time.time() if now is None else now
    if not isinstance(current, int | float) or not math.isfinite(current):
        raise WebhookSignatureError(f"now must be a finite Unix time, got {now!r}")
    age = current - int(timestamp)
    if abs(age) > tolerance:
        direction = "old" if age > 0 else "in the future"
        raise WebhookSignatureError(
            f"The signature timestamp is {abs(age):.0f}s {direction}, outside the tolerance of"
            f" {tolerance:g}s (a replayed delivery, or a wrong clock)"
        )

    try:
        return WebhookEvent.model_validate_json(body)
    except ValidationError as exc:
        raise WebhookSignatureError(_event_problem(exc)) from exc


def _event_problem(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return "The webhook body is not a Spine event"
    first = errors[0]
    kind = first["type"]
    loc = ".".join(str(part) for part in first["loc"])
    if kind == "json_invalid":
        return "The webhook body is not valid JSON"
    if not loc and kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "The webhook body is not a JSON object"
    return f"The webhook body is not a Spine event: {loc or 'body'}: {first['msg']}"


class Webhooks:
    """``client.webhooks``: verify webhook deliveries. Plain methods for both clients."""

    construct_event = staticmethod(construct_event)

    def __repr__(self) -> str:
        return "Webhooks()"
