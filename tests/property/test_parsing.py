"""Response parsing: lenient where the contract allows (unknown fields and values), and for any
bytes, status and headers a hostile or broken server can send, only a model or a ``SpineError``:
never a raw exception from json, pydantic, zlib or the recursion limit."""

from __future__ import annotations

import gzip
import itertools
import json
import zlib
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import spine
from spine import _operations as ops
from spine._base_client import Received, finish
from spine._enums import RunStatus
from spine._exceptions import SpineAPIError, SpineError, error_from_response
from spine._models import (
    CanvasDAG,
    CreateRunResponse,
    GetRunResponse,
    TaskNode,
    TaskTree,
    parse_envelope,
)
from spine._retry import body_is_error_envelope, is_transient, rule_of
from spine._transport import BodyReader

MODELS = [GetRunResponse, CreateRunResponse, CanvasDAG, TaskTree, TaskNode]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["running", "completed", "partial", "failed", "", "paused", "COMPLETED"]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.one_of(
                st.text(max_size=10),
                st.sampled_from(
                    [
                        "run_id",
                        "status",
                        "result",
                        "final_output",
                        "artifacts",
                        "progress",
                        "errors",
                        "canvas_id",
                        "nodes",
                        "edges",
                        "task_id",
                        "children",
                        "metadata",
                    ]
                ),
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)
envelopes = st.fixed_dictionaries(
    {},
    optional={"success": json_values, "data": json_values, "error": json_values},
)


R1 = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
C1 = "c1c1c1c1-c1c1-4c1c-8c1c-c1c1c1c1c1c1"
T1 = "7d1e9a52-2b8c-4c1f-9a3e-5f6b7c8d9e0f"


def _run_like(draw: st.DrawFn) -> dict[str, Any]:
    base: dict[str, Any] = {
        "run_id": R1,
        "status": draw(st.text(max_size=12) | st.sampled_from([s.value for s in RunStatus])),
    }
    # Fields the SDK does not know (a server newer than the SDK): never a known name.
    names = st.text(max_size=8).map(lambda n: "new_" + n)
    extra = draw(st.dictionaries(names, json_values, max_size=3))
    return {**extra, **base}


bodies = st.one_of(
    st.binary(max_size=400),
    json_values.map(lambda v: json.dumps(v).encode()),
    envelopes.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda d: json.dumps({"success": True, "data": d}).encode(), json_values),
    st.sampled_from(
        [
            b"",
            b" ",
            b"null",
            b"<html><h1>502 Bad Gateway</h1></html>",
            b'{"success": true, "data": ',
            b'{"success": true}',
            b'{"success": "true", "data": {}}',
            b'{"success": false}',
            b'{"success": false, "error": {"message": "nested"}}',
            b"\xef\xbb\xbf{}",
            b'{"success": true, "data": {"run_id": "r1", "status": "x", "duration_ms": 1e999}}',
            b'{"success": true, "data": {"run_id": "r1", "status": NaN}}',
            b'{"a": "\\ud800"}',
            b"\xff\xfe\x00\x00",
            b"[" * 5000 + b"]" * 5000,
            b'{"x":' * 5000 + b"1" + b"}" * 5000,
        ]
    ),
)


@FUZZ
@given(body=bodies, status=st.integers(min_value=200, max_value=299))
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_parse_envelope_returns_a_model_or_raises_a_spine_error(
    model: type, body: bytes, status: int
) -> None:
    outcome: object
    try:
        outcome = parse_envelope(model, body, status_code=status, request_id="req_1")
    except SpineError as exc:
        outcome = exc
    if isinstance(outcome, SpineError):
        assert str(outcome)  # the message is readable, never empty
        assert isinstance(outcome, SpineAPIError) and outcome.status_code == status
    else:
        assert isinstance(outcome, model)


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_deeply_nested_json_is_a_spine_error(model: type, depth: int) -> None:
    for body in (
        b"[" * depth + b"]" * depth,
        b'{"success": true, "data": ' + b'{"a":' * depth + b"1" + b"}" * depth + b"}",
        b'{"success": true, "data": {"run_id": "r1", "status": "running", "errors": '
        + b"[" * depth
        + b"]" * depth
        + b"}}",
    ):
        with pytest.raises(SpineError):
            parse_envelope(model, body)


@FUZZ
@given(data=st.data())
def test_unknown_fields_and_values_parse_leniently(data: st.DataObject) -> None:
    run = _run_like(data.draw)
    body = json.dumps({"success": True, "data": run, "brand_new": [1, 2]}).encode()
    parsed = parse_envelope(GetRunResponse, body)
    assert parsed.status == run["status"]
    known = run["status"] in {s.value for s in RunStatus}
    assert isinstance(parsed.status, RunStatus) == known
    assert parsed.is_terminal == (known and run["status"] != "running")


