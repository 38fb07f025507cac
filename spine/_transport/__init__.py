"""The transport seam: the only place in the SDK that reaches into httpx's or httpcore's internals
(:mod:`._budget`, the time budget of an attempt; :mod:`._pool`, the connection pool's
scheduler; :mod:`._pools`, where httpx keeps its pools), beside the bounded body decoder the
drivers feed (:mod:`._body`) and the TLS context whose trust store loads on first use
(:mod:`._tls`).

Everything above this package talks to httpx through its public API.
"""

from spine._transport._body import MAX_RESPONSE_BYTES, BodyReader, BodyTooLarge, UndecodableBody
from spine._transport._budget import BUDGET, Budget, install_budget
from spine._transport._pool import install_lean_pool
from spine._transport._tls import lazy_tls_context

__all__ = [
    "BUDGET",
    "MAX_RESPONSE_BYTES",
    "BodyReader",
    "BodyTooLarge",
    "Budget",
    "UndecodableBody",
    "install_budget",
    "install_lean_pool",
    "lazy_tls_context",
]
