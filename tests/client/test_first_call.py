"""The first ``runs.get`` of a fresh process loads only what that call needs, over real HTTP.

The CPU figure is a benchmark (``nox -s bench -- --only first``); this proves the modules that
the saving comes from are not loaded, and that the lazily loaded names stay the same objects.
"""

from __future__ import annotations

import json
import subprocess
import sys

from pytest_httpserver import HTTPServer

import spine
import spine._canvas_models
import spine._models
import spine._webhooks
import spine.models

from .conftest import KEY, RUN_ID, RUNNING, envelope

_FIRST_CALL = """
import json, sys
import spine
client = spine.SpineClient(api_key={key!r}, base_url={base!r})
run = client.runs.get({run_id!r})
assert run.status == "running" and run.progress.tasks_total == 8, run
print(json.dumps(sorted(sys.modules)))
"""

#: Loaded only by the calls that need them: other endpoints, handles, uploads, webhooks.
NOT_FOR_A_READ = {
    "attr",
    "attrs",
    "_spine_openapi.client",
    "_spine_openapi.models",
    "spine._canvas_models",
    "spine._files",
    "spine._handle",
    "spine._poller",
    "spine._webhooks",
}


def test_a_first_get_loads_only_what_it_needs(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/v1/run/{RUN_ID}", method="GET").respond_with_json(
        envelope(RUNNING)
    )
    code = _FIRST_CALL.format(
        key=KEY, base=httpserver.url_for("/").rstrip("/"), run_id=RUN_ID
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert {"spine._models", "_spine_openapi.api.runs.get_run"} <= loaded
    assert not loaded & NOT_FOR_A_READ, sorted(loaded & NOT_FOR_A_READ)


def test_models_defined_apart_are_the_public_objects() -> None:
    for name in ("CanvasDAG", "CanvasEdge", "CanvasNode", "TaskNode", "TaskTree"):
        cls = getattr(spine._canvas_models, name)
        assert getattr(spine._models, name) is cls
        assert getattr(spine.models, name) is cls
        assert getattr(spine, name) is cls
    event = spine._webhooks.WebhookEvent
    assert spine._models.WebhookEvent is spine.models.WebhookEvent is spine.WebhookEvent is event


def test_client_webhooks_is_built_on_first_use_and_verifies() -> None:
    body = b'{"id": "evt_1", "type": "run.completed", "created": 1700000000}'
    header = spine._webhooks.signature_header(body, "whsec_x", timestamp=1700000000)
    with spine.SpineClient(api_key=KEY, base_url="http://127.0.0.1:9") as client:
        assert client.webhooks is client.webhooks
        event = client.webhooks.construct_event(body, header, "whsec_x", now=1700000000)
    assert isinstance(event, spine.WebhookEvent)
    assert (event.id, event.type) == ("evt_1", "run.completed")
