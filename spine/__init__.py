"""The Spine Python SDK.

    from spine import SpineClient, Template

    with SpineClient() as client:                     # reads SPINE_API_KEY
        run = client.runs.create("Create a Q1 report", template=Template.REPORT)
        result = run.wait()
        print(result.final_output)

Names are loaded on first use, so ``import spine`` stays fast; ``__all__`` lists the public API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spine._version import __version__

if TYPE_CHECKING:
    from spine._artifacts import (
        ArtifactDownloadError,
        ArtifactLinkExpiredError,
        ArtifactSizeMismatchError,
    )
    from spine._client import AsyncSpineClient, SpineClient
    from spine._enums import BlockType, RunStatus, TaskType, Template
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
    from spine._handle import AsyncRunHandle, RunHandle
    from spine._links import canvas_url
    from spine._models import (
        CanvasDAG,
        CanvasEdge,
        CanvasNode,
        CreateRunResponse,
        GetRunResponse,
        RunArtifact,
        RunError,
        RunMetadata,
        RunProgress,
        RunResult,
        TaskNode,
        TaskTree,
        WebhookEvent,
    )
    from spine._operations import InvalidRequestError
    from spine._retry import RetryPolicy

_EXPORTS: dict[str, str] = {
    "ArtifactDownloadError": "spine._artifacts",
    "ArtifactLinkExpiredError": "spine._artifacts",
    "ArtifactSizeMismatchError": "spine._artifacts",
    "AsyncRunHandle": "spine._handle",
    "AsyncSpineClient": "spine._client",
    "AuthenticationError": "spine._exceptions",
    "BadRequestError": "spine._exceptions",
    "BlockType": "spine._enums",
    "CanvasDAG": "spine._models",
    "CanvasEdge": "spine._models",
    "CanvasNode": "spine._models",
    "CreateRunResponse": "spine._models",
    "GetRunResponse": "spine._models",
    "InvalidRequestError": "spine._operations",
    "NotFoundError": "spine._exceptions",
    "RateLimitError": "spine._exceptions",
    "RetryPolicy": "spine._retry",
    "RunArtifact": "spine._models",
    "RunError": "spine._models",
    "RunFailedError": "spine._exceptions",
    "RunHandle": "spine._handle",
    "RunMetadata": "spine._models",
    "RunProgress": "spine._models",
    "RunResult": "spine._models",
    "RunStatus": "spine._enums",
    "ServerError": "spine._exceptions",
    "SpineAPIError": "spine._exceptions",
    "SpineClient": "spine._client",
    "SpineConnectionError": "spine._exceptions",
    "SpineError": "spine._exceptions",
    "SpineTimeoutError": "spine._exceptions",
    "TaskNode": "spine._models",
    "TaskTree": "spine._models",
    "TaskType": "spine._enums",
    "Template": "spine._enums",
    "UnexpectedResponseError": "spine._exceptions",
    "WebhookEvent": "spine._models",
    "WebhookSignatureError": "spine._exceptions",
    "canvas_url": "spine._links",
}

__all__ = [
    "ArtifactDownloadError",
    "ArtifactLinkExpiredError",
    "ArtifactSizeMismatchError",
    "AsyncRunHandle",
    "AsyncSpineClient",
    "AuthenticationError",
    "BadRequestError",
    "BlockType",
    "CanvasDAG",
    "CanvasEdge",
    "CanvasNode",
    "CreateRunResponse",
    "GetRunResponse",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "RetryPolicy",
    "RunArtifact",
    "RunError",
    "RunFailedError",
    "RunHandle",
    "RunMetadata",
    "RunProgress",
    "RunResult",
    "RunStatus",
    "ServerError",
    "SpineAPIError",
    "SpineClient",
    "SpineConnectionError",
    "SpineError",
    "SpineTimeoutError",
    "TaskNode",
    "TaskTree",
    "TaskType",
    "Template",
    "UnexpectedResponseError",
    "WebhookEvent",
    "WebhookSignatureError",
    "__version__",
    "canvas_url",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
