"""Public home of the exceptions: ``from spine.exceptions import NotFoundError``.

The tree is drawn in :mod:`spine._exceptions`.

``__all__`` is this part of ``spine.__all__`` (listed once, in ``spine/_public.py``).
"""

from spine._exceptions import (
    ArtifactDownloadError as ArtifactDownloadError,
    ArtifactLinkExpiredError as ArtifactLinkExpiredError,
    ArtifactSizeMismatchError as ArtifactSizeMismatchError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    InvalidRequestError as InvalidRequestError,
    NotFoundError as NotFoundError,
    RateLimitError as RateLimitError,
    RunFailedError as RunFailedError,
    ServerError as ServerError,
    SpineAPIError as SpineAPIError,
    SpineConnectionError as SpineConnectionError,
    SpineError as SpineError,
    SpineTimeoutError as SpineTimeoutError,
    UnexpectedResponseError as UnexpectedResponseError,
    WebhookSignatureError as WebhookSignatureError,
)
from spine._public import PUBLIC

__all__ = list(PUBLIC["spine._exceptions"])
