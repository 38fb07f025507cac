"""Code written the way the Spine Python docs show it runs unchanged against the sandbox.

Each test is a documented usage pattern (quickstart, async, progress, canvas, errors, retries,
an injected httpx client, webhooks); the only setup is the environment a user would have:
SPINE_API_KEY and SPINE_BASE_URL pointing at a local sandbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from spine.testing import Sandbox


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.4) as sb:
        monkeypatch.setenv("SPINE_API_KEY", sb.api_key)
        monkeypatch.setenv("SPINE_BASE_URL", sb.url)
        yield sb


def test_quickstart(sandbox: Sandbox) -> None:
    from spine import SpineClient, Template

    with SpineClient(api_key=sandbox.api_key) as client:
        handle = client.runs.create(
            prompt="Research the AI chip market and write a memo",
            template=Template.DEEP_RESEARCH,
        )
        result = handle.wait(timeout=60, poll_interval=0.1)
        assert result.final_output
        for artifact in result.artifacts:
            assert artifact.name and artifact.download_url.startswith("http")
    assert sandbox.runs_created == 1


def test_async_quickstart(sandbox: Sandbox) -> None:
    from spine import AsyncSpineClient

    async def main() -> str:
        async with AsyncSpineClient() as client:  # reads SPINE_API_KEY from the environment
            handle = await client.runs.create(prompt="Hello")
            result = await handle.wait(poll_interval=0.1)
            return result.final_output

    assert "Hello" in asyncio.run(main())


def test_blocks_files_and_progress(sandbox: Sandbox, tmp_path: object) -> None:
    from spine import BlockType, SpineClient

    client = SpineClient()
    handle = client.runs.create(
        "Summarise this sales data",
        blocks=[BlockType.TABLE, BlockType.MEMO, "web-block"],
        agent_instructions="Write for a C-suite executive audience. Cite all sources.",
        files=[("sales-data.csv", b"region,revenue\nEMEA,12\n", "text/csv")],
    )
    snapshots = list(handle.stream_progress(poll_interval=0.05))
    assert snapshots
    assert all(p.tasks_completed <= p.tasks_total for p in snapshots)
    handle.wait(poll_interval=0.05)
    run = handle.refresh()
    assert run.status.is_terminal  # type: ignore[union-attr]
    assert run.metadata is not None and run.metadata.credits_consumed >= 0
    client.close()


def test_canvas_introspection(sandbox: Sandbox) -> None:
    from spine import SpineClient

    with SpineClient() as client:
        handle = client.runs.create("Build a landing page", template="landing_page")
        handle.wait(poll_interval=0.1)
        assert handle.canvas_id is not None
        dag = client.canvas.get_dag(handle.canvas_id)
        ids = {node.id for node in dag.nodes}
        assert all(e.source_id in ids and e.target_id in ids for e in dag.edges)
        tree = client.canvas.get_tasks(handle.canvas_id)
        root = (tree.completed + tree.not_completed)[0]
        task = client.canvas.get_task(handle.canvas_id, root.task_id)
        assert task.task_id == root.task_id
        assert task.children is not None


def test_error_handling(sandbox: Sandbox) -> None:
    from spine import (
        AuthenticationError,
        BadRequestError,
        NotFoundError,
        SpineAPIError,
        SpineClient,
        SpineError,
    )

    with SpineClient() as client:
        try:
            client.runs.get("00000000-0000-4000-8000-000000000000")
        except NotFoundError as exc:
            assert exc.status_code == 404
            assert exc.request_id
            assert "Run not found" in (exc.error_message or "")
        else:
            pytest.fail("expected NotFoundError")
        with pytest.raises(BadRequestError):
            client.runs.create("x", template="not-a-template")
        with pytest.raises(BadRequestError):
            client.runs.create("")
    with SpineClient(api_key="sk_live_wrong") as bad, pytest.raises(AuthenticationError) as info:
        bad.runs.get("00000000-0000-4000-8000-000000000000")
    assert isinstance(info.value, SpineAPIError) and isinstance(info.value, SpineError)


def test_failed_run_raises_and_partial_returns(sandbox: Sandbox) -> None:
    from spine import RunFailedError, SpineAPIError, SpineClient

    with SpineClient() as client:
        failed = client.runs.create("Do it [sandbox:failed]")
        with pytest.raises(SpineAPIError) as info:  # docs-era code catches SpineAPIError
            failed.wait(poll_interval=0.05)
        assert isinstance(info.value, RunFailedError)
        assert info.value.run_id == failed.run_id
        partial = client.runs.create("Do it [sandbox:partial]")
        result = partial.wait(poll_interval=0.05)
        assert result.final_output
        assert partial.refresh().errors


def test_retry_policy_timeout_and_injected_client(sandbox: Sandbox) -> None:
    from spine import RetryPolicy, SpineClient

    sandbox.inject(method="GET", path="/v1/run/*", status=503, times=2)
    http = httpx.Client(base_url=sandbox.url + "/v1", timeout=httpx.Timeout(30.0, connect=5.0))
    client = SpineClient(http_client=http, retry_policy=RetryPolicy(max_retries=5, base_delay=0.01))
    handle = client.runs.create("Retry me")
    assert client.runs.get(handle.run_id).run_id == handle.run_id  # two 503s retried away
    client.close()
    assert not http.is_closed
    http.close()


def test_webhook_verification(sandbox: Sandbox) -> None:
    from spine import SpineClient, WebhookSignatureError

    secret = "whsec_test"
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "run.completed",
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2026-04-01",
            "data": {"object": {"run_id": "r", "status": "completed"}},
        }
    ).encode()
    t = int(time.time())
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    with SpineClient() as client:
        event = client.webhooks.construct_event(body, f"t={t},v1={sig}", secret)
        assert event.type == "run.completed"
        assert event.data["object"]["run_id"] == "r"
        with pytest.raises(WebhookSignatureError):
            client.webhooks.construct_event(body, f"t={t},v1={'0' * 64}", secret)
