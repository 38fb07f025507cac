"""Every documented (and decided) error: auth, input validation, ids, routing, limits."""

from __future__ import annotations

import uuid

import httpx
import pytest

from spine import BlockType, Template
from spine.testing import Sandbox

from .conftest import OTHER_KEY, create, error_of

# The docs' message lists the valid values alphabetically; the values come from the spec.
VALID_TEMPLATES = ", ".join(sorted(t.value for t in Template))
VALID_BLOCKS = ", ".join(sorted(b.value for b in BlockType))
MISSING = str(uuid.uuid4())


def _post(http: httpx.Client, data: dict[str, str], files: object = None) -> httpx.Response:
    return http.post("/v1/run", data=data, files=files)  # type: ignore[arg-type]


# ------------------------------------------------------------------ auth


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/run"),
        ("GET", f"/v1/run/{MISSING}"),
        ("GET", f"/v1/canvas/{MISSING}/dag"),
        ("GET", f"/v1/canvas/{MISSING}/tasks"),
        ("GET", f"/v1/canvas/{MISSING}/tasks/{MISSING}"),
    ],
)
def test_missing_key_is_401_everywhere(sandbox: Sandbox, method: str, path: str) -> None:
    response = httpx.request(method, sandbox.url + path)
    assert response.status_code == 401
    assert error_of(response) == "X-API-KEY header required"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"]


def test_empty_key_is_missing(sandbox: Sandbox) -> None:
    response = httpx.post(sandbox.url + "/v1/run", headers={"X-API-KEY": ""},
                          data={"prompt": "x"})
    assert response.status_code == 401
    assert error_of(response) == "X-API-KEY header required"


@pytest.mark.parametrize("key", ["nope", "sk_spine_", "sk_live_123", "SK_SPINE_abc"])
def test_unknown_key_is_401(sandbox: Sandbox, key: str) -> None:
    response = httpx.post(sandbox.url + "/v1/run", headers={"X-API-KEY": key},
                          data={"prompt": "x"})
    assert response.status_code == 401
    assert error_of(response) == "Invalid API key"
    assert sandbox.runs_created == 0


def test_any_sk_spine_key_is_accepted_by_default(sandbox: Sandbox) -> None:
    response = httpx.post(sandbox.url + "/v1/run", headers={"X-API-KEY": "sk_spine_whatever"},
                          data={"prompt": "x"})
    assert response.status_code == 200


def test_configured_keys_only() -> None:
    with Sandbox(api_keys=["sk_spine_one", "custom-key"]) as box:
        assert box.api_key == "sk_spine_one"
        ok = httpx.post(box.url + "/v1/run", headers={"X-API-KEY": "custom-key"},
                        data={"prompt": "x"})
        assert ok.status_code == 200
        denied = httpx.post(box.url + "/v1/run", headers={"X-API-KEY": "sk_spine_two"},
                            data={"prompt": "x"})
        assert denied.status_code == 401


def test_runs_are_private_to_their_key(sandbox: Sandbox, http: httpx.Client) -> None:
    created = create(http, "mine")
    other = {"X-API-KEY": OTHER_KEY}
    run_id, canvas_id = created["run_id"], created["canvas_id"]
    response = httpx.get(f"{sandbox.url}/v1/run/{run_id}", headers=other)
    assert response.status_code == 404
    assert error_of(response) == f"Run not found: {run_id}"
    response = httpx.get(f"{sandbox.url}/v1/canvas/{canvas_id}/dag", headers=other)
    assert response.status_code == 404
    assert error_of(response) == f"Canvas not found: {canvas_id}"
    response = httpx.get(f"{sandbox.url}/v1/canvas/{canvas_id}/tasks", headers=other)
    assert response.status_code == 404
    # The owner still sees it.
    assert http.get(f"/v1/run/{run_id}").status_code == 200


# ------------------------------------------------------------------ ids


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/v1/run/not-a-uuid", "Invalid run_id: must be a valid UUID"),
        ("/v1/run/550e8400e29b41d4a716446655440000", "Invalid run_id: must be a valid UUID"),
        ("/v1/run/a%2Fb", "Invalid run_id: must be a valid UUID"),
        ("/v1/canvas/xyz/dag", "Invalid canvas_id: must be a valid UUID"),
        ("/v1/canvas/xyz/tasks", "Invalid canvas_id: must be a valid UUID"),
        (f"/v1/canvas/xyz/tasks/{MISSING}", "Invalid canvas_id: must be a valid UUID"),
    ],
)
def test_malformed_ids_are_400(http: httpx.Client, path: str, message: str) -> None:
    response = http.get(path)
    assert response.status_code == 400
    assert error_of(response) == message


