"""Closed vocabularies of the Spine API, as string enums.

Every enum here is a :class:`enum.StrEnum`: members compare equal to the raw strings the API
uses, and every SDK method that takes an enum accepts the raw string too.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TERMINAL_STATUSES", "BlockType", "RunStatus", "TaskType", "Template"]


class Template(StrEnum):
    """A run template: an opinionated set of block types (``auto`` lets Spine choose)."""

    AUTO = "auto"
    DEEP_RESEARCH = "deep_research"
    REPORT = "report"
    SLIDES = "slides"
    MEMO = "memo"
    EXCEL = "excel"
    APP = "app"
    LANDING_PAGE = "landing_page"


class BlockType(StrEnum):
    """The 17 block types a run may create on its canvas, in the order the docs list them."""

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


class RunStatus(StrEnum):
    """The state of a run. ``running`` moves to exactly one terminal state."""

    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        """True for ``completed``, ``partial`` and ``failed``."""
        return self is not RunStatus.RUNNING


class TaskType(StrEnum):
    """The three levels of the task tree."""

    PARENT = "parent-task"
    PERSONA = "persona-task"
    TOOL_CALL = "tool-call-task"


TERMINAL_STATUSES: frozenset[RunStatus] = frozenset(
    {RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.FAILED}
)
