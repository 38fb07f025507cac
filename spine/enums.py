"""Public home of the Spine enums: ``from spine.enums import RunStatus, TERMINAL_STATUSES``."""

from spine._enums import TERMINAL_STATUSES, BlockType, RunStatus, TaskType, Template

__all__ = ["TERMINAL_STATUSES", "BlockType", "RunStatus", "TaskType", "Template"]