def test_malformed_task_id_is_400(sandbox: Sandbox, http: httpx.Client) -> None:
    canvas_id = create(http)["canvas_id"]
    response = http.get(f"/v1/canvas/{canvas_id}/tasks/12345")
    assert response.status_code == 400
    assert error_of(response) == "Invalid task_id: must be a valid UUID"


def test_unknown_ids_are_404(sandbox: Sandbox, http: httpx.Client) -> None:
    response = http.get(f"/v1/run/{MISSING}")
    assert response.status_code == 404
    assert error_of(response) == f"Run not found: {MISSING}"
    response = http.get(f"/v1/canvas/{MISSING}/dag")
    assert response.status_code == 404
    assert error_of(response) == f"Canvas not found: {MISSING}"
    canvas_id = create(http)["canvas_id"]
    response = http.get(f"/v1/canvas/{canvas_id}/tasks/{MISSING}")
    assert response.status_code == 404
    assert error_of(response) == f"Task not found: {MISSING}"


def test_ids_are_case_insensitive(sandbox: Sandbox, http: httpx.Client) -> None:
    run_id = create(http)["run_id"]
    assert http.get(f"/v1/run/{run_id.upper()}").status_code == 200


# ------------------------------------------------------------------ create body


def test_missing_prompt(http: httpx.Client) -> None:
    response = _post(http, {"template": "memo"})
    assert response.status_code == 400
    assert error_of(response) == "prompt is required"


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_empty_prompt(http: httpx.Client, prompt: str) -> None:
    response = _post(http, {"prompt": prompt})
    assert response.status_code == 400
    assert error_of(response) == "prompt must not be empty"


def test_missing_prompt_multipart(http: httpx.Client) -> None:
    response = http.post("/v1/run", files=[("files", ("a.csv", b"1,2", "text/csv"))])
    assert response.status_code == 400
    assert error_of(response) == "prompt is required"


def test_invalid_template(http: httpx.Client) -> None:
    response = _post(http, {"prompt": "x", "template": "foo"})
    assert response.status_code == 400
    assert error_of(response) == f"Invalid template: foo. Valid templates: {VALID_TEMPLATES}"


def test_invalid_template_with_blocks(http: httpx.Client) -> None:
    response = _post(http, {"prompt": "x", "template": "AAA", "blocks": '["web-block"]'})
    assert response.status_code == 400
    assert error_of(response).startswith("Invalid template: AAA. Valid templates: ")


def test_unknown_block_type(http: httpx.Client) -> None:
    response = _post(http, {"prompt": "x", "blocks": '["my-block"]'})
    assert response.status_code == 400
    assert error_of(response) == f"Invalid block types: my-block. Valid block types: {VALID_BLOCKS}"


def test_several_unknown_block_types(http: httpx.Client) -> None:
    response = _post(http, {"prompt": "x", "blocks": '["a-block", "web-block", "b-block"]'})
    assert error_of(response).startswith("Invalid block types: a-block, b-block. Valid")


@pytest.mark.parametrize("blocks", ["not json", "{", '"web-block"', '{"a": 1}', "[1, 2]", ""])
def test_malformed_blocks(http: httpx.Client, blocks: str) -> None:
    response = _post(http, {"prompt": "x", "blocks": blocks})
    assert response.status_code == 400
    assert error_of(response) == (
        "Invalid blocks: must be a JSON-encoded array of block type strings"
    )


def test_empty_blocks_array(http: httpx.Client) -> None:
    response = _post(http, {"prompt": "x", "blocks": "[]"})
    assert response.status_code == 400
    assert error_of(response) == "Invalid blocks: must be a non-empty array of block types"


@pytest.mark.parametrize("name", ["virus.exe", "noextension", "archive.tar.gz", "page.html"])
def test_unsupported_file_type(http: httpx.Client, name: str) -> None:
    response = _post(http, {"prompt": "x"}, files=[("files", (name, b"data", "application/x"))])
    assert response.status_code == 400
    assert error_of(response).startswith(f"Unsupported file type: {name}. Supported types: csv,")


@pytest.mark.parametrize(
    "name",
    ["a.pdf", "a.DOCX", "a.xlsx", "a.csv", "a.txt", "a.md", "a.yaml", "a.yml", "a.json",
     "a.zip", "a.png", "a.jpg", "a.jpeg", "a.gif", "a.webp", "a.svg"],
)
def test_supported_file_types(sandbox: Sandbox, http: httpx.Client, name: str) -> None:
    response = _post(http, {"prompt": "x"}, files=[("files", (name, b"data", "application/x"))])
    assert response.status_code == 200, response.text
    upload = sandbox.uploads(response.json()["data"]["run_id"])[0]
    assert upload.filename == name


@pytest.mark.parametrize("url", ["", "not a url", "example.com/hook", "//example.com/x"])
def test_invalid_webhook_url(http: httpx.Client, url: str) -> None:
    response = _post(http, {"prompt": "x", "webhook_url": url})
    assert response.status_code == 400
    assert error_of(response) == "Invalid webhook_url: must be an absolute URI"


