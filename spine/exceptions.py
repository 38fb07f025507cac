"""Public home of the exceptions: ``from spine.exceptions import NotFoundError``.

The tree is drawn in :mod:`spine._exceptions`.

The imports below are the one static list of these names (``spine/__init__.py`` star-imports
this module for type checkers); ``__all__`` is this part of ``spine.__all__``, from the table in
``spine/_public.py``, and a test keeps the two equal.
"""

from typing import TYPE_CHECKING

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
from spine._public import PUBLIC as _PUBLIC

if not TYPE_CHECKING:  # hidden from type checkers, which then take the imports above as the list
    __all__ = list(_PUBLIC["spine._exceptions"])
