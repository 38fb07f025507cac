from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.canvas_edge import CanvasEdge
    from ..models.canvas_node import CanvasNode


T = TypeVar("T", bound="CanvasDAG")


@_attrs_define
class CanvasDAG:
    """A canvas's blocks and the edges between them.

    Attributes:
        canvas_id (str): The canvas UUID.
        canvas_name (str): The canvas's name.
        nodes (list[CanvasNode] | Unset):
        edges (list[CanvasEdge] | Unset):
    """

    canvas_id: str
    canvas_name: str
    nodes: list[CanvasNode] | Unset = UNSET
    edges: list[CanvasEdge] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        canvas_id = self.canvas_id

        canvas_name = self.canvas_name

        nodes: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.nodes, Unset):
            nodes = []
            for nodes_item_data in self.nodes:
                nodes_item = nodes_item_data.to_dict()
                nodes.append(nodes_item)

        edges: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.edges, Unset):
            edges = []
            for edges_item_data in self.edges:
                edges_item = edges_item_data.to_dict()
                edges.append(edges_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "canvas_id": canvas_id,
                "canvas_name": canvas_name,
            }
        )
        if nodes is not UNSET:
            field_dict["nodes"] = nodes
        if edges is not UNSET:
            field_dict["edges"] = edges

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.canvas_edge import CanvasEdge  # noqa: PLC0415
        from ..models.canvas_node import CanvasNode  # noqa: PLC0415

        d = dict(src_dict)
        canvas_id = d.pop("canvas_id")

        canvas_name = d.pop("canvas_name")

        _nodes = d.pop("nodes", UNSET)
        nodes: list[CanvasNode] | Unset = UNSET
        if _nodes is not UNSET:
            nodes = []
            for nodes_item_data in _nodes:
                nodes_item = CanvasNode.from_dict(nodes_item_data)

                nodes.append(nodes_item)

        _edges = d.pop("edges", UNSET)
        edges: list[CanvasEdge] | Unset = UNSET
        if _edges is not UNSET:
            edges = []
            for edges_item_data in _edges:
                edges_item = CanvasEdge.from_dict(edges_item_data)

                edges.append(edges_item)

        canvas_dag = cls(
            canvas_id=canvas_id,
            canvas_name=canvas_name,
            nodes=nodes,
            edges=edges,
        )

        canvas_dag.additional_properties = d
        return canvas_dag

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
