"""Public home of the exceptions: ``from spine.exceptions import NotFoundError``.

The tree is drawn in :mod:`spine._exceptions`.

How the names are listed (here for type checkers, in ``spine/_public.py`` for Python): see
``spine/_public.py``.
"""

import typing as _typing

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

if not _typing.TYPE_CHECKING:  # type checkers take the imports above as the list
    __all__ = list(_PUBLIC["spine._exceptions"])
