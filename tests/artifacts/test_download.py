"""RunArtifact.download / RunResult.download_all and their async twins, over real loopback HTTP
(pytest-httpserver) and, where a server cannot be made to misbehave on cue, httpx.MockTransport.
Every test runs once per driver (sync and async)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from spine import RetryPolicy, RunArtifact, RunResult, SpineConnectionError, SpineError
from spine._artifacts import (
    ArtifactDownloadError,
    ArtifactLinkExpiredError,
    ArtifactSizeMismatchError,
)

from .conftest import Driver, artifact, leftovers

BODY = bytes(range(256)) * 1000  # 256 kB: several chunks
KEY = "sk_spine_must_never_reach_storage_0123"

NO_RETRY = RetryPolicy.none()


def _serve(httpserver: HTTPServer, path: str, body: bytes = BODY, **kw: Any) -> str:
    httpserver.expect_request(path).respond_with_data(
        body, content_type="application/octet-stream", **kw
    )
    return httpserver.url_for(path) + "?X-Amz-Signature=topsecret&X-Amz-Expires=3600"


# ----------------------------------------------------------------------------- success


def test_download_into_a_directory(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    url = _serve(httpserver, "/files/a/Report.docx")
    seen: list[tuple[int, int | None]] = []
    path = dl.one(
        artifact(url, size=len(BODY)),
        tmp_path,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert path == tmp_path / "Report.docx"
    assert path.read_bytes() == BODY
    assert seen[0] == (0, len(BODY))
    assert seen[-1] == (len(BODY), len(BODY))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["Report.docx"]


def test_storage_host_never_sees_credentials(
    dl: Driver, httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = _serve(httpserver, "/files/b")
    # Even a client carrying the key, an auth scheme and cookies by default sends none of them.
    client_kwargs = {
        "headers": {"X-API-KEY": KEY, "Authorization": f"Bearer {KEY}"},
        "auth": ("user", KEY),
        "cookies": {"session": KEY},
    }
    dl.one(artifact(url), tmp_path / "b.bin", client_kwargs=client_kwargs)
    dl.one(artifact(url), tmp_path / "c.bin")
    assert len(httpserver.log) == 2
    for request, _ in httpserver.log:
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert "x-api-key" not in headers
        assert "authorization" not in headers
        assert "cookie" not in headers
        assert KEY not in str(request.headers)
        assert headers["accept-encoding"] == "identity"
        assert headers["user-agent"].startswith("spine-sdk-python/")


def test_streams_to_a_temporary_file_then_renames(
    dl: Driver, httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = _serve(httpserver, "/files/c")
    during: list[tuple[list[str], bool]] = []

    def progress(done: int, total: int | None) -> None:
        if 0 < done < len(BODY):
            during.append((leftovers(tmp_path), (tmp_path / "Report.docx").exists()))

    dl.one(artifact(url, size=len(BODY)), tmp_path, progress=progress)
    assert during, "the body should arrive in several chunks"
    for temps, final_exists in during:
        assert len(temps) == 1 and temps[0].startswith(".spine-")
        assert not final_exists
    assert leftovers(tmp_path) == []


def test_dest_forms(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    url = _serve(httpserver, "/files/d")
    art = artifact(url, name="../../../escape.txt")
    # an explicit file path is used as given (the caller's choice)...
    explicit = dl.one(art, tmp_path / "sub" / "mine.bin")
    assert explicit == tmp_path / "sub" / "mine.bin" and explicit.read_bytes() == BODY
    # ...a directory (existing, or spelled with a trailing slash) gets the sanitised name
    made = dl.one(art, str(tmp_path / "new") + "/")
    assert made == tmp_path / "new" / "escape.txt"
    assert not (tmp_path.parent / "escape.txt").exists()


def test_overwrite(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    url = _serve(httpserver, "/files/e")
    target = tmp_path / "Report.docx"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        dl.one(artifact(url), tmp_path, overwrite=False)
    assert target.read_bytes() == b"old"
    assert len(httpserver.log) == 0  # refused before any request
    dl.one(artifact(url), tmp_path)
    assert target.read_bytes() == BODY
    assert leftovers(tmp_path) == []


def test_redirects_are_followed(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/signed/f").respond_with_response(
        Response(status=302, headers={"Location": "/blob/f"})
    )
    httpserver.expect_request("/blob/f").respond_with_data(BODY)
    path = dl.one(artifact(httpserver.url_for("/signed/f"), size=len(BODY)), tmp_path)
    assert path.read_bytes() == BODY


def test_redirect_loop_is_cut(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/loop").respond_with_response(
        Response(status=307, headers={"Location": "/loop"})
    )
    with pytest.raises(ArtifactDownloadError, match="redirects"):
        dl.one(artifact(httpserver.url_for("/loop")), tmp_path)
    assert leftovers(tmp_path) == [] and os.listdir(tmp_path) == []


def test_https_to_http_redirect_is_refused(dl: Driver, tmp_path: Path) -> None:
    hits: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hits.append(str(request.url))
        if request.url.scheme == "https":
            return httpx.Response(302, headers={"Location": "http://evil.example/steal"})
        return httpx.Response(200, content=b"plain")

    art = artifact("https://storage.example/a.docx?sig=1", name="a.docx")
    with pytest.raises(ArtifactDownloadError, match="https to plain http") as info:
        dl.one(art, tmp_path, client_kwargs={"transport": httpx.MockTransport(handler)})
    assert hits == ["https://storage.example/a.docx?sig=1"]
    assert "sig=1" not in str(info.value) and info.value.url == "https://storage.example/a.docx"
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("status", [403, 404, 410])
def test_expired_links(dl: Driver, httpserver: HTTPServer, tmp_path: Path, status: int) -> None:
    httpserver.expect_request("/files/g").respond_with_data(
        "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        status=status,
        content_type="application/xml",
    )
    url = httpserver.url_for("/files/g") + "?X-Amz-Signature=topsecret"
    with pytest.raises(ArtifactLinkExpiredError) as info:
        dl.one(artifact(url), tmp_path)
    err = info.value
    assert err.status_code == status
    assert err.artifact_name == "Report.docx"
    text = str(err)
    assert "fetch the run again" in text and "Request has expired" in text
    assert "topsecret" not in text and "topsecret" not in repr(err)
    assert isinstance(err, ArtifactDownloadError) and isinstance(err, SpineError)
    assert os.listdir(tmp_path) == []


def test_other_storage_errors(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/files/h").respond_with_data("boom", status=500)
    with pytest.raises(ArtifactDownloadError) as info:
        # Without retries: the mapping of one answer (retries: tests/faults/test_downloads.py).
        dl.one(artifact(httpserver.url_for("/files/h")), tmp_path, retry_policy=NO_RETRY)
    assert not isinstance(info.value, ArtifactLinkExpiredError)
    assert info.value.status_code == 500 and "HTTP 500: boom" in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://files.example/a", "/files/relative", "https://"]
)
def test_bad_download_urls(dl: Driver, tmp_path: Path, url: str) -> None:
    with pytest.raises(ArtifactDownloadError, match="download_url"):
        dl.one(artifact(url), tmp_path)


# ----------------------------------------------------------------------------- integrity


def test_short_body_is_discarded(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    url = _serve(httpserver, "/files/i", body=BODY[:1000])
    with pytest.raises(ArtifactSizeMismatchError) as info:
        dl.one(artifact(url, size=1001), tmp_path)
    assert info.value.expected == 1001
    assert os.listdir(tmp_path) == []


def test_long_body_is_discarded(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    url = _serve(httpserver, "/files/j")
    with pytest.raises(ArtifactSizeMismatchError):
        dl.one(artifact(url, size=10), tmp_path)
    assert os.listdir(tmp_path) == []


def test_zero_byte_artifact(dl: Driver, httpserver: HTTPServer, tmp_path: Path) -> None:
    url = _serve(httpserver, "/files/k", body=b"")
    path = dl.one(artifact(url, size=0), tmp_path)
    assert path.read_bytes() == b""


class _Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks after its first chunk, as a dropped connection does."""

    def __iter__(self) -> Iterator[bytes]:
        yield b"x" * 1000
        raise httpx.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise httpx.ReadError("connection reset by peer")


