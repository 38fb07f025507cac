"""The public API of ``spine``: the table Python reads (no imports: it only names modules).

Type checkers cannot read a table, so the names are also written as imports, once each: the
exceptions in ``spine/exceptions.py``, the models in ``spine/models.py`` (both
``from spine._x import Name as Name``), the rest under ``TYPE_CHECKING`` in
``spine/__init__.py``, which star-imports the two alias modules. Their runtime ``__all__`` comes
from this table inside ``if not TYPE_CHECKING:``, so type checkers take the imports as the list.
``tests/unit/test_layout.py`` keeps the imports and the table equal, and
``tests/unit/test_public_modules.py`` fails on an exception or model class in neither.
"""

#: Each public name and the private module that defines it. ``spine.__all__``, the lazy loader
#: of ``spine/__init__.py`` and the ``__all__`` of ``spine.exceptions`` / ``spine.models`` derive
#: from it.
PUBLIC: dict[str, tuple[str, ...]] = {
    "spine._client": (
        "AsyncSpineClient",
        "SpineClient",
    ),
    "spine._handle": (
        "AsyncRunHandle",
        "RunHandle",
    ),
    "spine._enums": (
        "BlockType",
        "RunStatus",
        "TaskType",
        "Template",
    ),
    "spine._exceptions": (
        "ArtifactDownloadError",
        "ArtifactLinkExpiredError",
        "ArtifactSizeMismatchError",
        "AuthenticationError",
        "BadRequestError",
        "InvalidRequestError",
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
    ),
    "spine._links": ("canvas_url",),
    "spine._operations": ("check_create",),
    "spine._models": (
        "CanvasDAG",
        "CanvasEdge",
        "CanvasNode",
        "CreateRunResponse",
        "GetRunResponse",
        "RunArtifact",
        "RunError",
        "RunMetadata",
        "RunProgress",
        "RunResult",
        "TaskNode",
        "TaskTree",
        "WebhookEvent",
    ),
    "spine._retry": ("RetryPolicy",),
}
