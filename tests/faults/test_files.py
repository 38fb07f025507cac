"""Files under faults: a retried upload re-sends every byte, the SDK closes what it opened (on
success and on every failure) and never what the caller opened, and a large file is streamed,
never read whole into memory."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import tracemalloc
from pathlib import Path
from typing import IO, Any

import pytest

import spine
from spine.testing import Sandbox

from . import _server as b
from ._server import FaultServer
from .conftest import Api


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Opened:
    """Records every file the SDK opens (``spine._files`` looks ``open`` up as a global)."""

    def __init__(self) -> None:
        self.files: list[IO[bytes]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fh = builtins.open(*args, **kwargs)  # noqa: SIM115 - closed by the SDK under test
        self.files.append(fh)
        return fh

    def all_closed(self) -> bool:
        return bool(self.files) and all(f.closed for f in self.files)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> _Opened:
    tracker = _Opened()
    monkeypatch.setattr("spine._files.open", tracker, raising=False)
    return tracker


@pytest.fixture
def doc(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(300_000) + b"\r\n--+++\r\n" + os.urandom(1000)
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    return path, data


def test_a_retried_upload_resends_every_byte_of_every_file(
    api: Api, sandbox: Sandbox, doc: tuple[Path, bytes], opened: _Opened, tmp_path: Path
) -> None:
    path, path_bytes = doc
    partly = io.BytesIO(b"SKIPPED-HEADER" + os.urandom(50_000))
    partly.read(14)  # the caller already consumed a header: send from here
    whole = io.BytesIO(os.urandom(70_000))
    raw = os.urandom(10_000)
    other = tmp_path / "notes.txt"
    other.write_bytes(os.urandom(20_000))
    caller_file = open(other, "rb")  # noqa: SIM115 - the caller's file, closed below
    try:
        client = api.client(base_url=sandbox.url)
        sandbox.inject(status=503, method="POST", path="/v1/run", times=1)
        sandbox.inject(status=429, retry_after=1, method="POST", path="/v1/run", times=1)
        handle = api.call(
            client.runs.create,
            "Use these",
            files=[
                path,
                ("partly.csv", partly),
                ("whole.json", whole),
                ("raw.md", raw),
                caller_file,
                {"filename": "mapped.txt", "content": memoryview(raw), "content_type": "text/x"},
            ],
        )
        expected = [
            ("report.pdf", path_bytes),
            ("partly.csv", partly.getvalue()[14:]),
            ("whole.json", whole.getvalue()),
            ("raw.md", raw),
            ("notes.txt", other.read_bytes()),
            ("mapped.txt", raw),
        ]
        uploads = sandbox.uploads(handle.run_id)
        assert [(u.filename, u.size, u.sha256) for u in uploads] == [
            (name, len(data), _sha(data)) for name, data in expected
        ]
        assert uploads[-1].content_type == "text/x"
        creates = [r for r in sandbox.requests if r.method == "POST"]
        assert len(creates) == 3 and sandbox.runs_created == 1
        assert opened.all_closed(), "the SDK closes the files it opened"
        assert not caller_file.closed and not partly.closed and not whole.closed
    finally:
        caller_file.close()


class _Pipe(io.RawIOBase):
    """A stream that cannot go back (like a pipe or a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_a_stream_that_cannot_rewind_is_sent_once_and_never_half(
    api: Api, sandbox: Sandbox
) -> None:
    data = os.urandom(100_000)
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, "piped", files=[("piped.txt", _Pipe(data))])
    (upload,) = sandbox.uploads(handle.run_id)
    assert upload.sha256 == _sha(data)

    sandbox.inject(status=503, method="POST", path="/v1/run", times=1)
    with pytest.raises(spine.ServerError) as info:
        api.call(client.runs.create, "piped", files=[("piped.txt", _Pipe(data))])
    assert info.value.status_code == 503
    assert not info.value.run_may_exist  # a 503: the server did not act
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 2  # no retry
    assert sandbox.runs_created == 1


@pytest.mark.parametrize(
    "failure", ["400", "500", "413", "connection-refused", "reset", "timeout", "garbage-200"]
)
def test_files_opened_by_the_sdk_are_closed_on_every_failure(
    api: Api,
    sandbox: Sandbox,
    server: FaultServer,
    doc: tuple[Path, bytes],
    opened: _Opened,
    failure: str,
) -> None:
    path, _ = doc
    caller = io.BytesIO(b"caller's bytes")
    url = sandbox.url
    options: dict[str, Any] = {}
    if failure in ("400", "500", "413"):
        sandbox.inject(status=int(failure), method="POST", path="/v1/run")
    elif failure == "connection-refused":
        with FaultServer() as gone:
            url = gone.url
    else:
        url = server.url
        behaviour = {
            "reset": b.reset(act=True),
            "timeout": b.stall(act=True),
            "garbage-200": b.status(200, body=b"<html>", act=True),
        }[failure]
        server.script(behaviour)
        options = {"timeout": 0.3, "real_sleep": True}
    client = api.client(base_url=url, retry_policy=spine.RetryPolicy.none(), **options)
    with pytest.raises(spine.SpineError):
        api.call(client.runs.create, "hello", files=[path, str(path), ("c.txt", caller)])
    assert len(opened.files) == 2 and opened.all_closed()
    assert not caller.closed


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (123, TypeError),
        ("missing.pdf", FileNotFoundError),
        (("x.txt", "text, not bytes"), TypeError),
        ({"filename": "x.txt"}, TypeError),
        (("x.txt", b"x", "text/\x00"), ValueError),
    ],
)
def test_a_bad_later_entry_closes_the_files_already_opened(
    api: Api, sandbox: Sandbox, doc: tuple[Path, bytes], opened: _Opened, bad: Any, error: type
) -> None:
    path, _ = doc
    caller = io.BytesIO(b"caller's")
    client = api.client(base_url=sandbox.url)
    bad_entry = str(path.parent / bad) if bad == "missing.pdf" else bad
    with pytest.raises(error):
        api.call(client.runs.create, "hello", files=[path, ("c.txt", caller), path, bad_entry])
    assert len(opened.files) == 2 and opened.all_closed()
    assert not caller.closed
    assert sandbox.requests == []


def test_bad_other_arguments_open_no_file(
    api: Api, sandbox: Sandbox, doc: tuple[Path, bytes], opened: _Opened
) -> None:
    path, _ = doc
    client = api.client(base_url=sandbox.url)
    with pytest.raises(spine.BadRequestError):
        api.call(client.runs.create, "hello", blocks=[], files=[path])
    with pytest.raises(TypeError):
        api.call(client.runs.create, "hello", template=3, files=[path])
    assert opened.files == [] or opened.all_closed()
    assert sandbox.requests == []


def test_a_large_file_is_streamed_not_read_into_memory(
    api: Api, sandbox: Sandbox, tmp_path: Path
) -> None:
    size = 40 * 1024 * 1024
    path = tmp_path / "big.zip"
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        block = os.urandom(1024 * 1024)
        for i in range(size // len(block)):
            piece = block[i:] + block[:i]
            fh.write(piece)
            digest.update(piece)
    client = api.client(base_url=sandbox.url)
    api.call(client.runs.create, "warm up")  # connections and imports outside the measurement
    tracemalloc.start()
    try:
        handle = api.call(client.runs.create, "big one", files=[path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (upload,) = sandbox.uploads(handle.run_id)
    assert upload.size == size and upload.sha256 == digest.hexdigest()
    # The sandbox (same process) and the client together: far below the file's 40 MiB.
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 40 MiB upload"