def test_broken_connection_leaves_nothing(dl: Driver, tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Broken())

    with pytest.raises(SpineConnectionError, match="ReadError"):
        dl.one(
            artifact("https://storage.example/x?sig=2", size=5000),
            tmp_path,
            client_kwargs={"transport": httpx.MockTransport(handler)},
            retry_policy=NO_RETRY,
        )
    assert os.listdir(tmp_path) == []


def test_unreachable_host(dl: Driver, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SpineConnectionError, match="ConnectError"):
        dl.one(artifact(f"http://127.0.0.1:{port}/x"), tmp_path, retry_policy=NO_RETRY)
    assert os.listdir(tmp_path) == []


def test_a_failing_progress_callback_aborts_cleanly(
    dl: Driver, httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = _serve(httpserver, "/files/l")

    def progress(done: int, total: int | None) -> None:
        if done > 70_000:
            raise KeyboardInterrupt  # as Ctrl-C would, mid-download

    with pytest.raises(KeyboardInterrupt):
        dl.one(artifact(url), tmp_path, progress=progress)
    assert os.listdir(tmp_path) == []


def test_bad_arguments(dl: Driver, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timeout"):
        dl.one(artifact("https://x.example/a"), tmp_path, timeout=-1)
    with pytest.raises(TypeError, match="http_client"):
        dl.one(artifact("https://x.example/a"), tmp_path, http_client=object())


# ----------------------------------------------------------------------------- batches

HOSTILE = [
    "../../etc/passwd",
    "/abs/path",
    "a\x00b",
    "x" * 1000 + ".docx",
    "..",
    "",
    "Report.docx",
    "report.docx",
    "CON",
    "sub\\..\\..\\win.ini",
]


def test_download_all_with_hostile_names(
    dl: Driver, httpserver: HTTPServer, tmp_path: Path
) -> None:
    artifacts = []
    for i, name in enumerate(HOSTILE):
        body = f"file {i}".encode()
        url = _serve(httpserver, f"/files/{i}", body=body)
        artifacts.append(artifact(url, name=name, size=len(body), id=f"id-{i}"))
    result = RunResult(final_output="done", artifacts=artifacts)
    out = tmp_path / "out"
    seen: dict[str, int] = {}

    def progress(art: RunArtifact, done: int, total: int | None) -> None:
        seen[art.id] = done

    paths = dl.all(result, out, progress=progress)
    assert [p.name for p in paths] == [
        "passwd",
        "path",
        "ab",
        "x" * 195 + ".docx",
        "artifact.docx",
        "artifact (2).docx",
        "Report.docx",
        "report (2).docx",
        "_CON",
        "win.ini",
    ]
    for i, path in enumerate(paths):
        assert path.parent == out
        assert path.read_bytes() == f"file {i}".encode()
    assert sorted(os.listdir(tmp_path)) == ["out"]  # nothing written beside the directory
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)
    assert seen == {f"id-{i}": len(f"file {i}") for i in range(len(HOSTILE))}


def test_download_all_empty_result(dl: Driver, tmp_path: Path) -> None:
    assert dl.all(RunResult(final_output="x"), tmp_path / "empty") == []
    assert (tmp_path / "empty").is_dir()


def test_download_all_stops_at_the_first_failure(
    dl: Driver, httpserver: HTTPServer, tmp_path: Path
) -> None:
    ok = _serve(httpserver, "/files/ok", body=b"ok")
    httpserver.expect_request("/files/gone").respond_with_data("gone", status=410)
    result = RunResult(
        final_output="x",
        artifacts=[
            artifact(ok, name="first.txt", id="1"),
            artifact(httpserver.url_for("/files/gone"), name="second.txt", id="2"),
        ],
    )
    with pytest.raises(ArtifactLinkExpiredError):
        dl.all(result, tmp_path)
    assert leftovers(tmp_path) == []
    assert "second.txt" not in os.listdir(tmp_path)


def test_download_all_through_a_given_client(
    dl: Driver, httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = _serve(httpserver, "/files/m", body=b"m")
    result = RunResult(final_output="x", artifacts=[artifact(url, name="m.txt")])
    paths = dl.all(result, tmp_path, client_kwargs={"headers": {"X-API-KEY": KEY}})
    assert paths[0].read_bytes() == b"m"
    ((request, _),) = httpserver.log
    assert "x-api-key" not in {k.lower() for k, _ in request.headers.items()}


def test_adownload_all_concurrency_must_be_positive(tmp_path: Path) -> None:
    import asyncio

    with pytest.raises(ValueError, match="concurrency"):
        asyncio.run(RunResult(final_output="x").adownload_all(tmp_path, concurrency=0))


def test_request_log_shows_signature_only_on_the_wire(
    dl: Driver, httpserver: HTTPServer, tmp_path: Path
) -> None:
    # The pre-signed query is sent as given (the storage host needs it).
    url = _serve(httpserver, "/files/n", body=b"n")
    dl.one(artifact(url), tmp_path)
    ((request, _),) = httpserver.log
    assert isinstance(request, Request)
    assert request.args["X-Amz-Signature"] == "topsecret"


def test_async_batch_failure_cancels_the_others_and_cleans_up(tmp_path: Path) -> None:
    import asyncio

    started = asyncio.Event()

    class Slow(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"s" * 1000
            started.set()
            await asyncio.sleep(30)  # cancelled long before this ends
            yield b"never"

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/slow":
            return httpx.Response(200, stream=Slow())
        await started.wait()  # fail only once the slow download has a temporary file
        return httpx.Response(410, text="gone")

    result = RunResult(
        final_output="x",
        artifacts=[
            artifact("https://storage.example/slow", name="slow.bin", id="1"),
            artifact("https://storage.example/gone", name="gone.bin", id="2"),
        ],
    )

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await result.adownload_all(tmp_path, http_client=client)

    t0 = time.monotonic()
    with pytest.raises(ArtifactLinkExpiredError):
        asyncio.run(go())
    assert time.monotonic() - t0 < 10  # the slow download was cancelled, not waited for
    assert os.listdir(tmp_path) == []
