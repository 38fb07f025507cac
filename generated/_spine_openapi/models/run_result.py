from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.run_artifact import RunArtifact


T = TypeVar("T", bound="RunResult")


@_attrs_define
class RunResult:
    """The output of a `completed` or `partial` run.

    Attributes:
        final_output (str): The synthesised answer or agent summary, in Markdown.
        artifacts (list[RunArtifact] | Unset): Files the run produced; may be empty.
    """

    final_output: str
    artifacts: list[RunArtifact] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        final_output = self.final_output

        artifacts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.artifacts, Unset):
            artifacts = []
            for artifacts_item_data in self.artifacts:
                artifacts_item = artifacts_item_data.to_dict()
                artifacts.append(artifacts_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "final_output": final_output,
            }
        )
        if artifacts is not UNSET:
            field_dict["artifacts"] = artifacts

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_artifact import RunArtifact  # noqa: PLC0415

        d = dict(src_dict)
        final_output = d.pop("final_output")

        _artifacts = d.pop("artifacts", UNSET)
        artifacts: list[RunArtifact] | Unset = UNSET
        if _artifacts is not UNSET:
            artifacts = []
            for artifacts_item_data in _artifacts:
                artifacts_item = RunArtifact.from_dict(artifacts_item_data)

                artifacts.append(artifacts_item)

        run_result = cls(
            final_output=final_output,
            artifacts=artifacts,
        )

        run_result.additional_properties = d
        return run_result

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