headers_values = st.text(st.characters(codec="latin-1"), max_size=40)
header_lists = st.lists(
    st.tuples(
        st.sampled_from(
            ["X-Request-ID", "Retry-After", "Location", "Content-Type", "Content-Encoding", "X"]
        ),
        headers_values,
    ),
    max_size=4,
)


@FUZZ
@given(
    status=st.integers(min_value=100, max_value=999),
    body=bodies,
    headers=header_lists,
    which=st.sampled_from(["get_run", "get_dag", "get_tasks", "get_task", "create"]),
)
def test_the_pipeline_finish_path_only_returns_a_model_or_raises_a_spine_error(
    status: int, body: bytes, headers: list[tuple[str, str]], which: str
) -> None:
    """``finish`` is the one place a complete response becomes a result or an exception."""
    op = {
        "get_run": lambda: ops.get_run(R1),
        "get_dag": lambda: ops.get_dag(C1),
        "get_tasks": lambda: ops.get_tasks(C1),
        "get_task": lambda: ops.get_task(C1, T1),
        "create": lambda: ops.create_run(
            "p",
            template="auto",
            blocks=None,
            agent_instructions=None,
            webhook_url=None,
            files=None,
            idempotency_key="k-1",
        ),
    }[which]()
    # As received: header values are bytes, any of them (obs-text included).
    raw_headers = httpx.Headers([(k, v.encode("latin-1")) for k, v in headers])
    response = Received(status, raw_headers, body, "GET", "/v1/x")
    outcome: object
    try:
        outcome = finish(op, response, 0.0)
    except SpineError as exc:
        outcome = exc
    if isinstance(outcome, SpineError):
        assert str(outcome) and repr(outcome)
        rule = rule_of(outcome)
        assert rule is not None, "every failure is a row of the outcome table"
        refused = status in {400, 401, 413, 429, 503} and body_is_error_envelope(body)
        if which == "create":
            # Bytes reached the server: only a definitive refusal says no run was made; a 2xx
            # whatever its body, a redirect, any other status may come from a server that acted.
            assert outcome.run_may_exist is (not refused)
            assert (outcome.idempotency_key == "k-1") is (not refused)
        else:
            # A wait ends only on what no later poll can change.
            ends = status in {401, 403, 404} or (status == 400 and refused)
            ends = ends or 200 <= status < 300  # a success it cannot read
            assert is_transient(outcome) is (not ends)
    else:
        assert 200 <= status < 300
        assert isinstance(outcome, op.model)
        for name, wanted in op.expect:
            assert getattr(outcome, name) == wanted


@FUZZ
@given(status=st.integers(min_value=0, max_value=999), body=bodies, headers=header_lists)
def test_error_mapping_never_raises(
    status: int, body: bytes, headers: list[tuple[str, str]]
) -> None:
    exc = error_from_response(status, body, dict(headers))
    assert isinstance(exc, spine.SpineAPIError)
    assert str(exc) and repr(exc)
    if status == 429:
        assert isinstance(exc, spine.RateLimitError)
        assert exc.retry_after is None or exc.retry_after >= 0


# ----------------------------------------------------------------------------- bodies


def _deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


ENCODERS = {
    "identity": lambda d: d,
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "deflate-raw": _deflate_raw,
    "gzip, gzip": lambda d: gzip.compress(gzip.compress(d)),
}


@FUZZ
@given(
    data=st.binary(max_size=5000),
    coding=st.sampled_from(sorted(ENCODERS)),
    cuts=st.lists(st.integers(min_value=0, max_value=6000), max_size=6),
)
def test_body_reader_decodes_whatever_the_chunking(
    data: bytes, coding: str, cuts: list[int]
) -> None:
    raw = ENCODERS[coding](data)
    header = "deflate" if coding == "deflate-raw" else coding
    reader = BodyReader(header)
    points = sorted({0, len(raw), *(c for c in cuts if c < len(raw))})
    for start, end in itertools.pairwise(points):
        reader.feed(raw[start:end])
    assert reader.finish() == data


@FUZZ
@given(raw=st.binary(max_size=2000), coding=st.sampled_from(["gzip", "deflate"]))
def test_body_reader_on_garbage_raises_only_its_own_errors(raw: bytes, coding: str) -> None:
    from spine._transport import BodyTooLarge as _TooLarge, UndecodableBody as _Undecodable

    reader = BodyReader(coding, limit=1000)
    try:
        reader.feed(raw)
        reader.finish()
    except (_TooLarge, _Undecodable):
        pass


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_body_reader_stops_a_bomb_at_the_limit(coding: str) -> None:
    bomb = (gzip.compress if coding == "gzip" else zlib.compress)(b"\0" * (20 * 1024 * 1024))
    reader = BodyReader(coding, limit=1024 * 1024)
    from spine._transport import BodyTooLarge as _TooLarge

    def read_all() -> None:
        for i in range(0, len(bomb), 4096):
            reader.feed(bomb[i : i + 4096])
        reader.finish()

    with pytest.raises(_TooLarge):
        read_all()
    assert reader.size <= 1024 * 1024 + 256 * 1024
