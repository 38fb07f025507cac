"""Keeping secrets out of every text the SDK produces: masks, the registry of live API keys,
and :func:`redact` for free text and headers.

Pure and dependency-free: imported by the exception tree, the logger and the request pipeline.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping

__all__ = [
    "contains_secret",
    "mask_secret",
    "redact",
    "redact_bytes",
    "redact_deep",
    "redact_headers",
    "register_secret",
    "registered_secrets",
    "release_secret",
]

# Secret prefixes the SDK knows: API keys and webhook endpoint secrets.
_SECRET_PREFIXES = ("sk_spine_", "whsec_")
# The negative lookahead leaves already-masked values alone, so redact() is idempotent.
_SECRET_RE = re.compile(r"(sk_spine_|whsec_)(?!\u2026)([^\s\"',;&<>()\[\]{}\u2026]*)")
_SENSITIVE_HEADERS = frozenset(
    {"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"}
)
_ELLIPSIS = "\u2026"


def _mask(prefix: str, rest: str) -> str:
    # Show at most the last 4 characters, and fewer for short secrets (a quarter of them), so
    # that a mask never gives away a meaningful part of the secret.
    shown = min(4, len(rest) // 4)
    tail = rest[-shown:] if shown else ""
    return f"{prefix}{_ELLIPSIS}{tail}"


def mask_secret(secret: str) -> str:
    """Mask one secret value: ``sk_spine_0123456789abcdef`` becomes ``sk_spine_…cdef``.

    A known prefix (``sk_spine_``, ``whsec_``) is kept; at most the last 4 characters are shown.
    """
    for prefix in _SECRET_PREFIXES:
        if secret.startswith(prefix):
            return _mask(prefix, secret[len(prefix) :])
    return _mask("", secret)


# Secrets in use whatever their shape (a key without the sk_spine_ prefix, say): each client
# registers its API key while it lives, so that a server echoing it back can never get it into a
# message. Counted per registration (two clients may share a key) and released with the client;
# the set that redact() reads is copied on write and read without a lock.
_REGISTERED: frozenset[str] = frozenset()
_COUNTS: dict[str, int] = {}
_REGISTER_LOCK = threading.Lock()
#: Shorter values are not registered: masking them would mangle ordinary text.
_MIN_REGISTERED = 8


def register_secret(secret: str) -> bool:
    """Make :func:`redact` mask ``secret`` wherever it appears, whatever its shape, until the
    matching :func:`release_secret`. Returns False (nothing to release) for a value too short
    to mask safely."""
    global _REGISTERED
    if len(secret) < _MIN_REGISTERED:
        return False
    with _REGISTER_LOCK:
        _COUNTS[secret] = _COUNTS.get(secret, 0) + 1
        if secret not in _REGISTERED:
            _REGISTERED = _REGISTERED | {secret}
    return True


def release_secret(secret: str) -> None:
    """Undo one :func:`register_secret` (a client closed or was garbage-collected)."""
    global _REGISTERED
    with _REGISTER_LOCK:
        left = _COUNTS.get(secret, 0) - 1
        if left > 0:
            _COUNTS[secret] = left
            return
        _COUNTS.pop(secret, None)
        _REGISTERED = _REGISTERED - {secret}


def registered_secrets() -> frozenset[str]:
    """The secrets registered now (for tests and diagnostics)."""
    return _REGISTERED


def _redact_plain(text: str) -> str:
    for secret in _REGISTERED:
        if secret in text:
            text = text.replace(secret, mask_secret(secret))
    if "sk_spine_" not in text and "whsec_" not in text:
        return text
    return _SECRET_RE.sub(lambda m: _mask(m.group(1), m.group(2)), text)


_ESCAPE_RE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))")


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match.group(1) or match.group(2), 16))


def _decoded_forms(text: str) -> list[str]:
    """The text as a URL (percent-escapes), an HTML page (character references) or a JSON or
    Python string (``\\u005f``, ``\\x5f``) would show it: a server can echo a secret in any of
    these forms."""
    forms: list[str] = []
    if "\\" in text:
        forms.append(_ESCAPE_RE.sub(_unescape, text))
    if "%" in text:
        from urllib.parse import unquote

        forms.append(unquote(text, errors="replace"))
    if "&" in text:
        import html

        forms.append(html.unescape(text))
    return forms


def redact(value: object) -> str:
    """Return ``str(value)`` with every API key or webhook secret in it masked: the known
    prefixes (``sk_spine_``, ``whsec_``) and every secret passed to :func:`register_secret`.

    A secret hidden behind percent-escapes (``sk%5Fspine%5F...``) or HTML character references
    is found too: the text is then returned decoded, with the secret masked."""
    text = value if isinstance(value, str) else str(value)
    out = _redact_plain(text)
    for form in _decoded_forms(out):
        masked = _redact_plain(form)
        if masked != form:
            return masked
    return out


def contains_secret(value: object) -> bool:
    """True when :func:`redact` would change ``str(value)``."""
    text = value if isinstance(value, str) else str(value)
    return redact(text) != text


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` for raw bytes (a response body): secrets in UTF-8 text are masked, every
    other byte is kept as it was."""
    if not data:
        return data
    text = data.decode("utf-8", "surrogateescape")
    masked = redact(text)
    if masked == text:
        return data
    return masked.encode("utf-8", "surrogateescape")


def redact_deep(value: object) -> object:
    """A copy of parsed JSON (dicts, lists, strings, numbers) with every string, keys
    included, passed through :func:`redact`; ``value`` itself when nothing needed masking."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out = {redact(k) if isinstance(k, str) else k: redact_deep(v) for k, v in value.items()}
        return value if out == value else out
    if isinstance(value, list | tuple):
        items = [redact_deep(v) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    return value


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy ``headers`` for display, masking credentials (``X-API-KEY``, ``Authorization``...)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in _SENSITIVE_HEADERS:
            out[name] = mask_secret(value)
        else:
            out[name] = redact(value)
    return out
