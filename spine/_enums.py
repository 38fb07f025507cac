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

__all__ = [
    "DONE_STATUSES",
    "FAILED_STATUSES",
    "RUN_STATUS_OUTCOMES",
    "TERMINAL_STATUSES",
    "BlockType",
    "RunStatus",
    "TaskType",
    "Template",
]


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
        """True when :data:`RUN_STATUS_OUTCOMES` says the status ends a run (``completed``,
        ``partial`` and ``failed``)."""
        return self in TERMINAL_STATUSES

    @property
    def outcome(self) -> str | None:
        """``"running"``, ``"done"`` or ``"failed"``, from :data:`RUN_STATUS_OUTCOMES`; None for
        a status without a row (never terminal)."""
        return RUN_STATUS_OUTCOMES.get(self.value)


class TaskType(StrEnum):
    """The three levels of the task tree."""

    # --- generated from openapi.yaml: TaskType
    PARENT = "parent-task"
    PERSONA = "persona-task"
    TOOL_CALL = "tool-call-task"
    # --- end generated: TaskType


RUN_STATUS_OUTCOMES: dict[str, str] = {
    "running": "running",
    "completed": "done",
    "partial": "done",
    "failed": "failed",
}
"""What each run status means to a wait, by wire value: ``"running"`` keeps polling, ``"done"``
ends it with the run's result, ``"failed"`` ends it with :class:`~spine.RunFailedError`.

A decision of this SDK, not generated: the spec lists the statuses (``make generate`` writes the
members above), but only a person can say whether a new one ends a run. A status without a row
is never terminal, so a wait on it polls until its timeout; ``tests/contract/test_run_status.py``
fails, naming this table, until every status of the spec has a row."""


def _with_outcome(outcome: str) -> frozenset[RunStatus]:
    return frozenset(s for s in RunStatus if RUN_STATUS_OUTCOMES.get(s.value) == outcome)


DONE_STATUSES: frozenset[RunStatus] = _with_outcome("done")
"""The statuses that end a wait with the run's result (``completed``, ``partial``)."""
FAILED_STATUSES: frozenset[RunStatus] = _with_outcome("failed")
"""The statuses that end a wait with :class:`~spine.RunFailedError` (``failed``)."""
TERMINAL_STATUSES: frozenset[RunStatus] = DONE_STATUSES | FAILED_STATUSES
"""The statuses that end a run: ``completed``, ``partial`` and ``failed``."""
