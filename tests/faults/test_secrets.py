"""The API key stays secret: it goes only to the configured API host, and never appears in logs
(``SPINE_LOG=debug``), reprs, exception messages or tracebacks (the whole chain of causes, and the
httpx requests they carry), even when a hostile server echoes it back everywhere it can.

Keys are made at run time, so that they are not in this file's source lines (which tracebacks
quote)."""

from __future__ import annotations

import json
import logging
import pickle
import secrets
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import spine
from spine.testing import Sandbox

from . import _server as b
from ._server import FaultServer, Request
from .conftest import Api


def _keys() -> list[str]:
    return [
        "sk_spine_" + secrets.token_hex(16),  # the documented shape
        "custom-" + secrets.token_urlsafe(24),  # a key without the known prefix
    ]


def _fragments(key: str) -> list[str]:
    """The key and any part of it long enough to matter (masks show at most 4 characters)."""
    secret = key.split("_", 2)[-1] if key.startswith("sk_spine_") else key
    return [key, secret[:12], secret[-12:]]


def _exception_texts(exc: BaseException) -> Iterator[str]:
    yield "".join(traceback.format_exception(exc))
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        for name in ("request", "_request"):
            try:
                request = getattr(current, name, None)
            except RuntimeError:  # httpx raises when an error has no request
                request = None
            if request is not None:
                yield repr(request)
                yield repr(request.headers)
                yield str(dict(request.headers))
        for value in vars(current).values():
            if isinstance(value, str):
                yield value
        yield (
            repr(pickle.loads(pickle.dumps(current)))
            if isinstance(current, spine.SpineError)
            else ""
        )
        current = current.__cause__ or current.__context__


def _echo(status: int, *, act: bool = False) -> b.Behaviour:
    """A hostile server: the key it received comes back in the body, the request id, a
    redirect target and every string field of an envelope."""

    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        key = request.headers.get("x-api-key", "")
        if act:
            server.act(request)
        body = json.dumps(
            {"success": False, "error": f"bad key {key}", "message": key, "detail": key}
        ).encode()
        headers = [("X-Request-ID", f"req-{key}"), ("Location", f"http://evil.test/?k={key}")]
        if status == 429:
            headers.append(("Retry-After", key))
        sock.sendall(b.http_response(status, body, headers))
        return True

    return run


def _echo_200_garbage(server: FaultServer, sock: socket.socket, request: Request) -> bool:
    key = request.headers.get("x-api-key", "")
    sock.sendall(b.http_response(200, f"<html>{key}</html>".encode(), [("X-Request-ID", key)]))
    return True


def _echo_failed_run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
    key = request.headers.get("x-api-key", "")
    run_id = request.path.rsplit("/", 1)[-1]
    data = {"run_id": run_id, "status": "failed", "errors": [{"error": f"key {key} rejected"}]}
    sock.sendall(b.http_response(200, json.dumps({"success": True, "data": data}).encode()))
    return True


