"""A file that changes size while it is being sent: the upload stops before a byte beyond the
declared ``Content-Length`` leaves, with an error that names the file (not h11's "Too little
data for declared Content-Length"), and the file the SDK opened is closed.

The change happens in a request event hook of the caller's ``httpx`` client: it runs after the
request (and its ``Content-Length``) is built and before the body is sent, exactly the window
in which another process could write to the file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

import spine
from spine.testing import Sandbox
from tests._fds import open_paths

from .conftest import Api

SIZE = 200_000


def _changer(path: Path, how: str) -> Any:
    def hook(request: httpx.Request) -> None:
        if request.method == "POST" and request.url.path.endswith("/v1/run"):
            with path.open("r+b") as handle:
                if how == "shrinks":
                    handle.truncate(1_000)
                else:
                    handle.seek(0, os.SEEK_END)
                    handle.write(b"y" * 5_000)

    return hook


def _http(api: Api, base_url: str, hook: Any) -> Any:
    if api.is_async:

        async def async_hook(request: httpx.Request) -> None:
            hook(request)

        return httpx.AsyncClient(base_url=base_url, event_hooks={"request": [async_hook]})
    return httpx.Client(base_url=base_url, event_hooks={"request": [hook]})


@pytest.mark.parametrize("how", ["shrinks", "grows"])
@pytest.mark.parametrize("given", ["path", "open file"])
def test_a_file_that_changes_size_while_sent_is_named_and_nothing_is_created(
    api: Api, sandbox: Sandbox, tmp_path: Path, how: str, given: str
) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"x" * SIZE)
    http = _http(api, sandbox.url, _changer(path, how))
    client = api.client(base_url=sandbox.url, api_key=sandbox.api_key, http_client=http)
    handle = path.open("rb") if given == "open file" else None
    try:
        with pytest.raises(spine.SpineError) as caught:
            api.call(client.runs.create, "x", files=[handle if handle is not None else path])
    finally:
        if handle is not None:
            assert not handle.closed  # the caller's file stays open
            handle.close()
        api.call(http.close if not api.is_async else http.aclose)
    message = str(caught.value)
    assert "data.csv" in message and "changed size while it was being sent" in message, message
    assert f"{SIZE} bytes to send when the request was sized" in message
    assert "Content-Length" not in message  # not h11's words
    assert type(caught.value.__cause__).__name__ == "UploadChangedError"
    assert isinstance(caught.value.__cause__, ValueError)
    assert sandbox.runs_created == 0  # the body never arrived whole ...
    assert caught.value.run_may_exist is False  # ... and the error says so
    assert "may have been created" not in message and "never received a complete create" in message
    assert str(path) not in open_paths()  # what the SDK opened is closed


def test_an_unchanged_file_is_sent_whole(api: Api, sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"x" * SIZE)
    client = api.client(base_url=sandbox.url, api_key=sandbox.api_key)
    with path.open("rb") as handle:
        handle.seek(1_000)  # partly read: sent from here
        run = api.call(client.runs.create, "x", files=[path, handle])
    assert sandbox.runs_created == 1
    data = path.read_bytes()
    assert [(u.size, u.sha256) for u in sandbox.uploads(run.run_id)] == [
        (SIZE, hashlib.sha256(data).hexdigest()),
        (SIZE - 1_000, hashlib.sha256(data[1_000:]).hexdigest()),
    ]


def test_a_file_left_past_its_end_is_sent_empty(
    api: Api, sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"x" * 100)
    client = api.client(base_url=sandbox.url, api_key=sandbox.api_key)
    with path.open("rb") as handle:
        handle.seek(1_000)  # beyond the end: nothing to send, not a negative size
        run = api.call(client.runs.create, "x", files=[handle])
    assert [u.size for u in sandbox.uploads(run.run_id)] == [0]


def test_an_in_memory_spooled_file_stays_in_memory(api: Api, sandbox: Sandbox) -> None:
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=1_000_000) as spooled:
        spooled.write(b"y" * 5_000)
        spooled.seek(0)
        client = api.client(base_url=sandbox.url, api_key=sandbox.api_key)
        run = api.call(client.runs.create, "x", files=[("y.txt", spooled)])
        assert not spooled._rolled  # asking its fileno() would have moved it to disk
    assert [u.size for u in sandbox.uploads(run.run_id)] == [5_000]
