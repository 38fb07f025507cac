"""Closed vocabularies of the Spine API, as string enums.

Every enum here is a :class:`enum.StrEnum`: members compare equal to the raw strings the API
uses, and every SDK method that takes an enum accepts the raw string too.

The members come from ``openapi.yaml`` (``components/schemas/<Name>``: ``enum`` and
``x-enum-varnames``): ``make generate`` rewrites the lines between each pair of
``# --- generated`` markers, and ``make test`` fails when they are stale. Edit the spec, not
those lines.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL_STATUSES", "BlockType", "RunStatus", "TaskType", "Template"]


class Template(StrEnum):
    """A run template: an opinionated set of block types (``auto`` lets Spine choose)."""

    # --- generated from openapi.yaml: Template
    AUTO = "auto"
    DEEP_RESEARCH = "deep_research"
    REPORT = "report"
    SLIDES = "slides"
    MEMO = "memo"
    EXCEL = "excel"
    APP = "app"
    LANDING_PAGE = "landing_page"
    # --- end generated: Template


class BlockType(StrEnum):
    """The block types a run may create on its canvas, in the order the docs list them."""

    # --- generated from openapi.yaml: BlockType
    PROMPT = "prompt-block"
    LIST = "list-block"
    MEMO = "memo-block"
    DOCUMENT = "document-block"
    EXCEL = "excel-block"
    DEEP_RESEARCH = "deep-research-block"
    IMAGE = "image-block"
    PRESENTATION = "presentation-block"
    APP = "app-block"
    TABLE = "table-block"
    PROTOTYPE = "prototype-block"
    LANDING_PAGE = "landing-page-block"
    TEXT = "text-block"
    WEB = "web-block"
    YOUTUBE = "yt-block"
    WEB_RESEARCH = "web-research-block"
    FILE = "file-block"
    # --- end generated: BlockType


class RunStatus(StrEnum):
    """The state of a run. ``running`` moves to exactly one terminal state."""

    # --- generated from openapi.yaml: RunStatus
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    # --- end generated: RunStatus

    @property
    def is_terminal(self) -> bool:
        """True for ``completed``, ``partial`` and ``failed``."""
        return self is not RunStatus.RUNNING


class TaskType(StrEnum):
    """The three levels of the task tree."""

    # --- generated from openapi.yaml: TaskType
    PARENT = "parent-task"
    PERSONA = "persona-task"
    TOOL_CALL = "tool-call-task"
    # --- end generated: TaskType


TERMINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.FAILED}
)
