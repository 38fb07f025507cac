"""What the clients put on the wire and how they read the answer, over real loopback HTTP."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import spine
from tests._fds import open_paths

from .conftest import CANVAS_ID, COMPLETED, CREATED, KEY, RUN_ID, RUNNING, Api, envelope

TASK_ID = "7d1e9a52-2b8c-4c1f-9a3e-5f6b7c8d9e0f"

FAST = spine.RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.01)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def test_get_run_sends_auth_user_agent_and_parses(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    httpserver.expect_request(f"/v1/run/{RUN_ID}", method="GET").respond_with_json(
        envelope(RUNNING)
    )
    client = api.client(base_url=base)
    run = api.call(client.runs.get, RUN_ID)
    assert isinstance(run, spine.GetRunResponse)
    assert run.status == spine.RunStatus.RUNNING
    assert run.progress is not None and run.progress.tasks_total == 8
    ((request, _),) = httpserver.log
    assert request.headers["X-API-KEY"] == KEY
    assert request.headers["User-Agent"] == f"spine-sdk-python/{spine.__version__}"
    assert request.headers["Accept"] == "application/json"


def test_unknown_fields_and_values_are_tolerated(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    data = {**RUNNING, "status": "paused", "brand_new_field": {"x": 1}}
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_json(envelope(data))
    run = api.call(api.client(base_url=base).runs.get, RUN_ID)
    assert run.status == "paused"
    assert not run.is_terminal


@pytest.mark.parametrize(
    ("status", "exc_type"),
    [
        (400, spine.BadRequestError),
        (401, spine.AuthenticationError),
        (404, spine.NotFoundError),
        (403, spine.SpineAPIError),
        (413, spine.SpineAPIError),
        (429, spine.RateLimitError),
        (500, spine.ServerError),
        (503, spine.ServerError),
    ],
)
def test_error_statuses_map_to_the_documented_exceptions(
    api: Api, httpserver: HTTPServer, base: str, status: int, exc_type: type[Exception]
) -> None:
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_response(
        _json({"success": False, "error": f"boom {status}"}, status, {"X-Request-ID": "req-42"})
    )
    client = api.client(base_url=base, retry_policy=FAST)
    with pytest.raises(exc_type) as info:
        api.call(client.runs.get, RUN_ID)
    exc = info.value
    assert type(exc) is exc_type
    assert exc.status_code == status
    assert exc.error_message == f"boom {status}"
    assert exc.request_id == "req-42"
    assert exc.response_body == {"success": False, "error": f"boom {status}"}
    assert KEY not in str(exc) and KEY not in repr(exc)
    retried = status in {429, 500, 503}
    assert len(httpserver.log) == (4 if retried else 1)


def test_get_is_retried_until_it_succeeds(api: Api, httpserver: HTTPServer, base: str) -> None:
    answers = iter([_json({"success": False, "error": "x"}, 502), _json(envelope(RUNNING))])
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_handler(lambda r: next(answers))
    run = api.call(api.client(base_url=base, retry_policy=FAST).runs.get, RUN_ID)
    assert run.run_id == RUN_ID
    assert len(httpserver.log) == 2


def test_not_json_success_raises_unexpected_response_with_raw_body(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    page = "<html><body>502 Bad Gateway</body></html>"
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_data(page, content_type="text/html")
    with pytest.raises(spine.UnexpectedResponseError) as info:
        api.call(api.client(base_url=base).runs.get, RUN_ID)
    assert info.value.raw_body == page.encode()
    assert isinstance(info.value, spine.SpineAPIError)


@pytest.mark.parametrize(
    "body",
    [
        {"success": True},
        {"success": True, "data": {"status": "running"}},
        {"data": {"run_id": "r", "status": "running"}},
        [1, 2],
    ],
)
def test_wrong_envelopes_raise_unexpected_response(
    api: Api, httpserver: HTTPServer, base: str, body: Any
) -> None:
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_json(body)
    with pytest.raises(spine.UnexpectedResponseError) as info:
        api.call(api.client(base_url=base).runs.get, RUN_ID)
    assert info.value.raw_body is not None and json.loads(info.value.raw_body) == body


def test_ids_land_in_exactly_one_escaped_path_segment(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    # werkzeug decodes the path before matching: match anything, then read the raw request line.
    task_id = "0B8F7C6A-1D2E-4F30-9A8B-7C6D5E4F3A2B"  # upper case: ids are case-insensitive
    httpserver.expect_request(re.compile(".*")).respond_with_json(
        envelope({"task_id": task_id.lower(), "name": "n", "task_type": "x", "status": "done"})
    )
    client = api.client(base_url=base)
    assert (
        api.call(client.canvas.get_task, uuid.UUID(CANVAS_ID), task_id).task_id == task_id.lower()
    )
    ((request, _),) = httpserver.log
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    assert raw == f"/v1/canvas/{CANVAS_ID}/tasks/{task_id.lower()}"
    # Ids the spec declares as UUIDs are checked before sending (the API would answer 400).
    for bad in (
        "",
        ".",
        "..",
        "a/../b?c",
        "t#x",
        f"{CANVAS_ID}/x",
        f" {CANVAS_ID}",
        CANVAS_ID[:-1],
    ):
        with pytest.raises(spine.InvalidRequestError, match="Nothing was sent"):
            api.call(client.runs.get, bad)
        with pytest.raises(spine.InvalidRequestError):
            api.call(client.canvas.get_task, CANVAS_ID, bad)
    assert len(httpserver.log) == 1


def test_canvas_endpoints(api: Api, httpserver: HTTPServer, base: str) -> None:
    node = {"id": "n1", "name": "Prompt", "type": "prompt-block", "status": "completed"}
    httpserver.expect_request(f"/v1/canvas/{CANVAS_ID}/dag").respond_with_json(
        envelope({"canvas_id": CANVAS_ID, "canvas_name": "c", "nodes": [node], "edges": []})
    )
    task = {"task_id": TASK_ID, "name": "Goal", "task_type": "parent-task", "status": "completed"}
    httpserver.expect_request(f"/v1/canvas/{CANVAS_ID}/tasks").respond_with_json(
        envelope({"canvas_id": CANVAS_ID, "completed": [task]})
    )
    httpserver.expect_request(f"/v1/canvas/{CANVAS_ID}/tasks/{TASK_ID}").respond_with_json(
        envelope(task)
    )
    client = api.client(base_url=base)
    dag = api.call(client.canvas.get_dag, CANVAS_ID)
    assert dag.nodes[0].type == spine.BlockType.PROMPT
    tree = api.call(client.canvas.get_tasks, CANVAS_ID)
    assert tree.completed[0].task_type == spine.TaskType.PARENT and tree.not_completed == []
    assert api.call(client.canvas.get_task, CANVAS_ID, TASK_ID).name == "Goal"


def _form(request: Request) -> tuple[dict[str, list[str]], list[tuple[str, str, str, bytes]]]:
    fields = {k: request.form.getlist(k) for k in request.form}
    files = [
        (key, f.filename or "", f.content_type or "", f.read())
        for key, f in request.files.items(multi=True)
    ]
    return fields, files


def test_create_sends_a_multipart_form_with_a_random_boundary(
    api: Api, httpserver: HTTPServer, base: str, tmp_path: Path
) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        request.get_data()  # keep the body for the assertions below
        seen.append(request)
        return _json(envelope(CREATED))

    httpserver.expect_request("/v1/run", method="POST").respond_with_handler(handler)
    tricky = b'--+++\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nEVIL\r\n--+++--\r\n'
    csv = tmp_path / "sales data.csv"
    csv.write_bytes(b"region,revenue\nEU,12\n")
    client = api.client(base_url=base)
    handle = api.call(
        client.runs.create,
        "Summarise\nthis ünïcode \x00 prompt",
        template=spine.Template.MEMO,
        blocks=[spine.BlockType.TABLE, "web-block"],
        agent_instructions="Cite sources.",
        files=[csv, ("evil.bin", tricky), ("notes.md", b"# hi", "text/markdown")],
        idempotency_key="key-123",
    )
    assert handle.run_id == RUN_ID and handle.canvas_id is None
    assert handle.create_response.estimated_duration_ms == 900000
    (request,) = seen
    assert request.headers["Idempotency-Key"] == "key-123"
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert "+++" not in content_type
    fields, files = _form(request)
    assert fields == {
        "prompt": ["Summarise\nthis ünïcode \x00 prompt"],
        "template": ["memo"],
        "blocks": ['["table-block","web-block"]'],
        "agent_instructions": ["Cite sources."],
    }
    assert files == [
        ("files", "sales data.csv", "text/csv", b"region,revenue\nEU,12\n"),
        ("files", "evil.bin", "application/octet-stream", tricky),
        ("files", "notes.md", "text/markdown", b"# hi"),
    ]


def test_create_generates_an_idempotency_key_and_sends_no_none_fields(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        request.get_data()
        seen.append(request)
        return _json(envelope(CREATED))

    httpserver.expect_request("/v1/run", method="POST").respond_with_handler(handler)
    api.call(api.client(base_url=base).runs.create, "hello")
    (request,) = seen
    assert len(request.headers["Idempotency-Key"]) == 36
    fields, files = _form(request)
    assert fields == {"prompt": ["hello"], "template": ["auto"]}
    assert files == []
    assert b"None" not in request.get_data()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"prompt": ""}, spine.InvalidRequestError),
        ({"prompt": "   "}, spine.InvalidRequestError),
        ({"prompt": "p", "blocks": []}, spine.InvalidRequestError),
        ({"prompt": "p", "blocks": "table-block"}, TypeError),
        ({"prompt": "p", "files": ["/no/such/file.csv"]}, FileNotFoundError),
        ({"prompt": "p", "files": [12]}, TypeError),
        ({"prompt": 5}, TypeError),
    ],
)
def test_bad_input_fails_before_any_request(
    api: Api, httpserver: HTTPServer, base: str, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    client = api.client(base_url=base)
    kwargs = dict(kwargs)
    prompt = kwargs.pop("prompt")
    with pytest.raises(error):
        api.call(client.runs.create, prompt, **kwargs)
    assert httpserver.log == []


def test_empty_prompt_error_is_also_a_value_error_and_a_bad_request() -> None:
    assert issubclass(spine.InvalidRequestError, ValueError)
    assert issubclass(spine.InvalidRequestError, spine.BadRequestError)


def test_create_is_never_retried_after_an_ambiguous_failure(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    httpserver.expect_request("/v1/run", method="POST").respond_with_response(
        _json({"success": False, "error": "An internal error occurred while creating the run"}, 500)
    )
    client = api.client(base_url=base, retry_policy=FAST)
    with pytest.raises(spine.ServerError) as info:
        api.call(client.runs.create, "p", idempotency_key="my-key")
    assert len(httpserver.log) == 1
    assert info.value.run_may_exist is True
    assert info.value.idempotency_key == "my-key"
    assert "my-key" in str(info.value)


def test_create_is_retried_with_the_same_key_when_the_server_did_not_act(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    answers = iter(
        [
            _json({"success": False, "error": "slow down"}, 429, {"Retry-After": "0"}),
            _json({"success": False, "error": "unavailable"}, 503),
            _json(envelope(CREATED)),
        ]
    )
    keys: list[str] = []
    uploads: list[bytes] = []

    def handler(request: Request) -> Response:
        keys.append(request.headers["Idempotency-Key"])
        uploads.append(request.files["files"].read())
        return next(answers)

    httpserver.expect_request("/v1/run", method="POST").respond_with_handler(handler)
    client = api.client(base_url=base, retry_policy=FAST)
    handle = api.call(client.runs.create, "p", files=[("a.txt", b"x" * 100_000)])
    assert handle.run_id == RUN_ID
    assert len(keys) == 3 and len(set(keys)) == 1
    assert uploads == [b"x" * 100_000] * 3  # every attempt re-sent every byte


def test_files_opened_by_the_sdk_are_closed_and_callers_files_are_not(
    api: Api, httpserver: HTTPServer, base: str, tmp_path: Path
) -> None:
    httpserver.expect_request("/v1/run", method="POST").respond_with_json(envelope(CREATED))
    path = tmp_path / "a.pdf"
    path.write_bytes(b"%PDF-1.4")
    mine = (tmp_path / "b.png").open("wb+")
    mine.write(b"\x89PNG")
    mine.seek(0)

    api.call(api.client(base_url=base).runs.create, "p", files=[path, mine])
    assert not mine.closed
    assert str(path) not in open_paths()
    assert mine.name in open_paths()
    mine.close()


def test_missing_api_key_fails_at_construction(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPINE_API_KEY", raising=False)
    with pytest.raises(ValueError, match="SPINE_API_KEY"):
        api.client(api_key=None)


def test_environment_fallbacks_and_base_url_normalisation(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPINE_API_KEY", "sk_spine_from_env")
    monkeypatch.setenv("SPINE_BASE_URL", "https://staging.getspine.ai/")
    client = api.client(api_key=None)
    assert client.base_url == "https://staging.getspine.ai/v1"
    monkeypatch.delenv("SPINE_BASE_URL")
    assert api.client().base_url == "https://api.getspine.ai/v1"
    assert api.client(base_url="https://x.example/v1").base_url == "https://x.example/v1"
    assert "sk_spine" not in repr(client)


def test_plain_http_is_refused_except_on_loopback(api: Api) -> None:
    with pytest.raises(ValueError, match="http"):
        api.client(base_url="http://api.example.com")
    assert api.client(base_url="http://api.example.com", allow_http=True).base_url.startswith(
        "http:"
    )
    assert api.client(base_url="http://127.0.0.1:8080").base_url == "http://127.0.0.1:8080/v1"


@pytest.mark.parametrize("base_url", [5, b"https://api.example.com", 1.5, ["https://x"]])
def test_a_base_url_that_is_not_a_str_is_a_type_error(api: Api, base_url: object) -> None:
    with pytest.raises(TypeError, match=r"^base_url must be a str, not "):
        api.client(base_url=base_url)


def test_an_httpx_url_is_taken_as_its_text(api: Api) -> None:
    assert api.client(base_url=httpx.URL("https://x.example")).base_url == "https://x.example/v1"


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:s3cretpw@api.example.com",
        "https://s3cretpw@api.example.com/v1",
        "https://:s3cretpw@api.example.com",
        "http://user:s3cretpw@127.0.0.1:8080",
        "ftp://user:s3cretpw@api.example.com",  # refused for its credentials before its scheme
        "user:s3cretpw@api.example.com",  # no scheme at all
        "https://user:s3cretpw@api.example.com:abc",  # and a bad port
    ],
)
def test_a_base_url_with_credentials_is_refused_without_echoing_them(
    api: Api, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    # httpx would send them as Basic auth, and the client's repr would show them.
    refused = "user name or password|an http\\(s\\) URL|not a valid URL"
    with pytest.raises(ValueError, match=refused) as caught:
        api.client(base_url=base_url)
    assert "s3cretpw" not in str(caught.value)
    monkeypatch.setenv("SPINE_BASE_URL", base_url)
    with pytest.raises(ValueError, match=refused) as caught:
        api.client()
    assert "s3cretpw" not in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("https://api.example.com:abc", "not a valid URL"),
        ("https://api.example.com:99999", "not a valid URL"),
        ("https://api.example.com/\x00v1", "control characters"),
        ("https://api example.com", "spaces"),
        ("https://api.example.com/v1 x", "spaces"),
        ("https://api.exa\tmple.com", "control characters"),
    ],
)
def test_a_malformed_base_url_is_refused_when_the_client_is_made(
    api: Api, httpserver: HTTPServer, base_url: str, problem: str
) -> None:
    # Not at the first request, where a create would be reported as possibly charged.
    with pytest.raises(ValueError, match=problem):
        api.client(base_url=base_url)


def test_injected_http_client_is_used_and_not_closed(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_json(envelope(COMPLETED))
    injected: httpx.Client | httpx.AsyncClient
    if api.mode == "sync":
        injected = httpx.Client(base_url=base + "/v1", headers={"X-Trace": "t1"})
    else:
        injected = httpx.AsyncClient(base_url=base + "/v1", headers={"X-Trace": "t1"})
    client = api.client(http_client=injected)
    assert client.base_url == base + "/v1"
    assert api.call(client.runs.get, RUN_ID).status == "completed"
    api.call(client.close)
    assert not injected.is_closed
    ((request, _),) = httpserver.log
    assert request.headers["X-Trace"] == "t1" and request.headers["X-API-KEY"] == KEY
    api.call(injected.close if api.mode == "sync" else injected.aclose)  # type: ignore[union-attr]


def test_redirects_are_not_followed_so_the_key_stays_home(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_response(
        Response(status=302, headers={"Location": "http://evil.example/steal"})
    )
    with pytest.raises(spine.UnexpectedResponseError, match="redirect"):
        api.call(api.client(base_url=base).runs.get, RUN_ID)
    assert len(httpserver.log) == 1
