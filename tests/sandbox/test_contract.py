"""The sandbox's bodies and headers against the committed contract, ``openapi.yaml``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from spine.testing import ManualClock, Sandbox

from .conftest import create, error_of

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="openapi.yaml is not there yet")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(SPEC.read_text()))


def check(spec: dict[str, Any], schema_name: str, body: Any) -> None:
    import jsonschema

    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_success_bodies_match_the_contract(spec: dict[str, Any]) -> None:
    clock = ManualClock()
    with Sandbox(clock=clock, run_duration=10) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as http:
        box.script_outcomes("completed", "partial", "failed")
        files = [("files", ("a.csv", b"1,2", "text/csv")), ("files", ("b.png", b"x", "image/png"))]
        runs = []
        for i in range(3):
            response = http.post("/v1/run", data={"prompt": f"run {i}", "template": "report"},
                                 files=files)
            check(spec, "CreateRunEnvelope", response.json())
            runs.append(response.json()["data"])
        for moment in (0.0, 4.0, 10.0):
            clock.set(moment)
            for run in runs:
                check(spec, "GetRunEnvelope", http.get(run["poll_url"]).json())
                canvas = run["canvas_id"]
                check(spec, "CanvasDAGEnvelope", http.get(f"/v1/canvas/{canvas}/dag").json())
                tree = http.get(f"/v1/canvas/{canvas}/tasks").json()
                check(spec, "TaskTreeEnvelope", tree)
                roots = tree["data"]["completed"] + tree["data"]["not_completed"]
                for root in roots[:2]:
                    one = http.get(f"/v1/canvas/{canvas}/tasks/{root['task_id']}").json()
                    check(spec, "TaskNodeEnvelope", one)


def test_hidden_canvas_id_matches_the_contract(spec: dict[str, Any]) -> None:
    with Sandbox(canvas_id_after_polls=1) as box, httpx.Client(
        base_url=box.url, headers={"X-API-KEY": box.api_key}
    ) as http:
        body = http.post("/v1/run", data={"prompt": "x"}).json()
        check(spec, "CreateRunEnvelope", body)
        check(spec, "GetRunEnvelope", http.get(body["data"]["poll_url"]).json())


def test_error_bodies_match_the_contract(
    spec: dict[str, Any], sandbox: Sandbox, http: httpx.Client
) -> None:
    responses = [
        httpx.post(sandbox.url + "/v1/run", data={"prompt": "x"}),
        http.post("/v1/run", data={"prompt": "x", "template": "foo"}),
        http.get("/v1/run/nope"),
        http.get("/v1/run/550e8400-e29b-41d4-a716-446655440000"),
        http.get("/nowhere"),
    ]
    sandbox.inject(status=429, retry_after=1)
    sandbox.inject(status=503)
    sandbox.inject(status=500)
    responses += [http.post("/v1/run", data={"prompt": "x"}) for _ in range(3)]
    for response in responses:
        assert response.status_code >= 400
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-request-id"]
        check(spec, "ErrorEnvelope", response.json())
    assert responses[-3].headers["retry-after"] == "1"


# "Invalid block types: my-block. Valid block types: app-block, deep-research-block, ..."
_LISTING = re.compile(r"^(?P<what>[^:]+): (?P<bad>.*?)\. (?P<valid>Valid [^:]+): (?P<values>.*)$")


def listing_problems(name: str, docs: str, sandbox: str) -> list[str]:
    """A docs example that lists valid values (of its day) against the sandbox's text: the
    same shape, and every value the docs list still among the sandbox's (which lists what the
    spec has now, so it may list more, in another position)."""
    d, s = _LISTING.match(docs), _LISTING.match(sandbox)
    if d is None or s is None:
        return [f"{name}: the sandbox says {sandbox!r}, not in the shape of the docs' {docs!r}"]
    problems = []
    if (d["what"], d["bad"], d["valid"]) != (s["what"], s["bad"], s["valid"]):
        problems.append(
            f"{name}: the sandbox says {s['what']}: {s['bad']}. {s['valid']}: ..., the docs "
            f"{d['what']}: {d['bad']}. {d['valid']}: ... Fix: the sandbox's text in "
            "spine/testing/_server/_app.py"
        )
    listed = [v for v in d["values"].split(", ") if v != "..."]
    missing = [v for v in listed if v not in s["values"].split(", ")]
    if missing:
        problems.append(
            f"{name}: the docs' example lists {missing}, which the sandbox no longer offers (the "
            "spec dropped them?). Fix: if the docs page (x-spine-source) changed, copy its new "
            "text into the example in openapi.yaml; otherwise put the values back in the spec."
        )
    return problems


def test_the_listing_comparison_fails_when_it_should() -> None:
    docs = "Invalid block types: my-block. Valid block types: app-block, deep-research-block, ..."
    grown = "Invalid block types: my-block. Valid block types: app-block, chart-block, " \
            "deep-research-block, file-block"  # fmt: skip
    assert listing_problems("x", docs, grown) == []
    shrunk = grown.replace("app-block, ", "")
    assert listing_problems("x", docs, shrunk) == [
        "x: the docs' example lists ['app-block'], which the sandbox no longer offers (the spec "
        "dropped them?). Fix: if the docs page (x-spine-source) changed, copy its new text into "
        "the example in openapi.yaml; otherwise put the values back in the spec."
    ]
    assert len(listing_problems("x", docs, grown.replace("types:", "kinds:"))) == 1
    assert len(listing_problems("x", docs, "Bad blocks")) == 1


def test_documented_error_examples_are_what_the_sandbox_says(
    spec: dict[str, Any], sandbox: Sandbox, http: httpx.Client
) -> None:
    examples = spec["components"]["responses"]["BadRequest"]["content"]["application/json"][
        "examples"
    ]
    template = http.post("/v1/run", data={"prompt": "x", "template": "foo"}).json()
    blocks = http.post("/v1/run", data={"prompt": "x", "blocks": '["my-block"]'}).json()
    problems = []
    for name, answer in (("invalid_template", template), ("invalid_blocks", blocks)):
        docs = examples[name]["value"]
        assert answer["success"] is docs["success"] is False, (name, answer)
        problems += listing_problems(name, docs["error"], answer["error"])
    assert problems == []
    movie = http.post("/v1/run", data={"prompt": "x"},
                      files=[("files", ("movie.mp4", b"x", "video/mp4"))]).json()
    assert movie == examples["unsupported_file"]["value"]
    run_id = http.get("/v1/run/not-a-uuid").json()
    assert run_id == examples["invalid_run_id"]["value"]
    missing = spec["components"]["responses"]["NotFound"]["content"]["application/json"][
        "examples"
    ]["run_not_found"]["value"]
    assert http.get("/v1/run/550e8400-e29b-41d4-a716-446655440000").json() == missing
    unauthorized = httpx.get(sandbox.url + "/v1/run/550e8400-e29b-41d4-a716-446655440000")
    assert unauthorized.json() == spec["components"]["responses"]["Unauthorized"]["content"][
        "application/json"]["examples"]["missing_key"]["value"]


def test_create_form_fields_are_the_documented_ones(spec: dict[str, Any]) -> None:
    fields = set(spec["components"]["schemas"]["CreateRunRequest"]["properties"])
    assert fields >= {"prompt", "template", "blocks", "agent_instructions", "webhook_url",
                      "files"}


def test_webhook_url_is_accepted_and_ignored(sandbox: Sandbox, http: httpx.Client) -> None:
    created = create(http, "x", webhook_url="https://example.com/hook")
    assert created["status"] == "running"


def test_the_spec_urlencoded_create_body_is_accepted(sandbox: Sandbox, http: httpx.Client) -> None:
    """The generated client's urlencoded body (the spec's CreateRunFields, as the official SDK
    sends without files) creates a run, with every field read."""
    from _spine_openapi.api.runs import create_run
    from _spine_openapi.models import CreateRunFields, Template

    body = CreateRunFields(
        prompt="Hello urlencoded", template=Template.MEMO, blocks='["table-block"]',
        agent_instructions="Be brief.",
    )
    kwargs = create_run._get_kwargs(body=body)
    assert kwargs["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    response = http.request(kwargs["method"], kwargs["url"], data=kwargs["data"],
                            headers=kwargs["headers"])
    assert response.status_code == 200, response.text
    info = sandbox.run_info(response.json()["data"]["run_id"])
    assert info["prompt"] == "Hello urlencoded" and info["template"] == "memo"
    assert info["blocks"] == ["table-block"] and info["agent_instructions"] == "Be brief."
    refused = http.post("/v1/run", data={"prompt": "x", "colour": "blue"})
    assert refused.status_code == 400 and error_of(refused).startswith("Unknown field: colour")
