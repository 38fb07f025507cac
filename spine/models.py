"""Public home of the response models: ``from spine.models import GetRunResponse``.

``__all__`` is this part of ``spine.__all__`` (listed once, in ``spine/_public.py``).
"""

from spine._models import (
    CanvasDAG as CanvasDAG,
    CanvasEdge as CanvasEdge,
    CanvasNode as CanvasNode,
    CreateRunResponse as CreateRunResponse,
    GetRunResponse as GetRunResponse,
    RunArtifact as RunArtifact,
    RunError as RunError,
    RunMetadata as RunMetadata,
    RunProgress as RunProgress,
    RunResult as RunResult,
    TaskNode as TaskNode,
    TaskTree as TaskTree,
    WebhookEvent as WebhookEvent,
)
from spine._public import PUBLIC

__all__ = list(PUBLIC["spine._models"])
