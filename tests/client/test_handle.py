"""RunHandle / AsyncRunHandle over real loopback HTTP: wait, failure, timeout, progress."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import spine

from .conftest import CANVAS_ID, COMPLETED, CREATED, FAILED, RUN_ID, RUNNING, Api, envelope

FAST = spine.RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.01)


def _script(httpserver: HTTPServer, bodies: list[Any]) -> None:
    """Answer GET /v1/run/{id} with these bodies in turn, then repeat the last."""
    it: Iterator[Any] = iter(bodies)
    last: list[Any] = [None]

    def handler(request: Request) -> Response:
        body = next(it, None)
        if body is None:
            body = last[0]
        last[0] = body
        if isinstance(body, Response):
            return body
        return Response(json.dumps(envelope(body)), content_type="application/json")

    httpserver.expect_request(f"/v1/run/{RUN_ID}").respond_with_handler(handler)


def _created(api: Api, httpserver: HTTPServer, base: str) -> Any:
    httpserver.expect_request("/v1/run", method="POST").respond_with_json(envelope(CREATED))
    client = api.client(base_url=base, retry_policy=FAST)
    return api.call(client.runs.create, "Create a Q1 report")


def test_wait_polls_until_completed_and_returns_the_result(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    _script(httpserver, [{"run_id": RUN_ID, "status": "running"}, RUNNING, RUNNING, COMPLETED])
    handle = _created(api, httpserver, base)
    assert handle.canvas_id is None
    assert handle.canvas_url is None
    result = api.call(handle.wait, timeout=10, poll_interval=0.001, max_poll_interval=0.002)
    assert isinstance(result, spine.RunResult)
    assert result.final_output == "synthesized answer"
    assert result.artifacts[0].name == "Q1_Report.docx"
    assert handle.canvas_id == CANVAS_ID  # filled in once the server reported it
    assert handle.canvas_url is None  # loopback, not the Spine API host: no web app link
    assert handle.status == spine.RunStatus.COMPLETED
    polls = [r for r, _ in httpserver.log if r.method == "GET"]
    assert len(polls) == 4


def test_partial_returns_normally(api: Api, httpserver: HTTPServer, base: str) -> None:
    partial = {**COMPLETED, "status": "partial", "errors": [{"error": "image-block failed"}]}
    _script(httpserver, [partial])
    handle = _created(api, httpserver, base)
    result = api.call(handle.wait, poll_interval=0.001)
    assert result.final_output == "synthesized answer"
    assert handle.last.errors[0].error == "image-block failed"


def test_failed_run_raises_run_failed_error_or_returns_on_request(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    _script(httpserver, [RUNNING, FAILED])
    handle = _created(api, httpserver, base)
    with pytest.raises(spine.RunFailedError) as info:
        api.call(handle.wait, poll_interval=0.001)
    exc = info.value
    assert isinstance(exc, spine.SpineAPIError)
    assert exc.run_id == RUN_ID
    assert [e.error for e in exc.errors] == ["Agent execution failed"]
    assert exc.run.status == "failed"
    assert "Agent execution failed" in str(exc)
    run = api.call(handle.wait_for_terminal, poll_interval=0.001)
    assert run.status == spine.RunStatus.FAILED


def test_wait_times_out_with_one_deadline(api: Api, httpserver: HTTPServer, base: str) -> None:
    _script(httpserver, [RUNNING])
    handle = _created(api, httpserver, base)
    with pytest.raises(spine.SpineTimeoutError, match=RUN_ID):
        api.call(handle.wait, timeout=0.05, poll_interval=0.01, max_poll_interval=0.01)


def test_unknown_status_is_never_terminal(api: Api, httpserver: HTTPServer, base: str) -> None:
    _script(httpserver, [{"run_id": RUN_ID, "status": "queued"}])
    handle = _created(api, httpserver, base)
    with pytest.raises(spine.SpineTimeoutError):
        api.call(handle.wait, timeout=0.03, poll_interval=0.005, max_poll_interval=0.005)
    assert handle.status == "queued"


def test_transient_poll_failures_do_not_end_the_wait(
    api: Api, httpserver: HTTPServer, base: str
) -> None:
    down = Response(json.dumps({"success": False, "error": "down"}), status=503)
    _script(httpserver, [RUNNING, down, down, down, down, COMPLETED])
    handle = _created(api, httpserver, base)
    result = api.call(handle.wait, timeout=10, poll_interval=0.001, max_poll_interval=0.002)
    assert result.final_output == "synthesized answer"


def test_a_permanent_error_ends_the_wait(api: Api, httpserver: HTTPServer, base: str) -> None:
    gone = Response(json.dumps({"success": False, "error": f"Run not found: {RUN_ID}"}), status=404)
    _script(httpserver, [gone])
    handle = _created(api, httpserver, base)
    with pytest.raises(spine.NotFoundError):
        api.call(handle.wait, poll_interval=0.001)


def test_stream_progress_yields_until_terminal(api: Api, httpserver: HTTPServer, base: str) -> None:
    step = {**RUNNING, "progress": {"tasks_completed": 5, "tasks_total": 9, "elapsed_ms": 600000}}
    _script(httpserver, [{"run_id": RUN_ID, "status": "running"}, RUNNING, step, COMPLETED])
    handle = _created(api, httpserver, base)
    seen = api.collect(handle.stream_progress(poll_interval=0.001))
    assert [(p.tasks_completed, p.tasks_total) for p in seen] == [(3, 8), (5, 9)]
    assert api.call(handle.wait, poll_interval=0.001).final_output == "synthesized answer"


def test_attach_follows_an_existing_run(api: Api, httpserver: HTTPServer, base: str) -> None:
    _script(httpserver, [COMPLETED])
    client = api.client(base_url=base)
    handle = client.runs.attach(RUN_ID)
    assert handle.run_id == RUN_ID and handle.create_response is None
    assert api.call(handle.refresh).status == "completed"


def test_handle_offers_its_canvas(api: Api) -> None:
    """``handle.get_dag()`` / ``get_tasks()`` need no ``canvas_id: str | None`` from the caller;
    a canvas id that the create response and first polls withheld is fetched with one poll."""
    from spine.testing import Sandbox

    with Sandbox(run_duration=0.0, canvas_id_after_polls=1) as sandbox:
        client = api.client(api_key=sandbox.api_key, base_url=sandbox.url)
        handle = api.call(client.runs.create, "Build a landing page", template="landing_page")
        assert handle.canvas_id is None
        with pytest.raises(spine.SpineError, match="has no canvas id yet") as info:
            api.call(handle.get_dag)  # the one poll it makes is still withheld
        assert "HTTP" not in str(info.value)
        dag = api.call(handle.get_dag)  # polls again: now reported
        assert handle.canvas_id is not None and dag.canvas_id == handle.canvas_id
        assert {n.type for n in dag.nodes} >= {"prompt-block", "landing-page-block"}
        tree = api.call(handle.get_tasks)
        assert tree.canvas_id == handle.canvas_id and tree.completed
        polls = [r for r in sandbox.requests if r.method == "GET" and "/v1/run/" in r.path]
        assert len(polls) == 2
