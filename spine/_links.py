"""Links into the Spine web app.

Every run creates a canvas, and the canvas can be opened in the browser::

    >>> canvas_url("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    'https://app.getspine.ai/canvas/3c90c3cc-0d44-4b50-8888-8dd25736052a'

This module imports nothing heavy: the command line uses it before any client exists.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["APP_URL", "canvas_url"]

APP_URL = "https://app.getspine.ai"
"""The Spine web app, where a canvas can be viewed."""


def canvas_url(canvas_id: str) -> str:
    """The web link of a canvas: ``https://app.getspine.ai/canvas/{canvas_id}``.

    The id is escaped into exactly one path segment, so a malformed id can never point the
    link elsewhere. Raises ``TypeError`` for a non-string and ``ValueError`` for an empty id.
    """
    if not isinstance(canvas_id, str):
        raise TypeError(f"canvas_id must be a str, not {type(canvas_id).__name__}")
    text = canvas_id.strip()
    if not text:
        raise ValueError("canvas_id must not be empty")
    return f"{APP_URL}/canvas/{quote(text, safe='')}"
