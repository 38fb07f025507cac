from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_node import TaskNode


T = TypeVar("T", bound="TaskTree")


@_attrs_define
class TaskTree:
    """The canvas's root tasks grouped by completion state.

    Attributes:
        canvas_id (str): The canvas UUID.
        completed (list[TaskNode] | Unset): Root tasks whose whole subtree completed.
        not_completed (list[TaskNode] | Unset): Root tasks still in progress, or failed.
    """

    canvas_id: str
    completed: list[TaskNode] | Unset = UNSET
    not_completed: list[TaskNode] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        canvas_id = self.canvas_id

        completed: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.completed, Unset):
            completed = []
            for completed_item_data in self.completed:
                completed_item = completed_item_data.to_dict()
                completed.append(completed_item)

        not_completed: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.not_completed, Unset):
            not_completed = []
            for not_completed_item_data in self.not_completed:
                not_completed_item = not_completed_item_data.to_dict()
                not_completed.append(not_completed_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "canvas_id": canvas_id,
            }
        )
        if completed is not UNSET:
            field_dict["completed"] = completed
        if not_completed is not UNSET:
            field_dict["not_completed"] = not_completed

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.task_node import TaskNode  # noqa: PLC0415

        d = dict(src_dict)
        canvas_id = d.pop("canvas_id")

        _completed = d.pop("completed", UNSET)
        completed: list[TaskNode] | Unset = UNSET
        if _completed is not UNSET:
            completed = []
            for completed_item_data in _completed:
                completed_item = TaskNode.from_dict(completed_item_data)

                completed.append(completed_item)

        _not_completed = d.pop("not_completed", UNSET)
        not_completed: list[TaskNode] | Unset = UNSET
        if _not_completed is not UNSET:
            not_completed = []
            for not_completed_item_data in _not_completed:
                not_completed_item = TaskNode.from_dict(not_completed_item_data)

                not_completed.append(not_completed_item)

        task_tree = cls(
            canvas_id=canvas_id,
            completed=completed,
            not_completed=not_completed,
        )

        task_tree.additional_properties = d
        return task_tree

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
