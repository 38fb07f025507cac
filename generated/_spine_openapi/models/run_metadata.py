from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RunMetadata")


@_attrs_define
class RunMetadata:
    """Accounting for a finished run.

    Attributes:
        template_used (str): The template the run used.
        credits_consumed (int): The credits the run cost ($1 = 1,000 credits).
        models_used (list[str] | Unset): The models the agents used.
    """

    template_used: str
    credits_consumed: int
    models_used: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        template_used = self.template_used

        credits_consumed = self.credits_consumed

        models_used: list[str] | Unset = UNSET
        if not isinstance(self.models_used, Unset):
            models_used = self.models_used

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "template_used": template_used,
                "credits_consumed": credits_consumed,
            }
        )
        if models_used is not UNSET:
            field_dict["models_used"] = models_used

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        template_used = d.pop("template_used")

        credits_consumed = d.pop("credits_consumed")

        models_used = cast(list[str], d.pop("models_used", UNSET))

        run_metadata = cls(
            template_used=template_used,
            credits_consumed=credits_consumed,
            models_used=models_used,
        )

        run_metadata.additional_properties = d
        return run_metadata

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
