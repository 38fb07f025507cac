from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RunError")


@_attrs_define
class RunError:
    """One error of a `failed` or `partial` run.

    Attributes:
        error (str): What went wrong.
        block_id (None | str | Unset): The block that failed, when known.
        block_type (None | str | Unset): The type of the block that failed, when known.
        recoverable (bool | None | Unset): Whether a retry of the run might succeed, when known.
    """

    error: str
    block_id: None | str | Unset = UNSET
    block_type: None | str | Unset = UNSET
    recoverable: bool | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error

        block_id: None | str | Unset
        if isinstance(self.block_id, Unset):
            block_id = UNSET
        else:
            block_id = self.block_id

        block_type: None | str | Unset
        if isinstance(self.block_type, Unset):
            block_type = UNSET
        else:
            block_type = self.block_type

        recoverable: bool | None | Unset
        if isinstance(self.recoverable, Unset):
            recoverable = UNSET
        else:
            recoverable = self.recoverable

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
            }
        )
        if block_id is not UNSET:
            field_dict["block_id"] = block_id
        if block_type is not UNSET:
            field_dict["block_type"] = block_type
        if recoverable is not UNSET:
            field_dict["recoverable"] = recoverable

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error = d.pop("error")

        def _parse_block_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        block_id = _parse_block_id(d.pop("block_id", UNSET))

        def _parse_block_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        block_type = _parse_block_type(d.pop("block_type", UNSET))

        def _parse_recoverable(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        recoverable = _parse_recoverable(d.pop("recoverable", UNSET))

        run_error = cls(
            error=error,
            block_id=block_id,
            block_type=block_type,
            recoverable=recoverable,
        )

        run_error.additional_properties = d
        return run_error

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
