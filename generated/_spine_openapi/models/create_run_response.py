from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateRunResponse")


@_attrs_define
class CreateRunResponse:
    """The run that `POST /v1/run` created.

    Attributes:
        run_id (str): The run's UUID.
        status (str): Always `running` at creation.
        poll_url (str): The relative path to poll, `/v1/run/{run_id}`.
        estimated_duration_ms (int): The expected duration of the run in milliseconds.
        canvas_id (None | str | Unset): The UUID of the run's canvas, when already known; often only reported by a later
            poll.
    """

    run_id: str
    status: str
    poll_url: str
    estimated_duration_ms: int
    canvas_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        run_id = self.run_id

        status = self.status

        poll_url = self.poll_url

        estimated_duration_ms = self.estimated_duration_ms

        canvas_id: None | str | Unset
        if isinstance(self.canvas_id, Unset):
            canvas_id = UNSET
        else:
            canvas_id = self.canvas_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "run_id": run_id,
                "status": status,
                "poll_url": poll_url,
                "estimated_duration_ms": estimated_duration_ms,
            }
        )
        if canvas_id is not UNSET:
            field_dict["canvas_id"] = canvas_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        run_id = d.pop("run_id")

        status = d.pop("status")

        poll_url = d.pop("poll_url")

        estimated_duration_ms = d.pop("estimated_duration_ms")

        def _parse_canvas_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        canvas_id = _parse_canvas_id(d.pop("canvas_id", UNSET))

        create_run_response = cls(
            run_id=run_id,
            status=status,
            poll_url=poll_url,
            estimated_duration_ms=estimated_duration_ms,
            canvas_id=canvas_id,
        )

        create_run_response.additional_properties = d
        return create_run_response

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
