"""Public home of the response models: ``from spine.models import GetRunResponse``."""

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

__all__ = [
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
]
