"""Idempotency, injected faults (statuses, Retry-After, delays, trickles, drops) and the log."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from spine.testing import Fault, Sandbox

from .conftest import OTHER_KEY, create, error_of

# ------------------------------------------------------------------ idempotency


def test_same_idempotency_key_returns_the_same_run(sandbox: Sandbox, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "key-1"}
    files = [("files", ("a.csv", b"1,2,3", "text/csv"))]
    first = http.post("/v1/run", data={"prompt": "once"}, files=files, headers=headers)
    second = http.post("/v1/run", data={"prompt": "once"}, files=files, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert sandbox.runs_created == 1
    log = [r for r in sandbox.requests if r.method == "POST"]
    assert [r.replayed for r in log] == [False, True]
    assert [r.idempotency_key for r in log] == ["key-1", "key-1"]
    assert log[0].run_id == log[1].run_id == first.json()["data"]["run_id"]


def test_reused_key_with_a_different_request_is_409(sandbox: Sandbox, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "key-2"}
    assert http.post("/v1/run", data={"prompt": "a"}, headers=headers).status_code == 200
    other = http.post("/v1/run", data={"prompt": "b"}, headers=headers)
    assert other.status_code == 409
    assert "Idempotency-Key 'key-2' was already used with a different request" in error_of(other)
    assert sandbox.runs_created == 1


def test_idempotency_digest_covers_file_bytes(sandbox: Sandbox, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "key-3"}
    one = [("files", ("a.csv", b"1,2,3", "text/csv"))]
    two = [("files", ("a.csv", b"1,2,4", "text/csv"))]
    assert http.post("/v1/run", data={"prompt": "a"}, files=one, headers=headers).status_code == 200
    changed = http.post("/v1/run", data={"prompt": "a"}, files=two, headers=headers)
    assert changed.status_code == 409
    assert sandbox.runs_created == 1


def test_idempotency_keys_are_per_api_key(sandbox: Sandbox, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "shared"}
    a = http.post("/v1/run", data={"prompt": "a"}, headers=headers)
    b = httpx.post(sandbox.url + "/v1/run", data={"prompt": "a"},
                   headers={**headers, "X-API-KEY": OTHER_KEY})
    assert a.json()["data"]["run_id"] != b.json()["data"]["run_id"]
    assert sandbox.runs_created == 2


def test_failed_validation_does_not_consume_the_key(sandbox: Sandbox, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "key-4"}
    assert http.post("/v1/run", data={"prompt": ""}, headers=headers).status_code == 400
    assert http.post("/v1/run", data={"prompt": "ok"}, headers=headers).status_code == 200


def test_overlong_idempotency_key(http: httpx.Client) -> None:
    response = http.post("/v1/run", data={"prompt": "a"}, headers={"Idempotency-Key": "k" * 256})
    assert response.status_code == 400
    assert error_of(response) == "Invalid Idempotency-Key: must be 1 to 255 characters"


# ------------------------------------------------------------------ status faults


def test_429_with_retry_after_seconds(sandbox: Sandbox, http: httpx.Client) -> None:
    fault = sandbox.inject(status=429, retry_after=2, method="POST", path="/v1/run")
    limited = http.post("/v1/run", data={"prompt": "x"})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert error_of(limited) == "Rate limit exceeded"
    assert limited.headers["x-request-id"]
    assert sandbox.runs_created == 0  # not acted on
    assert http.post("/v1/run", data={"prompt": "x"}).status_code == 200
    assert fault.hits == 1 and fault.exhausted
    assert [r.fault for r in sandbox.requests] == ["status=429", None]


def test_429_with_retry_after_http_date(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.inject(status=429, retry_after=30, retry_after_format="http-date")
    response = http.get("/v1/run/whatever")
    when = email.utils.parsedate_to_datetime(response.headers["retry-after"])
    delta = (when - datetime.now(UTC)).total_seconds()
    assert 27 <= delta <= 31


def test_retry_after_as_datetime_and_fraction(sandbox: Sandbox, http: httpx.Client) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    sandbox.inject(status=503, retry_after=moment)
    sandbox.inject(status=503, retry_after=0.5)
    first = http.get("/_sandbox/health")
    assert first.headers["retry-after"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert error_of(first) == "Service temporarily unavailable"
    assert http.get("/_sandbox/health").headers["retry-after"] == "0.5"


def test_burst_of_5xx_then_success(sandbox: Sandbox, http: httpx.Client) -> None:
    run_id = create(http)["run_id"]
    sandbox.inject(status=502, times=2, path="/v1/run/*")
    sandbox.inject(status=503, times=1, path="/v1/run/*")
    codes = [http.get(f"/v1/run/{run_id}").status_code for _ in range(4)]
    assert codes == [502, 502, 503, 200]


def test_500_on_create_has_the_documented_message(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.inject(status=500, method="POST", path="/v1/run")
    response = http.post("/v1/run", data={"prompt": "x"})
    assert error_of(response) == "An internal error occurred while creating the run"


def test_after_lets_requests_through_first(sandbox: Sandbox, http: httpx.Client) -> None:
    run_id = create(http)["run_id"]
    sandbox.inject(status=500, after=2, times=1, method="GET", path="/v1/run/*")
    codes = [http.get(f"/v1/run/{run_id}").status_code for _ in range(4)]
    assert codes == [200, 200, 500, 200]


def test_forever_fault_and_clear(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.inject(status=503, times=None)
    assert [http.get("/_sandbox/health").status_code for _ in range(3)] == [503] * 3
    assert len(sandbox.faults.pending) == 1
    sandbox.clear_faults()
    assert http.get("/_sandbox/health").status_code == 200


def test_custom_body_and_headers(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.inject(status=502, body="<html>Bad Gateway</html>", content_type="text/html",
                   headers={"X-Upstream": "lb-1"})
    response = http.get("/_sandbox/health")
    assert response.status_code == 502
    assert response.text == "<html>Bad Gateway</html>"
    assert response.headers["content-type"] == "text/html"
    assert response.headers["x-upstream"] == "lb-1"


def test_method_and_path_matching(sandbox: Sandbox, http: httpx.Client) -> None:
    run_id = create(http)["run_id"]
    canvas_id = http.get(f"/v1/run/{run_id}").json()["data"]["canvas_id"]
    sandbox.inject(status=418, method="GET", path="/v1/canvas/*/dag", times=None)
    assert http.get(f"/v1/canvas/{canvas_id}/dag").status_code == 418
    assert http.get(f"/v1/canvas/{canvas_id}/tasks").status_code == 200
    assert http.get(f"/v1/run/{run_id}").status_code == 200


def test_fault_objects_and_validation(sandbox: Sandbox) -> None:
    fault = sandbox.faults.add(Fault(status=500, path="/v1/run"))
    assert fault in list(sandbox.faults)
    sandbox.faults.remove(fault)
    assert len(sandbox.faults) == 0
    with pytest.raises(ValueError, match="needs one of"):
        Fault(path="/v1/run")
    with pytest.raises(ValueError, match="either drops"):
        Fault(status=500, drop="before")
    with pytest.raises(ValueError, match="drop must be"):
        Fault(drop="sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        Fault(status=500, times=0)


# ------------------------------------------------------------------ slow answers


def test_delay(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.inject(delay=0.3, path="/_sandbox/health")
    began = time.perf_counter()
    assert http.get("/_sandbox/health").status_code == 200
    assert time.perf_counter() - began >= 0.29  # the event loop may wake a hair early
    sandbox.inject(delay=0.5, path="/_sandbox/health")
    with pytest.raises(httpx.ReadTimeout):
        http.get("/_sandbox/health", timeout=0.1)


def test_delay_with_status(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.inject(delay=0.2, status=504)
    began = time.perf_counter()
    assert http.get("/_sandbox/health").status_code == 504
    assert time.perf_counter() - began >= 0.19


def test_trickle(sandbox: Sandbox, http: httpx.Client) -> None:
    run_id = create(http)["run_id"]
    sandbox.inject(trickle=0.01, trickle_chunk=64, path="/v1/run/*")
    began = time.perf_counter()
    chunks = []
    with http.stream("GET", f"/v1/run/{run_id}") as response:
        chunks = list(response.iter_raw())
    elapsed = time.perf_counter() - began
    body = b"".join(chunks)
    assert httpx.Response(200, content=body).json()["data"]["run_id"] == run_id
    pieces = (len(body) + 63) // 64
    assert elapsed >= 0.009 * (pieces - 1)
    assert len(chunks) > 1


# ------------------------------------------------------------------ dropped connections


def test_drop_before_acting(sandbox: Sandbox, http: httpx.Client) -> None:
    sandbox.inject(drop="before", method="POST", path="/v1/run")
    with pytest.raises(httpx.TransportError):
        http.post("/v1/run", data={"prompt": "x"})
    assert sandbox.runs_created == 0
    record = sandbox.requests[-1]
    assert record.dropped and record.status is None and record.fault == "drop=before"
    # The next request is served normally on a new connection.
    assert http.post("/v1/run", data={"prompt": "x"}).status_code == 200


def test_act_then_drop_and_retry_with_the_same_key(sandbox: Sandbox, http: httpx.Client) -> None:
    """The ambiguous case: the run was created but the client never heard. A retry with the
    same Idempotency-Key must get that run back, not a second one."""
    sandbox.inject(drop="after", method="POST", path="/v1/run")
    headers = {"Idempotency-Key": "ambiguous-1", "User-Agent": "spine-test/1.0"}
    with pytest.raises(httpx.TransportError):
        http.post("/v1/run", data={"prompt": "costly"}, headers=headers)
    assert sandbox.runs_created == 1
    retry = http.post("/v1/run", data={"prompt": "costly"}, headers=headers)
    assert retry.status_code == 200
    assert retry.json()["data"]["run_id"] == sandbox.run_ids[0]
    assert sandbox.runs_created == 1
    log = sandbox.requests
    assert [(r.status, r.fault, r.replayed) for r in log] == [
        (None, "drop=after", False),
        (200, None, True),
    ]
    assert all(r.user_agent == "spine-test/1.0" for r in log)
    assert all(r.idempotency_key == "ambiguous-1" for r in log)
    assert log[0].run_id == log[1].run_id


def test_drop_on_polls(sandbox: Sandbox, http: httpx.Client) -> None:
    run_id = create(http)["run_id"]
    sandbox.inject(drop="before", path="/v1/run/*", times=2)
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            http.get(f"/v1/run/{run_id}")
    assert http.get(f"/v1/run/{run_id}").status_code == 200


# ------------------------------------------------------------------ request log


def test_request_log(sandbox: Sandbox, http: httpx.Client) -> None:
    seen = []
    sandbox.on_request(seen.append)
    created = create(http, headers={"User-Agent": "spine-sdk-python/9.9", "Idempotency-Key": "k"})
    http.get(f"/v1/run/{created['run_id']}?x=1")
    log = sandbox.requests
    assert [(r.method, r.path, r.status) for r in log] == [
        ("POST", "/v1/run", 200),
        ("GET", f"/v1/run/{created['run_id']}", 200),
    ]
    assert log[0].user_agent == "spine-sdk-python/9.9"
    assert log[0].idempotency_key == "k"
    assert log[0].api_key == sandbox.api_key
    assert log[0].run_id == created["run_id"] == log[1].run_id
    assert log[1].query == "x=1"
    assert log[0].headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert all(r.duration_ms >= 0 and r.started_at > 0 for r in log)
    assert seen == log
    sandbox.clear_requests()
    assert sandbox.requests == []


def test_request_log_is_capped() -> None:
    with Sandbox(request_log_limit=3) as box:
        for _ in range(5):
            httpx.get(box.url + "/_sandbox/health")
        assert len(box.requests) == 3


def test_reset(sandbox: Sandbox, http: httpx.Client) -> None:
    create(http, headers={"Idempotency-Key": "k"})
    sandbox.inject(status=500, times=None, path="/nowhere")
    sandbox.script_outcomes("failed")
    sandbox.reset()
    assert sandbox.runs_created == 0 and sandbox.requests == [] and len(sandbox.faults) == 0
    created = create(http, "other", headers={"Idempotency-Key": "k"})
    sandbox.complete(created["run_id"])
    assert sandbox.run_status(created["run_id"]) == "completed"


def test_faults_from_the_constructor() -> None:
    with Sandbox(faults=[{"status": 503, "path": "/_sandbox/health", "times": 1}]) as box:
        assert httpx.get(box.url + "/_sandbox/health").status_code == 503
        assert httpx.get(box.url + "/_sandbox/health").status_code == 200


def test_outcome_validation() -> None:
    with pytest.raises(ValueError, match="outcome"):
        Sandbox(outcomes=["great"])
    with pytest.raises(ValueError, match="outcome"):
        Sandbox(default_outcome="great")


def test_http_date_is_in_the_future() -> None:
    fault = Fault(status=429, retry_after=timedelta(seconds=5).total_seconds(),
                  retry_after_format="http-date")
    (name, value), = fault.response_headers()
    assert name == "Retry-After"
    assert email.utils.parsedate_to_datetime(value) > datetime.now(UTC)
