"""Where an ``httpx.Client`` / ``httpx.AsyncClient`` keeps its httpcore connection pools.

httpx has no public way to reach them: each transport (the default one in ``_transport``, one
per proxy or mount in ``_mounts``) holds its pool in ``_pool``. Both seams that adjust a pool
(:mod:`._budget`, :mod:`._pool`) find them here, so the private names are read in one place.
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["connection_pools"]


def connection_pools(http: httpx.Client | httpx.AsyncClient) -> list[Any]:
    """The pool of each transport of ``http`` (None for a transport that has none, such as a
    caller's own transport class); empty when httpx keeps its transports elsewhere."""
    transports = [getattr(http, "_transport", None), *getattr(http, "_mounts", {}).values()]
    return [getattr(t, "_pool", None) for t in transports if t is not None]
