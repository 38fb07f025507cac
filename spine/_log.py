"""Logging for the Spine SDK (secrets are kept out of it by :mod:`spine._redact`).

Everything the SDK logs goes through the ``spine`` logger, which has a :class:`logging.NullHandler`
so that nothing is printed unless the application configures logging. Setting the environment
variable ``SPINE_LOG`` to ``debug`` or ``info`` (any case) and calling
:func:`configure_logging_from_env` (the clients do this once) attaches a single stderr handler.

The API key must never be logged, printed, or put in a repr or an exception message. Any code
that formats headers or free text that might contain a key passes it through
:func:`spine._redact.redact`, :func:`~spine._redact.mask_secret` or
:func:`~spine._redact.redact_headers` first.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from spine._redact import redact

__all__ = ["RedactingFilter", "configure_logging_from_env", "logger", "protect_loggers"]

logger = logging.getLogger("spine")
if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
    logger.addHandler(logging.NullHandler())

class RedactingFilter(logging.Filter):
    """Masks secrets in a log record's message (and its formatted traceback) before any handler
    sees it: httpcore logs response headers at DEBUG and httpx the status line's reason phrase
    at INFO, and a hostile server can put the API key in either."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


#: The loggers that may carry what a server sent: ours, and those of the HTTP libraries the SDK
#: configures (a logger's filters apply only to records logged on it, not on its children).
_LIBRARY_LOGGERS = (
    "spine",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_FILTER = RedactingFilter()


def protect_loggers() -> None:
    """Put :class:`RedactingFilter` on the SDK's logger and on every logger of httpx and
    httpcore (the known ones and any created since). Idempotent; the clients call it."""
    names = set(_LIBRARY_LOGGERS)
    names.update(
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.startswith(("httpx.", "httpcore.", "spine."))
    )
    for name in names:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(_FILTER)


_ENV_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_HANDLER_MARK = "_spine_env_handler"
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