SCENARIOS: dict[str, Callable[[], list[b.Behaviour]]] = {
    "400-echo": lambda: [_echo(400)],
    "401-echo": lambda: [_echo(401)],
    "429-echo": lambda: [_echo(429)],
    "500-echo-create-acted": lambda: [_echo(500, act=True)],
    "503-burst": lambda: [_echo(503)],
    "redirect-echo": lambda: [_echo(307)],
    "garbage-200": lambda: [_echo_200_garbage],
    "reset": lambda: [b.reset(act=True)],
    "stall": lambda: [b.stall(act=True)],
    "trickle": lambda: [b.trickle(interval=0.05, headers_too=True)],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("which", ["prefixed", "unprefixed"])
def test_the_key_never_appears_in_errors_or_logs(
    api: Api,
    server: FaultServer,
    scenario: str,
    which: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    key = _keys()[0 if which == "prefixed" else 1]
    monkeypatch.setenv("SPINE_LOG", "debug")
    caplog.set_level(logging.DEBUG, logger="spine")
    client = api.client(
        api_key=key,
        base_url=server.url,
        timeout=0.15,
        retry_policy=spine.RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02),
        real_sleep=True,
    )
    handle = api.call(client.runs.create, "hello")  # a good call first, then the fault
    server.script(*SCENARIOS[scenario]())
    errors: list[BaseException] = []
    calls = [
        lambda: api.call(client.runs.get, handle.run_id),
        lambda: api.call(client.runs.create, "again", files=[("a.txt", b"x")]),
        lambda: api.call(client.canvas.get_dag, "c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1"),
        lambda: api.call(handle.wait, timeout=0.1, poll_interval=0.02),
    ]
    if scenario in ("stall", "trickle"):  # real timeouts: the first two calls say it all
        calls = calls[:2]
    for call in calls:
        try:
            call()
        except spine.SpineError as exc:
            errors.append(exc)
    assert errors, "every call should have failed"
    texts = [t for exc in errors for t in _exception_texts(exc)]
    texts += [r.getMessage() for r in caplog.records]
    texts += [caplog.text, *capfd.readouterr(), repr(client), repr(handle)]
    texts += [repr(client.retry_policy)]
    for fragment in _fragments(key):
        leaks = [t for t in texts if fragment in t]
        assert not leaks, f"the key leaked: {leaks[0][:300]}"
    # It was sent, and only to the API host.
    assert all(r.headers.get("x-api-key") == key for r in server.requests)


def test_a_failed_run_echoing_the_key_does_not_leak_it(api: Api, server: FaultServer) -> None:
    for key in _keys():
        client = api.client(api_key=key, base_url=server.url)
        server.script(b.api(), _echo_failed_run)
        handle = api.call(client.runs.create, "hello")
        with pytest.raises(spine.RunFailedError) as info:
            api.call(handle.wait, poll_interval=0.1)
        assert info.value.errors
        texts = list(_exception_texts(info.value))
        for fragment in _fragments(key):
            assert not [t for t in texts if fragment in t]
        server.script(b.api())


def test_http_libraries_never_log_the_key_either(
    api: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every logger at DEBUG (httpx, httpcore too), what the SDK sends stays secret."""
    key = "sk_spine_" + secrets.token_hex(16)
    monkeypatch.setenv("SPINE_LOG", "debug")
    caplog.set_level(logging.DEBUG)
    with Sandbox(run_duration=0.1) as sandbox:
        client = api.client(
            api_key=key,
            base_url=sandbox.url,
            real_sleep=True,
            retry_policy=spine.RetryPolicy(base_delay=0.01, max_delay=0.02),
        )
        sandbox.inject(status=503, path="/v1/run/*", times=2)
        handle = api.call(client.runs.create, "hello", files=[("a.txt", b"data")])
        api.call(handle.wait, poll_interval=0.02)
        api.call(client.canvas.get_dag, handle.canvas_id)
        assert {r.api_key for r in sandbox.requests} == {key}
    assert caplog.records, "logging was on"
    for fragment in _fragments(key):
        assert fragment not in caplog.text


def test_the_key_is_not_in_reprs_or_pickles(api: Api) -> None:
    key = "sk_spine_" + secrets.token_hex(16)
    client = api.client(api_key=key, base_url="https://api.example.test")
    texts: list[Any] = [repr(client), str(client), repr(client.runs), repr(client.canvas)]
    texts.append(repr(client.runs.attach("550e8400-e29b-41d4-a716-446655440000")))
    for fragment in _fragments(key):
        assert not [t for t in texts if fragment in t]


def test_artifact_downloads_never_carry_the_key(api: Api, tmp_path: Any) -> None:
    """Artifact links are pre-signed: fetched without the key, even from the API's own host."""
    key = "sk_spine_" + secrets.token_hex(16)
    with Sandbox(run_duration=0.05) as sandbox:
        client = api.client(api_key=key, base_url=sandbox.url, real_sleep=True)
        handle = api.call(client.runs.create, "A report with a table", template="report")
        result = api.call(handle.wait, poll_interval=0.02)
        assert result.artifacts
        download = result.adownload_all if api.is_async else result.download_all
        paths = api.call(download, tmp_path)
        assert paths and all(p.exists() for p in paths)
        fetched = [r for r in sandbox.requests if r.path.startswith("/files/")]
    assert len(fetched) == len(result.artifacts)
    assert all(r.api_key is None for r in fetched), "the key went to an artifact URL"
    assert all(key not in str(r.headers) for r in fetched)


# ----------------------------------------------------------------------------- whatever is echoed


def _deep(value: Any, seen: set[int] | None = None) -> Iterator[str]:
    """Every text reachable from ``value``: reprs, strings and bytes, nested containers and
    the attributes of objects (an exception's, a model's)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    yield repr(value)
    if isinstance(value, bytes | bytearray):
        yield bytes(value).decode("latin-1")
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _deep(k, seen)
            yield from _deep(v, seen)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _deep(item, seen)
    elif hasattr(value, "model_dump"):
        yield from _deep(value.model_dump(), seen)
    elif hasattr(value, "__dict__"):
        yield from _deep(dict(vars(value)), seen)


def _everything(exc: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(exc))]
    current: BaseException | None = exc
    chain: set[int] = set()
    while current is not None and id(current) not in chain:
        chain.add(id(current))
        texts += [str(current), *(_deep(current.args)), *_deep(getattr(current, "__notes__", []))]
        texts += list(_deep(dict(vars(current))))
        if isinstance(current, spine.SpineError):
            texts.append(pickle.dumps(current).decode("latin-1"))
            texts += list(_deep(dict(vars(pickle.loads(pickle.dumps(current))))))
        current = current.__cause__ or current.__context__
    return texts


def _forms(key: str) -> dict[str, str]:
    """The key as a hostile server may echo it back."""
    return {
        "literal": key,
        "json-escaped": "".join(f"\\u{ord(c):04x}" if c == "_" else c for c in key),
        "percent-encoded": "".join(f"%{ord(c):02X}" if c in "_-" else c for c in key),
        "html-entities": "".join(f"&#{ord(c)};" for c in key),
    }


def _echoing(status: int, where: str, form: str) -> b.Behaviour:
    def run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        key = request.headers.get("x-api-key", "")
        echo = _forms(key)[form]
        headers: list[tuple[str, str]] = []
        reason = "X"
        body = b'{"success": false, "error": "nope"}'
        if where == "envelope":
            body = f'{{"success": false, "error": "bad key {echo}", "x": {{"k": ["{echo}"]}}}}'
            body = body.encode()
        elif where == "html":
            body = f"<html><body>Denied for {echo}</body></html>".encode()
            headers.append(("Content-Type", "text/html"))
        elif where == "header":
            headers += [("X-Request-ID", echo), ("X-Echo", echo), ("Location", f"/x?k={echo}")]
        elif where == "reason":
            reason = f"Denied {echo}"
        raw = b.http_response(status, body, headers, reason=reason)
        sock.sendall(raw)
        return True

    return run


@pytest.mark.parametrize("status", [401, 400, 429, 503, 302, 200])
@pytest.mark.parametrize("where", ["envelope", "html", "header", "reason"])
@pytest.mark.parametrize("form", ["literal", "json-escaped", "percent-encoded", "html-entities"])
def test_an_echoed_key_survives_nowhere(
    api: Api,
    server: FaultServer,
    caplog: pytest.LogCaptureFixture,
    status: int,
    where: str,
    form: str,
) -> None:
    # The example is (401, envelope, literal): exc.response_body, exc.raw_body and
    # pickle.dumps(exc) held the key.
    caplog.set_level(logging.DEBUG)  # every logger: spine, httpx, httpcore
    for key in _keys():
        server.script(_echoing(status, where, form))
        client = api.client(api_key=key, base_url=server.url)
        errors: list[BaseException] = []
        for method, arg in (
            (client.runs.get, "550e8400-e29b-41d4-a716-446655440000"),
            (client.runs.create, "hello"),
        ):
            with pytest.raises(spine.SpineError) as info:
                api.call(method, arg)
            errors.append(info.value)
        texts = [t for exc in errors for t in _everything(exc)]
        texts += [r.getMessage() for r in caplog.records] + [caplog.text]
        for fragment in _fragments(key):
            leaks = [t for t in texts if fragment in t]
            assert not leaks, f"the key leaked: {leaks[0][:300]}"
        caplog.clear()


def test_a_cause_holding_the_key_in_an_attribute_is_replaced(api: Api, server: FaultServer) -> None:
    # A status line h11 refuses is quoted in its error message; the stand-in keeps neither.
    def bad_status_line(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        key = request.headers.get("x-api-key", "")
        sock.sendall(f"HTTP/1.1 2x0 {key}\r\nContent-Length: 0\r\n\r\n".encode())
        return False

    for key in _keys():
        server.script(bad_status_line)
        client = api.client(api_key=key, base_url=server.url, retry_policy=spine.RetryPolicy.none())
        with pytest.raises(spine.SpineError) as info:
            api.call(client.runs.create, "hello")
        texts = _everything(info.value)
        for fragment in _fragments(key):
            assert not [t for t in texts if fragment in t]


def test_a_failed_run_echoing_the_key_keeps_it_out_of_errors_run_and_pickle(
    api: Api, server: FaultServer
) -> None:
    for key in _keys():
        client = api.client(api_key=key, base_url=server.url)
        server.script(b.api(), _echo_failed_run)
        handle = api.call(client.runs.create, "hello")
        with pytest.raises(spine.RunFailedError) as info:
            api.call(handle.wait, poll_interval=0.1)
        err = info.value
        assert err.errors and err.run is not None and "rejected" in err.errors[0].error
        texts = _everything(err) + list(_deep(err.errors)) + list(_deep(err.run))
        for fragment in _fragments(key):
            assert not [t for t in texts if fragment in t]
        server.script(b.api())


def test_the_cli_never_prints_an_echoed_key(server: FaultServer, tmp_path: Any) -> None:
    import subprocess
    import sys

    key = "sk_spine_" + secrets.token_hex(16)

    def echo_run(server: FaultServer, sock: socket.socket, request: Request) -> bool:
        sent = request.headers.get("x-api-key", "")
        run_id = request.path.rsplit("/", 1)[-1]
        data = {
            "run_id": run_id,
            "status": "partial",
            "canvas_id": "c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1",
            "result": {
                "final_output": f"# Your key is {sent}\n",
                "artifacts": [
                    {"id": "a", "type": "txt", "name": f"{sent}.txt", "download_url": "http://x/"}
                ],
            },
            "errors": [{"error": f"key {sent} rejected", "block_type": sent}],
            "template": sent,
        }
        headers = [("X-Request-ID", sent)]
        body = json.dumps({"success": True, "data": data}).encode()
        sock.sendall(b.http_response(200, body, headers))
        return True

    server.script(echo_run)
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("SPINE_")}
    env.update(SPINE_API_KEY=key, SPINE_BASE_URL=server.url, PYTHONIOENCODING="utf-8")
    run_id = "550e8400-e29b-41d4-a716-446655440000"
    outputs = []
    for args in (["status", run_id], ["status", run_id, "--json"], ["wait", run_id],
                 ["wait", run_id, "--json"], ["--debug", "status", run_id]):  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "spine", *args],
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
        )
        outputs += [proc.stdout, proc.stderr]
        # The echoed values were shown, masked (JSON output escapes the ellipsis).
        assert "sk_spine_\u2026" in proc.stdout or "sk_spine_\\u2026" in proc.stdout
    for fragment in _fragments(key):
        assert not [o for o in outputs if fragment in o]
