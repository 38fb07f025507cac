from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RunProgress")


@_attrs_define
class RunProgress:
    """How far a running run has got.

    Attributes:
        tasks_completed (int): Canvas tasks in a terminal state (`completed` or `error`).
        tasks_total (int): Tasks spawned so far; can grow while the run goes on.
        elapsed_ms (int): Wall time since the run was created, in milliseconds.
    """

    tasks_completed: int
    tasks_total: int
    elapsed_ms: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tasks_completed = self.tasks_completed

        tasks_total = self.tasks_total

        elapsed_ms = self.elapsed_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tasks_completed": tasks_completed,
                "tasks_total": tasks_total,
                "elapsed_ms": elapsed_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tasks_completed = d.pop("tasks_completed")

        tasks_total = d.pop("tasks_total")

        elapsed_ms = d.pop("elapsed_ms")

        run_progress = cls(
            tasks_completed=tasks_completed,
            tasks_total=tasks_total,
            elapsed_ms=elapsed_ms,
        )

        run_progress.additional_properties = d
        return run_progress

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
