"""Public home of the response models: ``from spine.models import GetRunResponse``.

How the names are listed (here for type checkers, in ``spine/_public.py`` for Python): see
``spine/_public.py``.
"""

import typing as _typing

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
from spine._public import PUBLIC as _PUBLIC

if not _typing.TYPE_CHECKING:  # type checkers take the imports above as the list
    __all__ = list(_PUBLIC["spine._models"])
