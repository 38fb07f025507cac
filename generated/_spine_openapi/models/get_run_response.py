from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.run_status import RunStatus
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.run_error import RunError
    from ..models.run_metadata import RunMetadata
    from ..models.run_progress import RunProgress
    from ..models.run_result import RunResult


T = TypeVar("T", bound="GetRunResponse")


@_attrs_define
class GetRunResponse:
    """A run's state. `progress` is present while running; `result` and `metadata` once
    `completed` or `partial`; `errors` when `failed` (documented) or `partial` (ours).

        Attributes:
            run_id (str): The run's UUID.
            status (RunStatus | str): A run status; a value this description does not list is kept as a string and is never
                terminal.
            canvas_id (None | str | Unset): The UUID of the run's canvas; may be missing on the first polls.
            progress (None | RunProgress | Unset):
            duration_ms (int | None | Unset): Total wall-clock duration in milliseconds, once the run has finished.
            result (None | RunResult | Unset):
            metadata (None | RunMetadata | Unset):
            errors (list[RunError] | None | Unset): What went wrong, for `failed` and `partial` runs.
            prompt (None | str | Unset): The prompt the run was created with (echoed by some servers).
            template (None | str | Unset): The template the run was created with (echoed by some servers).
            blocks (list[str] | None | Unset): The block types the run was created with (echoed by some servers).
            agent_instructions (None | str | Unset): The agent instructions the run was created with (echoed by some
                servers).
    """

    run_id: str
    status: RunStatus | str
    canvas_id: None | str | Unset = UNSET
    progress: None | RunProgress | Unset = UNSET
    duration_ms: int | None | Unset = UNSET
    result: None | RunResult | Unset = UNSET
    metadata: None | RunMetadata | Unset = UNSET
    errors: list[RunError] | None | Unset = UNSET
    prompt: None | str | Unset = UNSET
    template: None | str | Unset = UNSET
    blocks: list[str] | None | Unset = UNSET
    agent_instructions: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.run_metadata import RunMetadata  # noqa: PLC0415
        from ..models.run_progress import RunProgress  # noqa: PLC0415
        from ..models.run_result import RunResult  # noqa: PLC0415

        run_id = self.run_id

        status: str
        if isinstance(self.status, RunStatus):
            status = self.status.value
        else:
            status = self.status

        canvas_id: None | str | Unset
        if isinstance(self.canvas_id, Unset):
            canvas_id = UNSET
        else:
            canvas_id = self.canvas_id

        progress: dict[str, Any] | None | Unset
        if isinstance(self.progress, Unset):
            progress = UNSET
        elif isinstance(self.progress, RunProgress):
            progress = self.progress.to_dict()
        else:
            progress = self.progress

        duration_ms: int | None | Unset
        if isinstance(self.duration_ms, Unset):
            duration_ms = UNSET
        else:
            duration_ms = self.duration_ms

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, RunResult):
            result = self.result.to_dict()
        else:
            result = self.result

        metadata: dict[str, Any] | None | Unset
        if isinstance(self.metadata, Unset):
            metadata = UNSET
        elif isinstance(self.metadata, RunMetadata):
            metadata = self.metadata.to_dict()
        else:
            metadata = self.metadata

        errors: list[dict[str, Any]] | None | Unset
        if isinstance(self.errors, Unset):
            errors = UNSET
        elif isinstance(self.errors, list):
            errors = []
            for errors_type_0_item_data in self.errors:
                errors_type_0_item = errors_type_0_item_data.to_dict()
                errors.append(errors_type_0_item)

        else:
            errors = self.errors

        prompt: None | str | Unset
        if isinstance(self.prompt, Unset):
            prompt = UNSET
        else:
            prompt = self.prompt

        template: None | str | Unset
        if isinstance(self.template, Unset):
            template = UNSET
        else:
            template = self.template

        blocks: list[str] | None | Unset
        if isinstance(self.blocks, Unset):
            blocks = UNSET
        elif isinstance(self.blocks, list):
            blocks = self.blocks

        else:
            blocks = self.blocks

        agent_instructions: None | str | Unset
        if isinstance(self.agent_instructions, Unset):
            agent_instructions = UNSET
        else:
            agent_instructions = self.agent_instructions

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "run_id": run_id,
                "status": status,
            }
        )
        if canvas_id is not UNSET:
            field_dict["canvas_id"] = canvas_id
        if progress is not UNSET:
            field_dict["progress"] = progress
        if duration_ms is not UNSET:
            field_dict["duration_ms"] = duration_ms
        if result is not UNSET:
            field_dict["result"] = result
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if errors is not UNSET:
            field_dict["errors"] = errors
        if prompt is not UNSET:
            field_dict["prompt"] = prompt
        if template is not UNSET:
            field_dict["template"] = template
        if blocks is not UNSET:
            field_dict["blocks"] = blocks
        if agent_instructions is not UNSET:
            field_dict["agent_instructions"] = agent_instructions

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_error import RunError  # noqa: PLC0415
        from ..models.run_metadata import RunMetadata  # noqa: PLC0415
        from ..models.run_progress import RunProgress  # noqa: PLC0415
        from ..models.run_result import RunResult  # noqa: PLC0415

        d = dict(src_dict)
        run_id = d.pop("run_id")

        def _parse_status(data: object) -> RunStatus | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_open_run_status_type_0 = RunStatus(data)

                return componentsschemas_open_run_status_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(RunStatus | str, data)

        status = _parse_status(d.pop("status"))

        def _parse_canvas_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        canvas_id = _parse_canvas_id(d.pop("canvas_id", UNSET))

        def _parse_progress(data: object) -> None | RunProgress | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = RunProgress.from_dict(data)

                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunProgress | Unset, data)

        progress = _parse_progress(d.pop("progress", UNSET))

        def _parse_duration_ms(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        duration_ms = _parse_duration_ms(d.pop("duration_ms", UNSET))

        def _parse_result(data: object) -> None | RunResult | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = RunResult.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunResult | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

        def _parse_metadata(data: object) -> None | RunMetadata | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                metadata_type_0 = RunMetadata.from_dict(data)

                return metadata_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RunMetadata | Unset, data)

        metadata = _parse_metadata(d.pop("metadata", UNSET))

        def _parse_errors(data: object) -> list[RunError] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                errors_type_0 = []
                _errors_type_0 = data
                for errors_type_0_item_data in _errors_type_0:
                    errors_type_0_item = RunError.from_dict(errors_type_0_item_data)

                    errors_type_0.append(errors_type_0_item)

                return errors_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[RunError] | None | Unset, data)

        errors = _parse_errors(d.pop("errors", UNSET))

        def _parse_prompt(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        prompt = _parse_prompt(d.pop("prompt", UNSET))

        def _parse_template(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        template = _parse_template(d.pop("template", UNSET))

        def _parse_blocks(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                blocks_type_0 = cast(list[str], data)

                return blocks_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        blocks = _parse_blocks(d.pop("blocks", UNSET))

        def _parse_agent_instructions(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent_instructions = _parse_agent_instructions(d.pop("agent_instructions", UNSET))

        get_run_response = cls(
            run_id=run_id,
            status=status,
            canvas_id=canvas_id,
            progress=progress,
            duration_ms=duration_ms,
            result=result,
            metadata=metadata,
            errors=errors,
            prompt=prompt,
            template=template,
            blocks=blocks,
            agent_instructions=agent_instructions,
        )

        get_run_response.additional_properties = d
        return get_run_response

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
