"""Public home of the exceptions: ``from spine.exceptions import NotFoundError``.

The tree is drawn in :mod:`spine._exceptions`.
"""

from spine._exceptions import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    RunFailedError,
    ServerError,
    SpineAPIError,
    SpineConnectionError,
    SpineError,
    SpineTimeoutError,
    UnexpectedResponseError,
    WebhookSignatureError,
)

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "NotFoundError",
    "RateLimitError",
    "RunFailedError",
    "ServerError",
    "SpineAPIError",
    "SpineConnectionError",
    "SpineError",
    "SpineTimeoutError",
    "UnexpectedResponseError",
    "WebhookSignatureError",
]
