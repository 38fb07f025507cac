"""openapi.yaml is a valid OpenAPI 3.1 document, complete against the docs, and every example
in it is valid against its schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from ._spec import Example, iter_media_examples, iter_schema_examples, load_spec, resolve

MEDIA_EXAMPLES = list(iter_media_examples())
SCHEMA_EXAMPLES = list(iter_schema_examples())


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    # Wrap the schema in a root that carries the spec's components, so #/components refs resolve.
    root = {"components": load_spec()["components"], "allOf": [schema]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def test_spec_is_valid_openapi_31() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises on any structural error


def test_the_documented_operations_are_present() -> None:
    """The five operations of the docs stay (a removal is also caught by `make spec-diff`);
    an added one is checked against the SDK, sandbox and CLI by test_operations.py."""
    spec = load_spec()
    ops = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    documented = {
        ("POST", "/v1/run"),
        ("GET", "/v1/run/{run_id}"),
        ("GET", "/v1/canvas/{canvas_id}/dag"),
        ("GET", "/v1/canvas/{canvas_id}/tasks"),
        ("GET", "/v1/canvas/{canvas_id}/tasks/{task_id}"),
    }
    assert documented <= ops, f"documented operations missing: {sorted(documented - ops)}"


def test_api_key_security_applies_everywhere() -> None:
    spec = load_spec()
    scheme = spec["components"]["securitySchemes"]["ApiKeyAuth"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-API-KEY"}
    assert spec["security"] == [{"ApiKeyAuth": []}]
    for item in spec["paths"].values():
        for op in item.values():
            assert "security" not in op  # nothing opts out of the global requirement


def test_every_operation_documents_the_error_responses() -> None:
    spec = load_spec()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            expected = {"200", "400", "401", "429", "500", "503"}
            expected |= {"409", "413"} if method == "post" else {"404"}
            assert expected <= codes, f"{method} {path}: {sorted(expected - codes)} missing"
            for code in codes - {"200"}:
                content = resolve(op["responses"][code])["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorEnvelope"}
            headers = resolve(op["responses"]["429"])["headers"]
            assert {"Retry-After", "X-Request-ID"} <= set(headers)


def test_create_run_form_fields_and_idempotency_key() -> None:
    spec = load_spec()
    op = spec["paths"]["/v1/run"]["post"]
    form = op["requestBody"]["content"]["multipart/form-data"]
    schema = resolve(form["schema"])
    assert set(schema["properties"]) == {
        "prompt",
        "template",
        "blocks",
        "agent_instructions",
        "webhook_url",
        "files",
    }
    assert schema["required"] == ["prompt"]
    assert schema["properties"]["files"]["items"] == {"type": "string", "format": "binary"}
    assert schema["properties"]["webhook_url"]["deprecated"] is True
    params = [resolve(p) for p in op["parameters"]]
    assert [(p["name"], p["in"], p["required"]) for p in params] == [
        ("Idempotency-Key", "header", False)
    ]


def test_request_fields_are_never_nullable() -> None:
    """A nullable form field would let the generated layer send the text "None"."""
    props = load_spec()["components"]["schemas"]["CreateRunRequest"]["properties"]
    for name, prop in props.items():
        prop = resolve(prop)
        types = prop.get("type")
        assert not (isinstance(types, list) and "null" in types), name


def test_vocabularies_keep_the_documented_values() -> None:
    """The docs' values stay, in the docs' order; the spec may add values (make generate
    follows), and a removal is also caught by `make spec-diff`."""
    schemas = load_spec()["components"]["schemas"]
    documented = {
        "Template": ["auto", "deep_research", "report", "slides", "memo", "excel", "app",
                     "landing_page"],
        "BlockType": ["prompt-block", "list-block", "memo-block", "document-block",
                      "excel-block", "deep-research-block", "image-block", "presentation-block",
                      "app-block", "table-block", "prototype-block", "landing-page-block",
                      "text-block", "web-block", "yt-block", "web-research-block", "file-block"],
        "RunStatus": ["running", "completed", "partial", "failed"],
        "TaskType": ["parent-task", "persona-task", "tool-call-task"],
    }
    for name, values in documented.items():
        spec_values = schemas[name]["enum"]
        assert spec_values[: len(values)] == values, f"{name}: a documented value was removed"
    assert schemas["BlockType"]["x-enum-varnames"][14] == "YOUTUBE"


@pytest.mark.parametrize("open_set", ["OpenRunStatus", "OpenBlockType", "OpenTaskType"])
def test_open_sets_accept_unknown_strings(open_set: str) -> None:
    schema = {"$ref": f"#/components/schemas/{open_set}"}
    _validator(schema).validate("some-value-added-next-year")


def test_there_are_examples_for_every_success_response() -> None:
    covered = {
        ex.where.split(" application/json")[0] for ex in MEDIA_EXAMPLES if ex.status == "200"
    }
    operations = {
        f"{method.upper()} {path}"
        for path, item in load_spec()["paths"].items()
        for method in item
        if method in {"get", "post"}
    }
    assert covered == {f"{op} 200" for op in operations}


@pytest.mark.parametrize("example", MEDIA_EXAMPLES + SCHEMA_EXAMPLES, ids=lambda e: e.where)
def test_example_is_valid_against_its_schema(example: Example) -> None:
    _validator(example.schema).validate(example.value)


def test_an_invalid_payload_is_rejected_by_the_same_check() -> None:
    """The example check above can fail: a payload missing a required field is refused."""
    schema = {"$ref": "#/components/schemas/GetRunEnvelope"}
    with pytest.raises(jsonschema.ValidationError):
        _validator(schema).validate({"success": True, "data": {"status": "running"}})
