"""Every row of the outcome table (``spine._retry.OUTCOMES``), produced for real over loopback
HTTP, for a create, a read and a wait: a create is ambiguous (``run_may_exist`` with the key)
unless it was refused definitively; a read is retried as the row says; a wait ends only on a
definitive answer or at its deadline. ``docs/faults.md`` shows the same table, row for row.

The clients' sleep only advances a fake clock (``conftest.Api``): no test waits for real.
"""

from __future__ import annotations

import io
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import spine
from spine._retry import OUTCOMES

from . import _server as b
from ._server import FaultServer
from .conftest import RETRY, Api

PROMPT = "Write a memo about Q1 sales"
RUN = "550e8400-e29b-41d4-a716-446655440000"
HTML = b"<!DOCTYPE html><html><body><h1>Bad gateway</h1>cloudflare</body></html>"


def bare(code: int, **kw: Any) -> b.Behaviour:
    """``code`` with a proxy's HTML page instead of the API's error envelope."""
    return b.status(code, body=HTML, headers=[("Content-Type", "text/html")], **kw)


# ----------------------------------------------------------------------------- odd servers


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A server that accepts connections and never reads from them: an upload stalls."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            accepted.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()


class _Endless(io.RawIOBase):
    """A stream that cannot seek and gives zeros for ever (well, for a few GiB)."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        view[:] = b"\0" * len(view)
        return len(view)


class _Liar(io.BytesIO):
    """A seekable stream whose size says 100 kB but whose reads give nothing: the request's
    Content-Length cannot be honoured (h11's LocalProtocolError)."""

    def read(self, size: int | None = -1) -> bytes:
        return b""


class _Failing(io.RawIOBase):
    """A caller's stream that fails part-way, as a disk or a network file system can."""

    def __init__(self) -> None:
        self.reads = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.reads += 1
        if self.reads > 2:
            raise OSError(5, "Input/output error")
        view = memoryview(buffer).cast("B")
        view[:10] = b"0123456789"
        return 10


def _hooked_client(api: Api, hook_error: Exception) -> Any:
    """An ``http_client`` of the caller whose response hook raises."""
    if api.is_async:

        async def ahook(response: httpx.Response) -> None:
            raise hook_error

        return httpx.AsyncClient(event_hooks={"response": [ahook]})

    def hook(response: httpx.Response) -> None:
        raise hook_error

    return httpx.Client(event_hooks={"response": [hook]})


def _proxied_client(api: Api, proxy: str) -> Any:
    cls = httpx.AsyncClient if api.is_async else httpx.Client
    return cls(proxy=proxy)


# ----------------------------------------------------------------------------- cases


@dataclass
class Setup:
    """A client wired to produce one outcome, and what to call it with."""

    client: Any
    create_kwargs: dict[str, Any] = field(default_factory=dict)
    run_id: str = RUN
    owned: list[Any] = field(default_factory=list)


Case = Callable[[Api, FaultServer, dict[str, Any]], Setup]


def _scripted(*behaviours: Callable[[], b.Behaviour]) -> Case:
    def setup(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
        server.script(*(make() for make in behaviours))
        return Setup(api.client(base_url=server.url))

    return setup


def _not_connected(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    return Setup(api.client(base_url=f"http://127.0.0.1:{extra['closed_port']}"))


def _proxy_refused(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    server.script(b.status(502))  # the answer to CONNECT: no tunnel
    http = _proxied_client(api, server.url)
    return Setup(api.client(base_url="https://api.spine.invalid", http_client=http), owned=[http])


def _refused_locally_create(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    return Setup(api.client(base_url=server.url), create_kwargs={"files": [extra["fifo"]]})


def _refused_locally_read(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    return Setup(api.client(base_url=server.url), run_id="not-a-uuid")


def _send_failed(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    client = api.client(base_url=extra["black_hole"], timeout=0.3)
    return Setup(client, create_kwargs={"files": [("big.bin", _Endless())]})


def _transport_other(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    server.script(b.api())
    liar = _Liar(b"x" * 100_000)
    return Setup(api.client(base_url=server.url), create_kwargs={"files": [("a.bin", liar)]})


def _upload_changed(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    server.script(b.api())
    path = extra["tmp"] / "data.csv"
    path.write_bytes(b"x" * 100_000)

    def shrink(request: httpx.Request) -> None:  # after the request is sized, before its body
        if request.method == "POST":
            os.truncate(path, 1_000)

    if api.is_async:

        async def ashrink(request: httpx.Request) -> None:
            shrink(request)

        http: Any = httpx.AsyncClient(event_hooks={"request": [ashrink]})
    else:
        http = httpx.Client(event_hooks={"request": [shrink]})
    client = api.client(base_url=server.url, http_client=http)
    return Setup(client, create_kwargs={"files": [path]}, owned=[http])


def _failed_locally_create(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    server.script(b.api())
    return Setup(api.client(base_url=server.url), create_kwargs={"files": [("a.bin", _Failing())]})


def _failed_locally_hook(api: Api, server: FaultServer, extra: dict[str, Any]) -> Setup:
    server.script(b.api())  # the server answers (and creates the run); the caller's hook fails
    http = _hooked_client(api, RuntimeError("the caller's response hook failed"))
    return Setup(api.client(base_url=server.url, http_client=http), owned=[http])


def _see_other(server: FaultServer, sock: socket.socket, request: b.Request) -> bool:
    """The issue's example: the create is acted on and answered with 303 to the new run."""
    _, envelope = server.act(request)
    run_id = envelope["data"]["run_id"]
    sock.sendall(b.http_response(303, b"", [("Location", f"/v1/run/{run_id}")]))
    return True


#: kind -> (how to produce it on a create, on a read/poll); None: that request cannot meet it
#: (a GET's few bytes always fit in the socket buffer; a GET carries no file).
CASES: dict[str, tuple[Case | None, Case | None]] = {
    "not_connected": (_not_connected, _not_connected),
    "proxy_refused": (_proxy_refused, _proxy_refused),
    "refused_locally": (_refused_locally_create, _refused_locally_read),
    "send_failed": (_send_failed, None),
    "no_answer": (_scripted(lambda: b.reset(act=True)), _scripted(lambda: b.reset())),
    "transport_other": (_transport_other, None),
    "failed_locally": (_failed_locally_create, _failed_locally_hook),
    "upload_changed": (_upload_changed, None),
    "unreadable": (
        _scripted(lambda: b.status(200, body=HTML, act=True)),
        _scripted(lambda: b.status(200, body=HTML)),
    ),
    "redirect": (
        _scripted(lambda: _see_other),
        _scripted(lambda: b.redirect(f"/v1/run/{RUN}?moved", 302)),
    ),
    "refused_400": (_scripted(lambda: b.status(400)), _scripted(lambda: b.status(400))),
    "refused_401": (_scripted(lambda: b.status(401)), _scripted(lambda: b.status(401))),
    "unauthorized_bare": (_scripted(lambda: bare(401)), _scripted(lambda: bare(401))),
    "forbidden_403": (_scripted(lambda: b.status(403)), _scripted(lambda: b.status(403))),
    "not_found_404": (_scripted(lambda: b.status(404)), _scripted(lambda: bare(404))),
    "timeout_408": (_scripted(lambda: b.status(408)), _scripted(lambda: b.status(408))),
    "refused_413": (_scripted(lambda: b.status(413)), _scripted(lambda: b.status(413))),
    "rate_limited_429": (_scripted(lambda: b.status(429)), _scripted(lambda: b.status(429))),
    "rate_limited_bare": (_scripted(lambda: bare(429)), _scripted(lambda: bare(429))),
    "unavailable_503": (_scripted(lambda: b.status(503)), _scripted(lambda: b.status(503))),
    "unavailable_bare": (_scripted(lambda: bare(503)), _scripted(lambda: bare(503))),
    "server_error": (_scripted(lambda: b.status(502)), _scripted(lambda: bare(504))),
    "other_status": (_scripted(lambda: b.status(409)), _scripted(lambda: bare(418))),
}

# More members of the big rows, each produced for real too.
MORE_CREATES: dict[str, tuple[str, Case]] = {
    "500": ("server_error", _scripted(lambda: b.status(500, act=True))),
    "504-html": ("server_error", _scripted(lambda: bare(504))),
    "404": ("not_found_404", _scripted(lambda: bare(404))),
    "400-html": ("other_status", _scripted(lambda: bare(400))),
    "413-html": ("other_status", _scripted(lambda: bare(413))),
    "418": ("other_status", _scripted(lambda: b.status(418))),
    "422": ("other_status", _scripted(lambda: b.status(422))),
    "301": ("redirect", _scripted(lambda: b.redirect("/v1/run/elsewhere", 301))),
    "307": ("redirect", _scripted(lambda: b.redirect("/v1/run", 307))),
    "308": ("redirect", _scripted(lambda: b.redirect("/v1/run", 308))),
    "200-not-envelope": (
        "unreadable",
        _scripted(lambda: b.status(200, body=b'{"ok": true}', act=True)),
    ),
    "201-run-id-not-uuid": (
        "unreadable",
        _scripted(
            lambda: b.status(
                201,
                body=b'{"success": true, "data": {"run_id": "run-1", "status": "running",'
                b' "poll_url": "/v1/run/run-1", "estimated_duration_ms": 1}}',
            )
        ),
    ),
    "reset-mid-body": ("no_answer", _scripted(lambda: b.reset_mid_body(act=True))),
    "json-200-success-false": (
        "unreadable",
        _scripted(lambda: b.status(200, body=b'{"success": false, "error": "x"}')),
    ),
}


def test_every_row_has_a_case() -> None:
    assert set(CASES) == set(OUTCOMES)
    for kind, (create, read) in CASES.items():
        assert create is not None or read is not None, kind


@pytest.fixture
def extra(closed_port: int, black_hole: str, tmp_path: Path) -> dict[str, Any]:
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    return {"closed_port": closed_port, "black_hole": black_hole, "fifo": fifo, "tmp": tmp_path}


def _close(api: Api, setup: Setup) -> None:
    for http in setup.owned:
        api.call(http.aclose if api.is_async else http.close)


# ----------------------------------------------------------------------------- create


def _check_create(api: Api, server: FaultServer, setup: Setup, kind: str) -> spine.SpineError:
    rule = OUTCOMES[kind]
    with pytest.raises(spine.SpineError) as info:
        api.call(setup.client.runs.create, PROMPT, **setup.create_kwargs)
    err = info.value
    assert err._outcome == kind
    assert err.run_may_exist is rule.run_may_exist, str(err)
    if rule.run_may_exist:
        assert err.idempotency_key and err.idempotency_key in str(err)
        assert "may have been created" in str(err)
    else:
        assert err.idempotency_key is None
    # Re-sent only when the row says so, and then up to the policy's budget.
    assert len(api.sleeps) == (RETRY.max_retries if rule.retry_create else 0)
    return err


@pytest.mark.parametrize("kind", [k for k, (c, _) in CASES.items() if c is not None])
def test_a_create_ends_as_its_row_says(
    api: Api, server: FaultServer, extra: dict[str, Any], kind: str
) -> None:
    create, _ = CASES[kind]
    assert create is not None
    setup = create(api, server, extra)
    try:
        err = _check_create(api, server, setup, kind)
    finally:
        _close(api, setup)
    posts = server.creates()
    if kind in ("not_connected", "proxy_refused", "send_failed", "refused_locally"):
        assert posts == []  # the API never saw the create
    elif err.run_may_exist:
        # Whatever happened, the key gets the run without paying twice.
        server.script(b.api())
        client = api.client(base_url=server.url)
        handle = api.call(client.runs.create, PROMPT, idempotency_key=err.idempotency_key)
        assert server.runs == 1 and server.run_ids == [handle.run_id]
        assert {r.headers["idempotency-key"] for r in server.creates()} == {err.idempotency_key}


@pytest.mark.parametrize("member", sorted(MORE_CREATES))
def test_more_members_of_the_create_rows(
    api: Api, server: FaultServer, extra: dict[str, Any], member: str
) -> None:
    kind, create = MORE_CREATES[member]
    setup = create(api, server, extra)
    _check_create(api, server, setup, kind)
    assert len(server.creates()) == 1


def test_the_issue_example_a_303_to_the_new_run(api: Api, server: FaultServer) -> None:
    server.script(_see_other)
    client = api.client(base_url=server.url)
    with pytest.raises(spine.UnexpectedResponseError) as info:
        api.call(client.runs.create, PROMPT)
    err = info.value
    assert err.status_code == 303 and err.run_may_exist and err.idempotency_key
    server.script(b.api())
    handle = api.call(client.runs.create, PROMPT, idempotency_key=err.idempotency_key)
    assert server.runs == 1 and server.run_ids == [handle.run_id]


# ----------------------------------------------------------------------------- read


@pytest.mark.parametrize("kind", [k for k, (_, r) in CASES.items() if r is not None])
def test_a_read_is_retried_as_its_row_says(
    api: Api, server: FaultServer, extra: dict[str, Any], kind: str
) -> None:
    _, read = CASES[kind]
    assert read is not None
    setup = read(api, server, extra)
    try:
        with pytest.raises(spine.SpineError) as info:
            api.call(setup.client.runs.get, setup.run_id)
    finally:
        _close(api, setup)
    assert info.value._outcome == kind
    assert not info.value.run_may_exist
    assert len(api.sleeps) == (RETRY.max_retries if OUTCOMES[kind].retry_read else 0)


# ----------------------------------------------------------------------------- wait


@pytest.mark.parametrize("kind", [k for k, (_, r) in CASES.items() if r is not None])
def test_a_wait_goes_on_or_ends_as_its_row_says(
    api: Api, server: FaultServer, extra: dict[str, Any], kind: str
) -> None:
    _, read = CASES[kind]
    assert read is not None
    setup = read(api, server, extra)
    began = api.fake_now
    try:
        if kind == "refused_locally":  # an invalid id: refused before the wait starts
            with pytest.raises(spine.InvalidRequestError):
                setup.client.runs.attach(setup.run_id)
            assert server.requests == []
            return
        handle = setup.client.runs.attach(setup.run_id)
        for wait in (handle.wait, handle.wait_for_terminal):
            with pytest.raises(spine.SpineError) as info:
                api.call(wait, timeout=60, poll_interval=5)
            err = info.value
            if OUTCOMES[kind].wait_goes_on:
                # Polled on its schedule until the deadline, the last failure as the cause.
                assert isinstance(err, spine.SpineTimeoutError) and err.run_id == RUN
                assert api.fake_now - began >= 60
                assert isinstance(err.__cause__, spine.SpineError)
                assert err.__cause__._outcome == kind
            else:
                assert err._outcome == kind  # definitive: ended at once
                assert api.fake_now - began < 60
            began = api.fake_now
        # stream_progress() too (its deadline is optional: given here).
        with pytest.raises(spine.SpineError) as info:
            api.collect(handle.stream_progress(poll_interval=5, timeout=60))
        if OUTCOMES[kind].wait_goes_on:
            assert isinstance(info.value, spine.SpineTimeoutError)
        else:
            assert info.value._outcome == kind
    finally:
        _close(api, setup)


WRONG_RUN = b'{"success": true, "data": {"run_id": "%b", "status": "completed", "result":' % (
    str(uuid.uuid4()).encode()
) + b' {"final_output": "not yours"}}}'
UNREADABLE_2XX: dict[str, Callable[[], b.Behaviour]] = {
    "html-200": lambda: b.status(200, body=HTML),
    "wrong-run": lambda: b.raw(b.http_response(200, WRONG_RUN), keep=True),
    "json-of-another-api": lambda: b.status(200, body=b'{"ok": true, "items": []}'),
}
TRANSIENT_THEN_DONE: dict[str, Callable[[], b.Behaviour]] = {
    "408": lambda: b.status(408),
    "429-html": lambda: bare(429),
    "502-html": lambda: bare(502),
    "503": lambda: b.status(503),
    "500": lambda: b.status(500),
    "redirect": lambda: b.redirect("/login", 302),
    "409": lambda: b.status(409),
    "400-html": lambda: bare(400),
    "reset": lambda: b.reset(),
    "reset-mid-body": lambda: b.reset_mid_body(act=False),
}  # fmt: skip


@pytest.mark.parametrize("answer", sorted(TRANSIENT_THEN_DONE))
def test_a_wait_rides_out_transient_answers_then_returns_the_result(
    api: Api, server: FaultServer, answer: str
) -> None:
    # The issue's example is "408": polls answered 408, then completed, within wait(timeout=5).
    client = api.client(base_url=server.url)
    handle = api.call(client.runs.create, PROMPT)
    server.finish()
    fault = TRANSIENT_THEN_DONE[answer]
    for follow in ("wait", "stream_progress"):
        server.script(*[fault() for _ in range(7)], b.api())  # more than one poll's retries
        if follow == "wait":
            result = api.call(handle.wait, timeout=600, poll_interval=1)
            assert result.final_output == "done"
        else:
            assert api.collect(handle.stream_progress(poll_interval=1)) == []
            assert handle.status == spine.RunStatus.COMPLETED


@pytest.mark.parametrize("answer", sorted(UNREADABLE_2XX))
def test_a_success_the_sdk_cannot_read_ends_a_wait(
    api: Api, server: FaultServer, answer: str
) -> None:
    # Not the API's answer, or an API newer than this SDK: polling again would not help.
    client = api.client(base_url=server.url)
    handle = api.call(client.runs.create, PROMPT)
    server.script(UNREADABLE_2XX[answer]())
    with pytest.raises(spine.UnexpectedResponseError) as info:
        api.call(handle.wait, timeout=600, poll_interval=1)
    assert info.value._outcome == "unreadable" and not info.value.transient
    assert len([r for r in server.requests if r.method == "GET"]) == 1


def test_the_issue_example_408_within_a_short_timeout(api: Api, server: FaultServer) -> None:
    client = api.client(base_url=server.url, retry_policy=spine.RetryPolicy.none())
    handle = api.call(client.runs.create, PROMPT)
    server.finish()
    server.script(b.status(408), b.api())
    result = api.call(handle.wait, timeout=5, poll_interval=0.1)
    assert result.final_output == "done"
    assert len([r for r in server.requests if r.method == "GET"]) == 2


# ----------------------------------------------------------------------------- the docs


ROW = re.compile(r"\| `(\w+)` \| (.+) \| (yes|no) \| (yes|no) \| (yes|no) \| (yes|no) \|")


def _docs_rows() -> dict[str, tuple[str, bool, bool, bool, bool]]:
    text = (Path(__file__).parents[2] / "docs" / "faults.md").read_text(encoding="utf-8")
    rows: dict[str, tuple[str, bool, bool, bool, bool]] = {}
    for line in text.splitlines():
        match = re.fullmatch(
            r"\| `(\w+)` \| (.+) \| (yes|no) \| (yes|no) \| (yes|no) \| (yes|no) \|", line
        )
        if match:
            kind, what, *flags = match.groups()
            rows[kind] = (what, *(f == "yes" for f in flags))  # type: ignore[assignment]
    return rows


def test_the_docs_table_is_the_code_table() -> None:
    rows = _docs_rows()
    assert list(rows) == list(OUTCOMES), "same rows, same order"
    for kind, rule in OUTCOMES.items():
        assert rows[kind] == (
            rule.what,
            rule.retry_read,
            rule.retry_create,
            rule.run_may_exist,
            rule.wait_goes_on,
        ), kind
