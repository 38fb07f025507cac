"""What every response model shares: the base class and the field types of open sets.

Every model ignores fields it does not know (``extra="ignore"``). A value of an open set (run
status, block type, task type) that the SDK does not know is kept as the raw string; a known
value becomes the enum member (which compares equal to the string). The models themselves live
in ``spine._models`` (runs, and the envelope parser), ``spine._canvas_models`` (canvases and
tasks) and ``spine._webhooks`` (webhook events), so that a process builds only the models of the
calls it makes; ``spine.models`` lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

from spine._enums import BlockType, RunStatus, TaskType

__all__ = [
    "NonNegativeInt",
    "OpenBlockType",
    "OpenRunStatus",
    "OpenTaskType",
    "SpineModel",
    "empty_list",
]

E = TypeVar("E", bound=StrEnum)


def _open_enum(enum_cls: type[E]) -> Callable[[Any], E | str]:
    """A validator for an open set: a known value becomes the member, a new one stays a str."""
    members: dict[str, E] = {member.value: member for member in enum_cls}

    def validate(value: Any) -> E | str:
        if isinstance(value, str):
            return members.get(value, value)
        raise PydanticCustomError("string_type", "Input should be a valid string")

    return validate


# Open sets (DESIGN.md principle 5): never fail on a value the SDK does not know. A plain
# validator (rather than a union) keeps error messages short and the choice deterministic; the
# JSON schema still says "one of the enum values, or any string".
OpenRunStatus = Annotated[
    RunStatus | str,
    PlainValidator(_open_enum(RunStatus), json_schema_input_type=RunStatus | str),
]
OpenBlockType = Annotated[
    BlockType | str,
    PlainValidator(_open_enum(BlockType), json_schema_input_type=BlockType | str),
]
OpenTaskType = Annotated[
    TaskType | str,
    PlainValidator(_open_enum(TaskType), json_schema_input_type=TaskType | str),
]

NonNegativeInt = Annotated[int, Field(ge=0)]


def empty_list() -> list[Any]:
    """The default of a list field: a new empty list per instance.

    A Python function rather than ``list``: pydantic reads the signature of every
    ``default_factory``, and reading a builtin's makes Python compile the tokenizer's
    regular expressions (about 2 ms of CPU on the first model a process builds).
    """
    return []


class SpineModel(BaseModel):
    """Base of every response model: unknown fields are ignored."""

    # No str_strip_whitespace: final_output, content and every other string are the user's data
    # and must come back exactly as the server sent them, leading and trailing spaces included.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=False)
