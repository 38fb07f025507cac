from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.template import Template
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateRunFields")


@_attrs_define
class CreateRunFields:
    """The form fields of `POST /v1/run` as application/x-www-form-urlencoded (no files):
    the fields of `CreateRunRequest` without `files`.

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
    """

    prompt: str
    template: Template | Unset = UNSET
    blocks: str | Unset = UNSET
    agent_instructions: str | Unset = UNSET
    webhook_url: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        prompt = self.prompt

        template: str | Unset = UNSET
        if not isinstance(self.template, Unset):
            template = self.template.value

        blocks = self.blocks

        agent_instructions = self.agent_instructions

        webhook_url = self.webhook_url

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

        return field_dict

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

        create_run_fields = cls(
            prompt=prompt,
            template=template,
            blocks=blocks,
            agent_instructions=agent_instructions,
            webhook_url=webhook_url,
        )

        return create_run_fields
