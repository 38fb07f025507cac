from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.block_type import BlockType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.canvas_node_sources_item import CanvasNodeSourcesItem


T = TypeVar("T", bound="CanvasNode")


@_attrs_define
class CanvasNode:
    """One block of the canvas.

    Attributes:
        id (str): The block UUID.
        name (str): The block's name.
        type_ (BlockType | str): A block type; a type this description does not list is kept as a string.
        status (str): The block's state, such as `idle`, `running`, `completed` or `error`; an open set.
        content (None | str | Unset): The block's textual output.
        url (None | str | Unset): An external URL or a pre-signed download URL.
        sources (list[CanvasNodeSourcesItem] | Unset): Block-type-specific source records, kept for audit.
    """

    id: str
    name: str
    type_: BlockType | str
    status: str
    content: None | str | Unset = UNSET
    url: None | str | Unset = UNSET
    sources: list[CanvasNodeSourcesItem] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        type_: str
        if isinstance(self.type_, BlockType):
            type_ = self.type_.value
        else:
            type_ = self.type_

        status = self.status

        content: None | str | Unset
        if isinstance(self.content, Unset):
            content = UNSET
        else:
            content = self.content

        url: None | str | Unset
        if isinstance(self.url, Unset):
            url = UNSET
        else:
            url = self.url

        sources: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.sources, Unset):
            sources = []
            for sources_item_data in self.sources:
                sources_item = sources_item_data.to_dict()
                sources.append(sources_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "type": type_,
                "status": status,
            }
        )
        if content is not UNSET:
            field_dict["content"] = content
        if url is not UNSET:
            field_dict["url"] = url
        if sources is not UNSET:
            field_dict["sources"] = sources

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.canvas_node_sources_item import CanvasNodeSourcesItem  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        def _parse_type_(data: object) -> BlockType | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_open_block_type_type_0 = BlockType(data)

                return componentsschemas_open_block_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BlockType | str, data)

        type_ = _parse_type_(d.pop("type"))

        status = d.pop("status")

        def _parse_content(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        content = _parse_content(d.pop("content", UNSET))

        def _parse_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        url = _parse_url(d.pop("url", UNSET))

        _sources = d.pop("sources", UNSET)
        sources: list[CanvasNodeSourcesItem] | Unset = UNSET
        if _sources is not UNSET:
            sources = []
            for sources_item_data in _sources:
                sources_item = CanvasNodeSourcesItem.from_dict(sources_item_data)

                sources.append(sources_item)

        canvas_node = cls(
            id=id,
            name=name,
            type_=type_,
            status=status,
            content=content,
            url=url,
            sources=sources,
        )

        canvas_node.additional_properties = d
        return canvas_node

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
