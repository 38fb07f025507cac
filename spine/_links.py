"""Links into the Spine web app.

Every run of the Spine API creates a canvas, and the canvas can be opened in the browser::

    >>> canvas_url("3c90c3cc-0d44-4b50-8888-8dd25736052a")
    'https://app.getspine.ai/canvas/3c90c3cc-0d44-4b50-8888-8dd25736052a'

That web app shows the canvases of the real API only. :func:`canvas_link` is the one place that
decides whether a run has a web link: only when its client talks to the Spine API host
(``https://api.getspine.ai``); a sandbox or any other base URL gets None (its canvases are not
on the web app; read them with ``handle.get_dag()`` or ``spine dag CANVAS_ID``).

This module imports nothing heavy: the command line uses it before any client exists.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

__all__ = ["API_HOST", "APP_URL", "canvas_link", "canvas_url", "is_spine_api"]

APP_URL = "https://app.getspine.ai"
"""The Spine web app, where a canvas of the real API can be viewed (docs: polling-and-status)."""

API_HOST = "api.getspine.ai"
"""The host of the Spine API (docs: quickstart); only its canvases are on the web app."""


def canvas_url(canvas_id: str) -> str:
    """The web link of a canvas: ``https://app.getspine.ai/canvas/{canvas_id}``.

    The id is escaped into exactly one path segment, so a malformed id can never point the
    link elsewhere. Raises ``TypeError`` for a non-string and ``ValueError`` for an empty id.
    The link is only meaningful for a run of the Spine API itself: :func:`canvas_link` decides.
    """
    if not isinstance(canvas_id, str):
        raise TypeError(f"canvas_id must be a str, not {type(canvas_id).__name__}")
    text = canvas_id.strip()
    if not text:
        raise ValueError("canvas_id must not be empty")
    return f"{APP_URL}/canvas/{quote(text, safe='')}"


def is_spine_api(base_url: str | None) -> bool:
    """True when ``base_url`` (None: the default) is the Spine API host over https."""
    if base_url is None:
        return True
    parts = urlsplit(base_url.strip())
    return parts.scheme == "https" and (parts.hostname or "").lower() == API_HOST


def canvas_link(canvas_id: str | None, base_url: str | None) -> str | None:
    """The web app link of a canvas of a client at ``base_url``, or None.

    None when the canvas id is not known yet, and when ``base_url`` is not the Spine API host
    (a sandbox on loopback, a staging or private host): the web app shows only the Spine API's
    canvases, so no link is better than one that opens somebody else's page or nothing.
    """
    if not canvas_id or not is_spine_api(base_url):
        return None
    return canvas_url(canvas_id)
