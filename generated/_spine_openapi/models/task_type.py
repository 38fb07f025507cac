from enum import StrEnum


class TaskType(StrEnum):
    PARENT = "parent-task"
    PERSONA = "persona-task"
    TOOL_CALL = "tool-call-task"

    def __str__(self) -> str:
        return str(self.value)
