from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar

from attrs import define as _attrs_define

from .. import types
from ..models.template import Template
from ..types import UNSET, File, FileTypes, Unset

T = TypeVar("T", bound="CreateRunRequest")


@_attrs_define
class CreateRunRequest:
    """The form fields of `POST /v1/run` as multipart/form-data.

    Attributes:
        prompt (str): What the agents should do. Must not be empty or only white space.
        template (Template | Unset): An opinionated set of block types for the run. `auto` (the default) allows every
            block type. Ignored when `blocks` is given (precedence: blocks > template > auto).
        blocks (str | Unset): A JSON-encoded, non-empty array of block-type strings that overrides the template,
            for example `["document-block","table-block","web-block"]`. Invalid JSON, an
            unknown type or an empty array is rejected with 400. The pattern is derived from
            `BlockType` by `make generate`.
        agent_instructions (str | Unset): Behavioural guidance applied across all agent layers (tone, rigour, audience,
            citations).
        webhook_url (str | Unset): Reserved and not honoured: configure webhook endpoints in the developer portal
            instead. Accepted for forward compatibility.
        files (list[File] | Unset): Files for the agents, one `files` part per file. Images (PNG, JPEG, GIF, WEBP,
            SVG) become `image-block`s; documents (PDF, DOCX, XLSX, CSV, TXT, MD, YAML, JSON,
            ZIP) become indexed `file-block`s (documented). The sandbox recognises a file by its
            name's extension, else by its part's media type, refuses any other file with 400
            and a file over its size limit (50 MiB by default) with 413 (ours).
    """

    prompt: str
    template: Template | Unset = UNSET
    blocks: str | Unset = UNSET
    agent_instructions: str | Unset = UNSET
    webhook_url: str | Unset = UNSET
    files: list[File] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        template: str | Unset = UNSET
        if not isinstance(self.template, Unset):
            template = self.template.value

        blocks = self.blocks

        agent_instructions = self.agent_instructions

        webhook_url = self.webhook_url

        files: list[FileTypes] | Unset = UNSET
        if not isinstance(self.files, Unset):
            files = []
            for files_item_data in self.files:
                files_item = files_item_data.to_tuple()

                files.append(files_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "prompt": prompt,
            }
        )
        if template is not UNSET:
            field_dict["template"] = template
        if blocks is not UNSET:
            field_dict["blocks"] = blocks
        if agent_instructions is not UNSET:
            field_dict["agent_instructions"] = agent_instructions
        if webhook_url is not UNSET:
            field_dict["webhook_url"] = webhook_url
        if files is not UNSET:
            field_dict["files"] = files

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("prompt", (None, str(self.prompt).encode(), "text/plain")))

        if not isinstance(self.template, Unset):
            files.append(("template", (None, str(self.template.value).encode(), "text/plain")))

        if not isinstance(self.blocks, Unset):
            files.append(("blocks", (None, str(self.blocks).encode(), "text/plain")))

        if not isinstance(self.agent_instructions, Unset):
            files.append(("agent_instructions", (None, str(self.agent_instructions).encode(), "text/plain")))

        if not isinstance(self.webhook_url, Unset):
            files.append(("webhook_url", (None, str(self.webhook_url).encode(), "text/plain")))

        if not isinstance(self.files, Unset):
            for files_item_element in self.files:
                files.append(("files", files_item_element.to_tuple()))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        prompt = d.pop("prompt")

        _template = d.pop("template", UNSET)
        template: Template | Unset
        if isinstance(_template, Unset):
            template = UNSET
        else:
            template = Template(_template)

        blocks = d.pop("blocks", UNSET)

        agent_instructions = d.pop("agent_instructions", UNSET)

        webhook_url = d.pop("webhook_url", UNSET)

        _files = d.pop("files", UNSET)
        files: list[File] | Unset = UNSET
        if _files is not UNSET:
            files = []
            for files_item_data in _files:
                files_item = File(payload=BytesIO(files_item_data))

                files.append(files_item)

        create_run_request = cls(
            prompt=prompt,
            template=template,
            blocks=blocks,
            agent_instructions=agent_instructions,
            webhook_url=webhook_url,
            files=files,
        )

        return create_run_request
