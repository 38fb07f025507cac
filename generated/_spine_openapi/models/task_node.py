from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.task_type import TaskType
from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskNode")


@_attrs_define
class TaskNode:
    """One task, with its children.

    Attributes:
        task_id (str): The task UUID.
        name (str): The task's name, usually a tool call or an agent subject.
        task_type (str | TaskType): A task type; a type this description does not list is kept as a string.
        status (str): The task's state, such as `completed`, `running` or `error`; an open set.
        children (list[TaskNode] | None | Unset): Sub-tasks. The single-task endpoint fills in only the immediate
            children.
    """

    task_id: str
    name: str
    task_type: str | TaskType
    status: str
    children: list[TaskNode] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_id = self.task_id

        name = self.name

        task_type: str
        if isinstance(self.task_type, TaskType):
            task_type = self.task_type.value
        else:
            task_type = self.task_type

        status = self.status

        children: list[dict[str, Any]] | None | Unset
        if isinstance(self.children, Unset):
            children = UNSET
        elif isinstance(self.children, list):
            children = []
            for children_type_0_item_data in self.children:
                children_type_0_item = children_type_0_item_data.to_dict()
                children.append(children_type_0_item)

        else:
            children = self.children

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_id": task_id,
                "name": name,
                "task_type": task_type,
                "status": status,
            }
        )
        if children is not UNSET:
            field_dict["children"] = children

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        task_id = d.pop("task_id")

        name = d.pop("name")

        def _parse_task_type(data: object) -> str | TaskType:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_open_task_type_type_0 = TaskType(data)

                return componentsschemas_open_task_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | TaskType, data)

        task_type = _parse_task_type(d.pop("task_type"))

        status = d.pop("status")

        def _parse_children(data: object) -> list[TaskNode] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                children_type_0 = []
                _children_type_0 = data
                for children_type_0_item_data in _children_type_0:
                    children_type_0_item = TaskNode.from_dict(children_type_0_item_data)

                    children_type_0.append(children_type_0_item)

                return children_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[TaskNode] | None | Unset, data)

        children = _parse_children(d.pop("children", UNSET))

        task_node = cls(
            task_id=task_id,
            name=name,
            task_type=task_type,
            status=status,
            children=children,
        )

        task_node.additional_properties = d
        return task_node

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
