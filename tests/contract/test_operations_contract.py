"""What ``spine/_operations.py`` relies on in the generated endpoint modules, pinned: the
signatures of their ``_get_kwargs`` (the ids are ``uuid.UUID``, as the spec's ``string<uuid>``
path parameters say) and what they build from them. A regeneration that changes either fails
here, not in a user's request."""

from __future__ import annotations

import inspect
import typing
import uuid

import pytest
import yaml

from ._spec import ROOT

ENDPOINTS = {
    "_spine_openapi.api.runs.get_run": (("run_id", uuid.UUID),),
    "_spine_openapi.api.canvas.get_canvas_dag": (("canvas_id", uuid.UUID),),
    "_spine_openapi.api.canvas.get_canvas_tasks": (("canvas_id", uuid.UUID),),
    "_spine_openapi.api.canvas.get_canvas_task": (
        ("canvas_id", uuid.UUID),
        ("task_id", uuid.UUID),
    ),
}


@pytest.mark.parametrize("module", sorted(ENDPOINTS))
def test_id_endpoints_take_uuids(module: str) -> None:
    import importlib

    endpoint = importlib.import_module(module)
    signature = inspect.signature(endpoint._get_kwargs)
    # The generated module imports UUID for annotations only (under TYPE_CHECKING), so the
    # hints are resolved with it supplied.
    hints = typing.get_type_hints(endpoint._get_kwargs, localns={"UUID": uuid.UUID})
    expected = ENDPOINTS[module]
    assert [(name, hints[name]) for name in signature.parameters] == list(expected)
    assert all(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in signature.parameters.values()
    )
    # Each id lands in exactly one escaped path segment.
    ids = [uuid.uuid4() for _ in expected]
    url = endpoint._get_kwargs(*ids)["url"]
    for value in ids:
        assert f"/{value}" in url and url.count(str(value)) == 1


def test_create_run_takes_a_body_and_an_idempotency_key() -> None:
    from _spine_openapi.api.runs import create_run
    from _spine_openapi.models import CreateRunFields, CreateRunRequest
    from _spine_openapi.types import Unset

    signature = inspect.signature(create_run._get_kwargs)
    # Annotation-only imports of the generated module (under TYPE_CHECKING) supplied here.
    names = {"CreateRunRequest": CreateRunRequest, "CreateRunFields": CreateRunFields}
    hints = typing.get_type_hints(create_run._get_kwargs, localns={**names, "Unset": Unset})
    assert list(signature.parameters) == ["body", "idempotency_key"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in signature.parameters.values())
    # The multipart request body (the spec also allows the urlencoded one): what
    # spine._operations.create_run builds.
    assert CreateRunRequest in typing.get_args(hints["body"])
    assert hints["idempotency_key"] == str | Unset


def test_the_spec_declares_every_id_parameter_a_uuid() -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    params: dict[str, dict[str, object]] = {}
    for path in spec["paths"].values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for param in operation.get("parameters", []):
                if "$ref" in param:
                    name = param["$ref"].rsplit("/", 1)[-1]
                    param = spec["components"]["parameters"][name]
                if param.get("in") == "path":
                    params[param["name"]] = param["schema"]
    assert set(params) == {"run_id", "canvas_id", "task_id"}
    assert all(schema.get("format") == "uuid" for schema in params.values()), params


def test_operations_pass_uuids_without_type_ignores() -> None:
    source = (ROOT / "spine" / "_operations.py").read_text(encoding="utf-8")
    calls = [line for line in source.splitlines() if "endpoint._get_kwargs(" in line]
    assert len(calls) == 5
    assert not [line for line in calls if "type: ignore" in line]