def test_valid_webhook_url_is_accepted_and_ignored(http: httpx.Client) -> None:
    response = _post(http, {"prompt": "x", "webhook_url": "https://example.com/hooks?a=1"})
    assert response.status_code == 200


def test_file_in_wrong_field(http: httpx.Client) -> None:
    response = _post(http, {"prompt": "x"}, files=[("template", ("a.csv", b"1", "text/csv"))])
    assert response.status_code == 400
    assert "Unexpected file field: template" in error_of(response)


def test_unknown_fields_are_rejected(http: httpx.Client) -> None:
    response = _post(http, {"promt": "typo", "colour": "red"},
                     files=[("attachment", ("a.csv", b"1", "text/csv"))])
    assert response.status_code == 400
    assert error_of(response) == (
        "Unknown field: attachment, colour, promt. Valid fields: agent_instructions, blocks, "
        "files, prompt, template, webhook_url"
    )


def test_file_over_the_limit_is_413() -> None:
    with Sandbox(max_file_size=1024) as box:
        ok = httpx.post(box.url + "/v1/run", headers={"X-API-KEY": box.api_key},
                        data={"prompt": "x"},
                        files=[("files", ("ok.pdf", b"x" * 1024, "application/pdf"))])
        assert ok.status_code == 200
        big = httpx.post(box.url + "/v1/run", headers={"X-API-KEY": box.api_key},
                         data={"prompt": "x"},
                         files=[("files", ("big.pdf", b"x" * 1025, "application/pdf"))])
        assert big.status_code == 413
        assert error_of(big) == "File too large: big.pdf exceeds the 1 KiB limit"
        assert box.runs_created == 1


def test_default_limit_message_says_50_mib(sandbox: Sandbox) -> None:
    from spine.testing._server._forms import format_size

    assert format_size(50 * 1024 * 1024) == "50 MiB"
    assert format_size(1000) == "1000 bytes"


def test_unsupported_content_type(http: httpx.Client) -> None:
    response = http.post("/v1/run", json={"prompt": "x"})
    assert response.status_code == 400
    assert error_of(response).startswith("Unsupported Content-Type: application/json")


def test_multipart_without_boundary(http: httpx.Client) -> None:
    response = http.post("/v1/run", content=b"x",
                         headers={"Content-Type": "multipart/form-data"})
    assert response.status_code == 400
    assert "no boundary" in error_of(response)


def test_truncated_multipart(http: httpx.Client) -> None:
    body = (b'--XyZ\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhello\r\n')
    response = http.post("/v1/run", content=body,
                         headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert response.status_code == 400
    assert error_of(response).startswith("Malformed multipart body")


def test_urlencoded_create(sandbox: Sandbox, http: httpx.Client) -> None:
    response = http.post("/v1/run", content=b"prompt=Hello+world&template=memo",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    info = sandbox.run_info(response.json()["data"]["run_id"])
    assert info["prompt"] == "Hello world" and info["template"] == "memo"


def test_utf8_fields_and_filenames(sandbox: Sandbox, http: httpx.Client) -> None:
    response = _post(http, {"prompt": "Résumé des ventes ✓"},
                     files=[("files", ("données.csv", b"a", "text/csv"))])
    assert response.status_code == 200
    run_id = response.json()["data"]["run_id"]
    assert sandbox.run_info(run_id)["prompt"] == "Résumé des ventes ✓"
    assert sandbox.uploads(run_id)[0].filename == "données.csv"


# ------------------------------------------------------------------ routing


@pytest.mark.parametrize("path", ["/", "/v1", "/v2/run", "/v1/runs", "/v1/canvas/x/other"])
def test_unknown_path_is_404(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404
    assert error_of(response) == f"Not found: {path}"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/run", "POST"),
        ("PUT", "/v1/run", "POST"),
        ("DELETE", f"/v1/run/{MISSING}", "GET, HEAD"),
        ("POST", f"/v1/canvas/{MISSING}/dag", "GET, HEAD"),
    ],
)
def test_wrong_method_is_405(http: httpx.Client, method: str, path: str, allow: str) -> None:
    response = http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert error_of(response) == f"Method not allowed: {method} {path}"


def test_every_response_has_a_fresh_request_id(sandbox: Sandbox, http: httpx.Client) -> None:
    ids = set()
    for path in ("/v1/run/nope", "/nope", f"/v1/run/{MISSING}", "/_sandbox/health"):
        response = http.get(path, headers={"X-Request-ID": "client-chosen"})
        assert response.headers["x-request-id"] != "client-chosen"
        ids.add(response.headers["x-request-id"])
    assert len(ids) == 4
    logged = [r.request_id for r in sandbox.requests]
    assert set(logged) == ids
