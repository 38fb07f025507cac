from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.get_run_response import GetRunResponse


T = TypeVar("T", bound="GetRunEnvelope")


@_attrs_define
class GetRunEnvelope:
    """
    Attributes:
        success (bool):
        data (GetRunResponse): A run's state. `progress` is present while running; `result` and `metadata` once
            `completed` or `partial`; `errors` when `failed` (documented) or `partial` (ours).
        error (None | Unset): Absent or null on success.
    """

    success: bool
    data: GetRunResponse
    error: None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        success = self.success

        data = self.data.to_dict()

        error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "success": success,
                "data": data,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.get_run_response import GetRunResponse  # noqa: PLC0415

        d = dict(src_dict)
        success = d.pop("success")

        data = GetRunResponse.from_dict(d.pop("data"))

        error = d.pop("error", UNSET)

        get_run_envelope = cls(
            success=success,
            data=data,
            error=error,
        )

        get_run_envelope.additional_properties = d
        return get_run_envelope

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
