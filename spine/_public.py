"""The public API of ``spine``, listed once (no imports: the table only names modules)."""

#: The public API, listed once: each name and the private module that defines it. ``__all__``,
#: the lazy loader below and ``spine.exceptions`` / ``spine.models`` / ``spine.enums`` derive from
#: it (``tests/unit/test_public_api.py`` checks the ``TYPE_CHECKING`` imports of
#: ``spine/__init__.py`` and the aliases' imports against it).
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
