"""Logging for the Spine SDK, and helpers that keep secrets out of logs and messages.

Everything the SDK logs goes through the ``spine`` logger, which has a :class:`logging.NullHandler`
so that nothing is printed unless the application configures logging. Setting the environment
variable ``SPINE_LOG`` to ``debug`` or ``info`` (any case) and calling
:func:`configure_logging_from_env` (the clients do this once) attaches a single stderr handler.

The API key must never be logged, printed, or put in a repr or an exception message. Any code
that formats headers or free text that might contain a key passes it through :func:`redact`,
:func:`mask_secret` or :func:`redact_headers` first.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Mapping

__all__ = [
    "configure_logging_from_env",
    "logger",
    "mask_secret",
    "redact",
    "redact_headers",
    "register_secret",
]

logger = logging.getLogger("spine")
if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
    logger.addHandler(logging.NullHandler())

_ENV_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_HANDLER_MARK = "_spine_env_handler"
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Secret prefixes the SDK knows: API keys and webhook endpoint secrets.
_SECRET_PREFIXES = ("sk_spine_", "whsec_")
# The negative lookahead leaves already-masked values alone, so redact() is idempotent.
_SECRET_RE = re.compile(r"(sk_spine_|whsec_)(?!\u2026)([^\s\"',;&<>()\[\]{}\u2026]*)")
_SENSITIVE_HEADERS = frozenset(
    {"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie"}
)
_ELLIPSIS = "\u2026"


def configure_logging_from_env(environ: Mapping[str, str] | None = None) -> int | None:
    """Turn SDK logging on when ``SPINE_LOG`` asks for it.

    ``SPINE_LOG=debug`` or ``SPINE_LOG=info`` (case-insensitive) sets the ``spine`` logger to that
    level and attaches one stderr handler; calling this again never adds a second handler. Any
    other value, or no value, changes nothing. Returns the level that was set, or None.
    """
    env = os.environ if environ is None else environ
    raw = env.get("SPINE_LOG")
    if raw is None:
        return None
    level = _ENV_LEVELS.get(raw.strip().lower())
    if level is None:
        return None
    logger.setLevel(level)
    if not any(getattr(h, _HANDLER_MARK, False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)
    return level


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


# Secrets in use whatever their shape (a key without the sk_spine_ prefix, say): the clients
# register their API key, so that a server echoing it back can never get it into a message.
# Copied on write, read without a lock.
_REGISTERED: frozenset[str] = frozenset()
_REGISTER_LOCK = threading.Lock()
#: Shorter values are not registered: masking them would mangle ordinary text.
_MIN_REGISTERED = 8


def register_secret(secret: str) -> None:
    """Make :func:`redact` mask ``secret`` wherever it appears, whatever its shape."""
    global _REGISTERED
    if len(secret) < _MIN_REGISTERED or secret in _REGISTERED:
        return
    with _REGISTER_LOCK:
        _REGISTERED = _REGISTERED | {secret}


def redact(value: object) -> str:
    """Return ``str(value)`` with every API key or webhook secret in it masked: the known
    prefixes (``sk_spine_``, ``whsec_``) and every secret passed to :func:`register_secret`."""
    text = value if isinstance(value, str) else str(value)
    for secret in _REGISTERED:
        if secret in text:
            text = text.replace(secret, mask_secret(secret))
    if "sk_spine_" not in text and "whsec_" not in text:
        return text
    return _SECRET_RE.sub(lambda m: _mask(m.group(1), m.group(2)), text)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy ``headers`` for display, masking credentials (``X-API-KEY``, ``Authorization``...)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in _SENSITIVE_HEADERS:
            out[name] = mask_secret(value)
        else:
            out[name] = redact(value)
    return out
