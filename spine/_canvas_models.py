"""The models of a canvas (its blocks and edges) and of its tasks.

Public as ``spine.CanvasDAG`` etc. and through ``spine.models``; defined apart from the run
models so that a process that only creates and polls runs never builds them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from spine._model_base import OpenBlockType, OpenTaskType, SpineModel, empty_list

__all__ = ["CanvasDAG", "CanvasEdge", "CanvasNode", "TaskNode", "TaskTree"]


class CanvasNode(SpineModel):
    """One block of a canvas."""

    id: str
    name: str
    type: OpenBlockType
    """A :class:`BlockType` member, or the raw string for a new block type."""
    status: str
    """The block's state, such as ``idle``, ``running``, ``completed`` or ``error`` (open set)."""
    content: str | None = None
    """The block's textual output, exactly as sent."""
    url: str | None = None
    sources: list[Any] = Field(default_factory=empty_list)


class CanvasEdge(SpineModel):
    """The target block depends on, or was derived from, the source block."""

    source_id: str
    target_id: str


class CanvasDAG(SpineModel):
    """A canvas's blocks and the edges between them."""

    canvas_id: str
    canvas_name: str
    nodes: list[CanvasNode] = Field(default_factory=empty_list)
    edges: list[CanvasEdge] = Field(default_factory=empty_list)


class TaskNode(SpineModel):
    """One task, with its children (the single-task endpoint fills in the immediate ones)."""

    task_id: str
    name: str
    task_type: OpenTaskType
    """A :class:`TaskType` member, or the raw string for a new task type."""
    status: str
    """The task's state, such as ``completed``, ``running`` or ``error`` (open set)."""
    children: list[TaskNode] | None = None


class TaskTree(SpineModel):
    """A canvas's root tasks grouped by completion state."""

    canvas_id: str
    completed: list[TaskNode] = Field(default_factory=empty_list)
    not_completed: list[TaskNode] = Field(default_factory=empty_list)
