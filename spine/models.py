"""Public home of the response models: ``from spine.models import GetRunResponse``.

The imports below are the one static list of these names (``spine/__init__.py`` star-imports
this module for type checkers); ``__all__`` is this part of ``spine.__all__``, from the table in
``spine/_public.py``, and a test keeps the two equal.
"""

from typing import TYPE_CHECKING

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

if not TYPE_CHECKING:  # hidden from type checkers, which then take the imports above as the list
    __all__ = list(_PUBLIC["spine._models"])
