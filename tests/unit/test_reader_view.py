"""What a reader sees: every public class has a useful repr and help(), and messages are true
of what happened (no doubled full stops, no HTTP status for a request never sent)."""

from __future__ import annotations

import enum
import inspect
import pydoc
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pydantic
import pytest

import spine
import spine.testing
from spine.testing import Sandbox

RUN_ID = "550e8400-e29b-41d4-a716-446655440000"


def _public_classes() -> dict[str, type]:
    found = {}
    for module in (spine, spine.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                found[f"{module.__name__}.{name}"] = obj
    return found


PUBLIC = _public_classes()

# Classes users construct: help(cls.__init__) must explain every parameter.
CONSTRUCTED_BY_USERS = {
    "spine.SpineClient", "spine.AsyncSpineClient", "spine.RetryPolicy",
    "spine.testing.Sandbox", "spine.testing.ManualClock", "spine.testing.Fault",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.0) as box:
        yield box


_MADE: dict[int, dict[str, Callable[[], Any]]] = {}


def made(box: Sandbox) -> dict[str, Callable[[], Any]]:
    """The instances, built once per sandbox."""
    if id(box) not in _MADE:
        _MADE[id(box)] = _instances(box)
    return _MADE[id(box)]


def _failed_run() -> spine.GetRunResponse:
    return spine.GetRunResponse.model_validate(
        {"run_id": RUN_ID, "status": "failed", "errors": [{"error": "Agent execution failed"}]}
    )


def _instances(box: Sandbox) -> dict[str, Callable[[], Any]]:
    """One instance of every public class that is not a pydantic model or an enum (those
    have field-by-field reprs of their own)."""
    client = spine.SpineClient(api_key=box.api_key, base_url=box.url)
    aclient = spine.AsyncSpineClient(api_key=box.api_key, base_url=box.url)
    fault = box.inject(status=503, path="/nowhere")
    box.inject(delay=0.1, path="/nowhere/either", times=None)
    httpx.get(box.url + "/_sandbox/health")
    return {
        "spine.SpineClient": lambda: client,
        "spine.AsyncSpineClient": lambda: aclient,
        "spine.RunHandle": lambda: client.runs.create("A run"),
        "spine.AsyncRunHandle": lambda: aclient.runs.attach(RUN_ID),
        "spine.RetryPolicy": spine.RetryPolicy,
        "spine.SpineError": lambda: spine.SpineError("Something went wrong."),
        "spine.SpineConnectionError": lambda: spine.SpineConnectionError("No route."),
        "spine.SpineTimeoutError": lambda: spine.SpineTimeoutError("Too slow.", run_id=RUN_ID),
        "spine.WebhookSignatureError": lambda: spine.WebhookSignatureError("Bad signature."),
        "spine.SpineAPIError": lambda: spine.SpineAPIError("Conflict", status_code=409),
        "spine.BadRequestError": lambda: spine.BadRequestError("Invalid", status_code=400,
                                                               request_id="req_1"),
        "spine.AuthenticationError": lambda: spine.AuthenticationError("No", status_code=401),
        "spine.NotFoundError": lambda: spine.NotFoundError("Run not found", status_code=404),
        "spine.RateLimitError": lambda: spine.RateLimitError("Slow down", retry_after=2),
        "spine.ServerError": lambda: spine.ServerError("Boom", status_code=500),
        "spine.UnexpectedResponseError": lambda: spine.UnexpectedResponseError(
            "Not JSON", status_code=200),
        "spine.RunFailedError": lambda: spine.RunFailedError.from_run(_failed_run()),
        "spine.InvalidRequestError": lambda: spine.InvalidRequestError("prompt is empty"),
        "spine.ArtifactDownloadError": lambda: spine.ArtifactDownloadError(
            "Refused", artifact_name="a.docx", status_code=500),
        "spine.ArtifactLinkExpiredError": lambda: spine.ArtifactLinkExpiredError(
            "Expired", artifact_name="a.docx", status_code=403),
        "spine.ArtifactSizeMismatchError": lambda: spine.ArtifactSizeMismatchError(
            "Short", artifact_name="a.docx", expected=10, received=5),
        "spine.testing.Sandbox": lambda: box,
        "spine.testing.ManualClock": spine.testing.ManualClock,
        "spine.testing.Fault": lambda: fault,
        "spine.testing.FaultList": lambda: box.faults,
        "spine.testing.RequestRecord": lambda: box.requests[-1],
        "spine.testing.UploadedFile": lambda: _uploaded(client, box),
    }


def _uploaded(client: spine.SpineClient, box: Sandbox) -> Any:
    handle = client.runs.create("With a file", files=[("notes.md", b"# Notes")])
    return box.uploads(handle.run_id)[0]


def test_every_public_class_is_covered(sandbox: Sandbox) -> None:
    rest = {n for n, c in PUBLIC.items() if not issubclass(c, pydantic.BaseModel | enum.Enum)}
    assert rest == set(made(sandbox)), "give every new public class an instance here"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_repr_is_useful(name: str, sandbox: Sandbox) -> None:
    cls = PUBLIC[name]
    if issubclass(cls, pydantic.BaseModel | enum.Enum):
        return  # field-by-field / member reprs
    text = repr(made(sandbox)[name]())
    assert " object at 0x" not in text, text
    assert text.startswith((cls.__name__, f"<{cls.__name__}")), text
    # Nothing that reads as a fact when it is an absence:
    assert "status_code=0" not in text and "request_id=None" not in text, text
    assert "status=None" not in text, text


def test_specific_reprs(sandbox: Sandbox) -> None:
    instances = made(sandbox)
    assert repr(instances["spine.RunFailedError"]()) == (
        f"RunFailedError(run_id={RUN_ID!r}, errors=['Agent execution failed'])")
    assert "status='running'" in repr(instances["spine.RunHandle"]())  # as create answered
    faults = repr(instances["spine.testing.FaultList"]())
    assert faults.startswith("FaultList(") and "status=503" in faults and "delay=0.1" in faults


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_help_explains_the_class(name: str) -> None:
    cls = PUBLIC[name]
    assert cls.__doc__ and len(cls.__doc__.strip()) > 15, f"help({name}) says nothing"
    if name not in CONSTRUCTED_BY_USERS:
        return
    shown = pydoc.render_doc(cls.__init__, renderer=pydoc.plaintext)
    doc = inspect.getdoc(cls.__init__) or ""
    assert doc and doc.splitlines()[0] in shown
    for parameter in inspect.signature(cls.__init__).parameters:
        if parameter != "self":
            assert re.search(rf"\b{parameter}\b", doc), f"help({name}.__init__): {parameter}?"


# ----------------------------------------------------------------------------- messages

_DOUBLED = re.compile(r"(?<!\.)\.\.(?!\.)|\s\.(?!\w)|\.\s+\.")


def _messages(box: Sandbox) -> Iterator[tuple[str, BaseException]]:
    """Errors the SDK really raises, one of each way a request can go wrong."""
    fast = spine.RetryPolicy(max_retries=0)
    with spine.SpineClient(api_key=box.api_key, base_url=box.url, retry_policy=fast) as client:
        for label, fault in {
            "drop before": {"drop": "before"},
            "drop after": {"drop": "after"},
            "503": {"status": 503},
            "429": {"status": 429, "retry_after": 1},
            "400": {"status": 400, "error": "Invalid template: foo."},
            "401": {"status": 401},
            "html 502": {"status": 502, "body": "<html>Bad gateway</html>",
                         "content_type": "text/html"},
        }.items():
            for method, path, call in (
                ("GET", "/v1/run/*", lambda: client.runs.get(RUN_ID)),
                ("POST", "/v1/run", lambda: client.runs.create("x")),
            ):
                box.clear_faults()
                box.inject(method=method, path=path, **fault)
                try:
                    call()
                except spine.SpineError as exc:
                    yield f"{label} {method}", exc
        box.clear_faults()
        for label, call in (
            ("empty prompt", lambda: client.runs.create("")),
            ("blocks=[]", lambda: client.runs.create("x", blocks=[])),
            ("bad id", lambda: client.runs.get("not-a-uuid")),  # refused before sending
            ("not found", lambda: client.runs.get(RUN_ID)),
            ("failed run", lambda: client.runs.create("x [sandbox:failed]").wait(
                poll_interval=0.01)),
            ("wait timeout", lambda: client.runs.create("x").wait(timeout=0)),
        ):
            try:
                call()
            except spine.SpineError as exc:
                yield label, exc
    try:
        spine.SpineClient(api_key=box.api_key, base_url="http://127.0.0.1:9").runs.get(RUN_ID)
    except spine.SpineError as exc:
        yield "refused connection", exc


def test_messages_have_no_doubled_full_stops(sandbox: Sandbox) -> None:
    seen = dict(_messages(sandbox))
    assert len(seen) >= 15
    bad = {label: str(exc) for label, exc in seen.items() if _DOUBLED.search(str(exc))}
    assert not bad, bad


def test_an_error_raised_before_sending_says_so(sandbox: Sandbox) -> None:
    with spine.SpineClient(api_key=sandbox.api_key, base_url=sandbox.url) as client:
        before = sandbox.runs_created, len(sandbox.requests)
        with pytest.raises(spine.InvalidRequestError) as info:
            client.runs.create("")
        assert (sandbox.runs_created, len(sandbox.requests)) == before  # nothing was sent
    text = str(info.value)
    assert "HTTP" not in text and "request id" not in text
    assert "Nothing was sent" in text
    assert isinstance(info.value, spine.BadRequestError) and isinstance(info.value, ValueError)
    # No HTTP status: nothing was answered (0 is the SDK's "not an HTTP answer").
    assert info.value.status_code == 0 and info.value.request_id is None


# ----------------------------------------------------------------------------- ledger, testing


def _ledger_instances(box: Sandbox, folder: Any) -> dict[str, Any]:
    import spine.ledger as ledger_module

    path = str(folder / "runs.db")
    client = spine.SpineClient(api_key=box.api_key, base_url=box.url)
    aclient = spine.AsyncSpineClient(api_key=box.api_key, base_url=box.url)
    runs = ledger_module.record(client, path, label="nightly")
    handle = runs.create("A memo")
    handle.wait(poll_interval=0.01)
    handle.download_all(folder / "out")
    record = runs.lookup(handle.run_id)
    assert record is not None and record.artifacts
    update = ledger_module.BatchUpdate({"completed": 1}, 150, 1, 0.5, "memo", "completed")
    return {
        "RecordedRuns": runs,
        "RecordedRuns (off)": ledger_module.record(client, "off"),
        "AsyncRecordedRuns": ledger_module.record(aclient, path),
        "RecordedRun": handle,
        "AsyncRecordedRun": ledger_module.record(aclient, path).attach(RUN_ID),
        "Ledger": ledger_module.Ledger(path),
        "RunRecord": record,
        "ArtifactRecord": record.artifacts[0],
        "BatchItem": ledger_module.BatchItem("A memo", id="memo"),
        "BatchUpdate": update,
        "ItemOutcome": ledger_module.ItemOutcome("memo", handle.run_id, "completed"),
        "LedgerError": ledger_module.LedgerError("The ledger is broken.", path=path),
    }


def test_ledger_objects_have_useful_reprs(sandbox: Sandbox, tmp_path: Any) -> None:
    import spine.ledger as ledger_module

    made_here = _ledger_instances(sandbox, tmp_path)
    public = {n for n in ledger_module.__all__ if inspect.isclass(getattr(ledger_module, n))}
    covered = {name.split(" ")[0] for name in made_here}
    exceptions = {n for n in public if issubclass(getattr(ledger_module, n), BaseException)}
    assert public - covered - exceptions - {"BatchReport"} == set(), "cover new ledger classes"
    for name, obj in made_here.items():
        text = repr(obj)
        assert " object at 0x" not in text, (name, text)
        assert text.startswith((type(obj).__name__, f"<{type(obj).__name__}")), (name, text)
    runs = repr(made_here["RecordedRuns"])
    assert sandbox.url in runs and "runs.db" in runs and "nightly" in runs
    assert repr(made_here["RecordedRuns (off)"]).endswith("ledger=off)")


def test_sandbox_repr_says_its_state_and_settings() -> None:
    box = Sandbox(run_duration=0.5)
    assert repr(box).startswith("<Sandbox not started") and "run_duration=0.5s" in repr(box)
    with box:
        running = repr(box)
    stopped = repr(box)
    assert running != stopped
    assert f"{box.url} running" in running and f"{box.url} stopped" in stopped
    assert "run_duration=manual" in repr(Sandbox(run_duration=None))


def test_the_sandbox_logs_show_keys_masked() -> None:
    key = "sk_spine_reader_view_SECRET_KEY_0123"
    with Sandbox(run_duration=0.0, api_keys=[key]) as box:
        with spine.SpineClient(api_key=key, base_url=box.url) as client:
            handle = client.runs.create("A memo")
        record = box.requests[0]
        info = box.run_info(handle.run_id)
    for shown in (repr(record), str(record), repr(info), str(info), repr(box.requests),
                  repr(record.api_key)):
        assert key not in shown, shown
        assert "sk_spine_\u2026" in shown, shown
    # The values themselves stay what was sent, for assertions.
    assert record.api_key == key and info["api_key"] == key
    assert record.headers["x-api-key"] == key


def test_a_partial_run_is_told_apart_as_documented(sandbox: Sandbox) -> None:
    """wait() returns the documented RunResult (no status, no errors) for a partial run too;
    where the status and errors are is said in wait()'s help, RunResult's and the README."""
    with spine.SpineClient(api_key=sandbox.api_key, base_url=sandbox.url) as client:
        run = client.runs.create("Half [sandbox:partial]")
        result = run.wait(poll_interval=0.01)
    assert not hasattr(result, "status") and not hasattr(result, "errors")
    assert run.status == "partial" and run.last is not None and run.last.errors
    for doc in (spine.RunHandle.wait.__doc__, spine.AsyncRunHandle.wait.__doc__,
                spine.RunResult.__doc__):
        assert doc and "partial" in doc and "handle.status" in doc, doc
        assert "handle.last.errors" in doc, doc
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "returns normally for\n  `partial`**" in readme and "`run.last.errors`" in readme


def test_a_dropped_connection_is_not_called_unreachable(sandbox: Sandbox) -> None:
    """The request reached the server and the connection closed before an answer: the
    message says so (method in capitals); only a refused connection is "could not reach"."""
    seen = dict(_messages(sandbox))
    for label in ("drop before POST", "drop after POST", "drop after GET"):
        text = str(seen[label])
        method = label.split()[-1]
        assert f"The connection closed before an answer ({method} /v1/run" in text, text
        assert "Could not reach" not in text, text
    refused = str(seen["refused connection"])
    assert "Could not reach the Spine API (GET /v1/run/" in refused, refused
