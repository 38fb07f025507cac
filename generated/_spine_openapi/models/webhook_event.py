from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.webhook_event_data import WebhookEventData


T = TypeVar("T", bound="WebhookEvent")


@_attrs_define
class WebhookEvent:
    """The body of a webhook delivery. Event types: `run.started`, `run.completed`,
    `run.failed` and `webhook.ping` (no event is documented for `partial`).

        Attributes:
            id (str): Unique per delivery (`evt_...`); use it to drop duplicate deliveries.
            type_ (str): The event type, such as `run.completed`; an open set.
            created (int): When the event was created, in Unix seconds.
            livemode (bool | Unset): True for production events.
            api_version (None | str | Unset): The API version of the payload, bumped on breaking changes.
            data (WebhookEventData | Unset): The event's payload.
    """

    id: str
    type_: str
    created: int
    livemode: bool | Unset = UNSET
    api_version: None | str | Unset = UNSET
    data: WebhookEventData | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        type_ = self.type_

        created = self.created

        livemode = self.livemode

        api_version: None | str | Unset
        if isinstance(self.api_version, Unset):
            api_version = UNSET
        else:
            api_version = self.api_version

        data: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data, Unset):
            data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "created": created,
            }
        )
        if livemode is not UNSET:
            field_dict["livemode"] = livemode
        if api_version is not UNSET:
            field_dict["api_version"] = api_version
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.webhook_event_data import WebhookEventData  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        type_ = d.pop("type")

        created = d.pop("created")

        livemode = d.pop("livemode", UNSET)

        def _parse_api_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        api_version = _parse_api_version(d.pop("api_version", UNSET))

        _data = d.pop("data", UNSET)
        data: WebhookEventData | Unset
        if isinstance(_data, Unset):
            data = UNSET
        else:
            data = WebhookEventData.from_dict(_data)

        webhook_event = cls(
            id=id,
            type_=type_,
            created=created,
            livemode=livemode,
            api_version=api_version,
            data=data,
        )

        webhook_event.additional_properties = d
        return webhook_event

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
