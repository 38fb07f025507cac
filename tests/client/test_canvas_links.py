"""A canvas link points to the Spine web app only for a run of the Spine API host: a sandbox's
(or any other host's) canvas is not there. One rule, ``spine._links.canvas_link``, used by
handles, ``RunFailedError``, the ledger and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import spine
from spine._links import canvas_link, is_spine_api
from spine.testing import Sandbox
from tests.cli.conftest import run_spine

CANVAS = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        (None, True),
        ("https://api.getspine.ai", True),
        ("https://API.getspine.ai/v1", True),
        ("http://127.0.0.1:8765", False),
        ("http://localhost:8765/v1", False),
        ("https://staging.getspine.ai", False),
        ("http://api.getspine.ai", False),
        ("https://api.getspine.ai.example.com", False),
    ],
)
def test_only_the_spine_api_host_has_web_links(base_url: str | None, expected: bool) -> None:
    assert is_spine_api(base_url) is expected
    link = canvas_link(CANVAS, base_url)
    assert link == (f"https://app.getspine.ai/canvas/{CANVAS}" if expected else None)
    assert canvas_link(None, base_url) is None


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.0) as sandbox:
        yield sandbox


class _ToSandbox(httpx.BaseTransport):
    """Sends what a client addressed to the Spine API host to the sandbox, over loopback."""

    def __init__(self, url: str) -> None:
        self.target = httpx.URL(url)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self.target.scheme, host=self.target.host, port=self.target.port
        )
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_a_sandbox_run_has_no_web_link(box: Sandbox) -> None:
    with spine.SpineClient(api_key=box.api_key, base_url=box.url) as client:
        handle = client.runs.create("A memo")
        handle.wait(poll_interval=0.01)
        assert handle.canvas_id and handle.canvas_url is None
        failed = client.runs.create("Nope [sandbox:failed]")
        with pytest.raises(spine.RunFailedError) as info:
            failed.wait(poll_interval=0.01)
    assert info.value.canvas_url is None
    assert "getspine.ai" not in str(info.value)


async def _async_sandbox_link(box: Sandbox) -> str | None:
    async with spine.AsyncSpineClient(api_key=box.api_key, base_url=box.url) as client:
        handle = await client.runs.create("A memo")
        await handle.wait(poll_interval=0.01)
        assert handle.canvas_id
        return handle.canvas_url


def test_an_async_sandbox_run_has_no_web_link(box: Sandbox) -> None:
    import asyncio

    assert asyncio.run(_async_sandbox_link(box)) is None


def test_a_run_of_the_spine_api_host_links_to_the_web_app(box: Sandbox) -> None:
    http = httpx.Client(transport=_ToSandbox(box.url))
    with spine.SpineClient(
        api_key=box.api_key, base_url="https://api.getspine.ai", http_client=http
    ) as client:
        handle = client.runs.create("A memo")
        handle.wait(poll_interval=0.01)
        assert handle.canvas_url == f"https://app.getspine.ai/canvas/{handle.canvas_id}"
        failed = client.runs.create("Nope [sandbox:failed]")
        with pytest.raises(spine.RunFailedError) as info:
            failed.wait(poll_interval=0.01)
    http.close()
    assert info.value.canvas_url == f"https://app.getspine.ai/canvas/{failed.canvas_id}"
    assert info.value.canvas_url in str(info.value)


def test_the_cli_never_links_a_sandbox_run_to_the_web_app(box: Sandbox, tmp_path: Path) -> None:
    env = {"SPINE_API_KEY": box.api_key, "SPINE_BASE_URL": box.url}
    ledger = ("--ledger", str(tmp_path / "l.db"))
    embedded = run_spine("run", "A memo", "--sandbox", "--sandbox-duration", "0.2", "--json")
    assert embedded.code == 0, embedded.stderr
    assert json.loads(embedded.stdout)["canvas_url"] is None
    created = run_spine("run", "A memo", "--no-wait", "--json", *ledger, env=env)
    assert created.code == 0, created.stderr
    document = json.loads(created.stdout)
    run_id = document["run_id"]
    assert document["canvas_url"] is None
    outputs = [created.stderr]
    for args in (
        ("status", run_id),
        ("runs", "resume", "--poll-interval", "0.05", *ledger),
        ("wait", run_id, "--poll-interval", "0.05", *ledger),
        ("runs", "show", run_id, *ledger),
    ):
        result = run_spine(*args, env=env)
        assert result.code == 0, (args, result.stderr)
        if args[:2] == ("runs", "resume"):  # each line once (the final counts were doubled)
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            assert len(lines) == len(set(lines)) and "1/1 done" in result.stderr, result.stderr
        outputs.append(result.stdout + result.stderr)
    status = json.loads(run_spine("status", run_id, "--json", env=env).stdout)
    assert status["canvas_id"] and status["canvas_url"] is None
    for text in outputs:
        assert "getspine.ai" not in text, text
    assert "Canvas:" in outputs[1] and status["canvas_id"] in outputs[1]  # the id, said plainly
