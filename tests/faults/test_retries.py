"""Bursts of 5xx and 429 (``Retry-After`` as delta-seconds and as an HTTP-date), dropped
connections and redirects, against the sandbox. Runs are counted on the server side: a retry
never creates a second run, and an ambiguous failure can always be resolved with its key.

The clients' sleep only advances a fake clock (see ``conftest.Api``): no test waits for real.
"""

from __future__ import annotations

import pytest

import spine
from spine.testing import Sandbox

from . import _server as b
from ._server import FaultServer
from .conftest import Api

PROMPT = "Write a memo about Q1 sales"


def _polls(sandbox: Sandbox) -> list[object]:
    return [r for r in sandbox.requests if r.method == "GET" and r.path.startswith("/v1/run/")]


def _creates(sandbox: Sandbox) -> list[object]:
    return [r for r in sandbox.requests if r.method == "POST" and r.path == "/v1/run"]


# ----------------------------------------------------------------------------- GET


@pytest.mark.parametrize("code", [500, 502, 503, 504, 408])
def test_get_survives_a_burst_of_transient_statuses(api: Api, sandbox: Sandbox, code: int) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=code, path="/v1/run/*", times=3)
    run = api.call(client.runs.get, handle.run_id)
    assert run.run_id == handle.run_id
    assert len(_polls(sandbox)) == 4
    assert len(api.sleeps) == 3
    assert sandbox.runs_created == 1


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_get_honours_retry_after_in_both_forms(api: Api, sandbox: Sandbox, form: str) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=429, retry_after=7, retry_after_format=form, path="/v1/run/*")
    api.call(client.runs.get, handle.run_id)
    (slept,) = api.sleeps
    if form == "seconds":
        assert slept == 7.0
    else:  # an HTTP-date has a resolution of one second
        assert 5.0 <= slept <= 7.0


def test_retry_after_is_capped_by_the_policy(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=503, retry_after=3600, path="/v1/run/*")
    api.call(client.runs.get, handle.run_id)
    assert api.sleeps == [30.0]


@pytest.mark.parametrize("value", ["soon", "-5", "1e9999", "", "Thu, 99 Foo 2024 99:99:99 GMT"])
def test_a_malformed_retry_after_falls_back_to_backoff(
    api: Api, sandbox: Sandbox, value: str
) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=429, retry_after=value, path="/v1/run/*")
    api.call(client.runs.get, handle.run_id)
    (slept,) = api.sleeps
    assert 0.45 <= slept <= 0.55  # the policy's first backoff, 0.5 s ± 10 %


def test_429_after_the_budget_is_a_rate_limit_error(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=429, retry_after=2, path="/v1/run/*", times=None)
    with pytest.raises(spine.RateLimitError) as info:
        api.call(client.runs.get, handle.run_id)
    assert info.value.retry_after == 2.0
    assert info.value.request_id and info.value.request_id.startswith("req_")
    assert len(_polls(sandbox)) == 5  # 1 + RETRY.max_retries
    assert api.sleeps == [2.0] * 4


def test_5xx_after_the_budget_is_a_server_error(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=500, path="/v1/run/*", times=None)
    with pytest.raises(spine.ServerError) as info:
        api.call(client.runs.get, handle.run_id)
    assert info.value.status_code == 500
    assert not info.value.run_may_exist


# ----------------------------------------------------------------------------- create


@pytest.mark.parametrize(
    ("code", "form"), [(503, None), (429, "seconds"), (429, "http-date"), (503, "http-date")]
)
def test_create_is_retried_when_the_server_did_not_act_with_one_key(
    api: Api, sandbox: Sandbox, code: int, form: str | None
) -> None:
    client = api.client(base_url=sandbox.url)
    options: dict[str, object] = {"status": code, "method": "POST", "path": "/v1/run", "times": 2}
    if form is not None:
        options.update(retry_after=3, retry_after_format=form)
    sandbox.inject(**options)  # type: ignore[arg-type]
    handle = api.call(client.runs.create, PROMPT)
    creates = _creates(sandbox)
    assert len(creates) == 3
    assert len({r.idempotency_key for r in creates}) == 1  # type: ignore[attr-defined]
    assert sandbox.runs_created == 1
    assert sandbox.run_ids == [handle.run_id]
    assert len(api.sleeps) == 2


@pytest.mark.parametrize("code", [500, 502, 504])
def test_create_is_not_retried_after_an_ambiguous_status(
    api: Api, sandbox: Sandbox, code: int
) -> None:
    client = api.client(base_url=sandbox.url)
    sandbox.inject(status=code, method="POST", path="/v1/run")
    with pytest.raises(spine.ServerError) as info:
        api.call(client.runs.create, PROMPT)
    err = info.value
    assert err.run_may_exist and err.idempotency_key
    assert "may have been created" in str(err) and err.idempotency_key in str(err)
    assert len(_creates(sandbox)) == 1 and api.sleeps == []
    handle = api.call(client.runs.create, PROMPT, idempotency_key=err.idempotency_key)
    assert sandbox.runs_created == 1 and sandbox.run_ids == [handle.run_id]


def test_create_429_after_the_budget_says_nothing_was_created(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    sandbox.inject(status=429, retry_after=1, method="POST", path="/v1/run", times=None)
    with pytest.raises(spine.RateLimitError) as info:
        api.call(client.runs.create, PROMPT)
    assert not info.value.run_may_exist
    assert sandbox.runs_created == 0
    assert len(_creates(sandbox)) == 5


@pytest.mark.parametrize("drop", ["before", "after"])
def test_create_dropped_connection_is_ambiguous_and_resolved_by_the_key(
    api: Api, sandbox: Sandbox, drop: str
) -> None:
    client = api.client(base_url=sandbox.url)
    sandbox.inject(drop=drop, method="POST", path="/v1/run")
    with pytest.raises(spine.SpineConnectionError) as info:
        api.call(client.runs.create, PROMPT, agent_instructions="Be brief.")
    err = info.value
    assert err.run_may_exist and err.idempotency_key
    assert err.__cause__ is not None
    assert len(_creates(sandbox)) == 1, "never re-sent automatically"
    assert sandbox.runs_created == (1 if drop == "after" else 0)

    handle = api.call(
        client.runs.create,
        PROMPT,
        agent_instructions="Be brief.",
        idempotency_key=err.idempotency_key,
    )
    assert sandbox.runs_created == 1
    assert sandbox.run_ids == [handle.run_id]
    if drop == "after":
        assert _creates(sandbox)[-1].replayed  # type: ignore[attr-defined]
    # And the run is whole: it completes and reports what it was asked.
    sandbox.complete(handle.run_id)
    result = api.call(handle.wait, poll_interval=0.1)
    assert result.final_output
    assert sandbox.run_info(handle.run_id)["agent_instructions"] == "Be brief."


def test_a_caller_key_is_sent_on_every_retry(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    sandbox.inject(status=503, method="POST", path="/v1/run", times=1)
    handle = api.call(client.runs.create, PROMPT, idempotency_key="order-42")
    assert [r.idempotency_key for r in _creates(sandbox)] == ["order-42", "order-42"]  # type: ignore[attr-defined]
    again = api.call(client.runs.create, PROMPT, idempotency_key="order-42")
    assert again.run_id == handle.run_id and sandbox.runs_created == 1


# ----------------------------------------------------------------------------- wait()


def test_wait_rides_out_failing_polls(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=503, path="/v1/run/*", times=6)
    sandbox.inject(drop="before", path="/v1/run/*", times=2)
    sandbox.inject(status=429, retry_after=1, retry_after_format="http-date", path="/v1/run/*")
    polls_before_done = 12

    def complete_after(record: object) -> None:
        polls = len(_polls(sandbox))
        if polls >= polls_before_done and sandbox.run_status(handle.run_id) == "running":
            sandbox.complete(handle.run_id)

    sandbox.on_request(complete_after)
    result = api.call(handle.wait, timeout=3600, poll_interval=1)
    assert result.final_output
    assert sandbox.runs_created == 1


def test_one_deadline_bounds_wait_across_polls_and_retries(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=429, retry_after=25, path="/v1/run/*", times=None)
    began = api.fake_now
    with pytest.raises(spine.SpineTimeoutError) as info:
        api.call(handle.wait, timeout=60, poll_interval=2)
    assert api.fake_now - began <= 60
    assert info.value.run_id == handle.run_id and info.value.timeout == 60
    assert isinstance(info.value.__cause__, spine.RateLimitError)


# ----------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("where", ["same-host", "other-host"])
def test_redirects_are_never_followed(
    api: Api, sandbox: Sandbox, other_server: FaultServer, code: int, where: str
) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    target = (
        f"{sandbox.url}/v1/run/{handle.run_id}?moved=1"
        if where == "same-host"
        else f"http://localhost:{other_server.port}/v1/run/{handle.run_id}"
    )
    sandbox.inject(status=code, headers={"Location": target}, path="/v1/run/*")
    sandbox.inject(status=code, headers={"Location": target}, method="POST", path="/v1/run")
    with pytest.raises(spine.UnexpectedResponseError) as info:
        api.call(client.runs.get, handle.run_id)
    assert info.value.status_code == code and "not followed" in str(info.value)
    with pytest.raises(spine.UnexpectedResponseError) as info:
        api.call(client.runs.create, PROMPT)
    # A create answered with a redirect may have been acted on (issue 12): ambiguous, with
    # the key that gets the run without paying twice.
    assert info.value.run_may_exist and info.value.idempotency_key
    assert other_server.requests == []
    assert [r.query for r in sandbox.requests if "moved" in r.query] == []
    assert sandbox.runs_created == 1


def test_a_redirecting_http_client_of_the_caller_is_not_followed_either(
    api: Api, server: FaultServer, other_server: FaultServer
) -> None:
    import httpx

    cls = httpx.AsyncClient if api.is_async else httpx.Client
    http = cls(follow_redirects=True)
    client = api.client(base_url=server.url, http_client=http)
    server.script(b.redirect(f"http://localhost:{other_server.port}/steal"))
    with pytest.raises(spine.UnexpectedResponseError):
        api.call(client.runs.get, "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
    assert other_server.requests == []
    result = http.aclose() if api.is_async else http.close()
    if result is not None:
        api.call(lambda: result)


def test_wait_with_zero_timeout_checks_exactly_once(api: Api, sandbox: Sandbox) -> None:
    client = api.client(base_url=sandbox.url)
    handle = api.call(client.runs.create, PROMPT)
    with pytest.raises(spine.SpineTimeoutError):
        api.call(handle.wait, timeout=0)
    assert len(_polls(sandbox)) == 1
    sandbox.complete(handle.run_id)
    assert api.call(handle.wait, timeout=0).final_output
    assert len(_polls(sandbox)) == 2


# ----------------------------------------------------------------------------- documented policies


@pytest.mark.parametrize(
    ("policy", "retry_after", "expected"),
    [
        # The example: base_delay above max_delay; every delay is max_delay.
        (spine.RetryPolicy(max_retries=2, base_delay=10.0, max_delay=0.05), None, [0.05, 0.05]),
        (spine.RetryPolicy(max_retries=2, base_delay=10.0, max_delay=0.05), 7, [0.05, 0.05]),
        # No cap: Retry-After as asked, backoff as computed.
        (spine.RetryPolicy(max_retries=2, max_delay=float("inf")), 4000, [4000.0, 4000.0]),
        (spine.RetryPolicy(max_retries=2, base_delay=3, max_delay=float("inf"), jitter=0), None,
         [3.0, 6.0]),
        # No delay at all.
        (spine.RetryPolicy(max_retries=2, base_delay=0, max_delay=0), None, [0.0, 0.0]),
    ],
)  # fmt: skip
def test_every_documented_policy_drives_real_retries(
    api: Api,
    sandbox: Sandbox,
    policy: spine.RetryPolicy,
    retry_after: int | None,
    expected: list[float],
) -> None:
    client = api.client(base_url=sandbox.url, retry_policy=policy)
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=503, path="/v1/run/*", times=2, retry_after=retry_after)
    assert api.call(client.runs.get, handle.run_id).run_id == handle.run_id
    assert api.sleeps == pytest.approx(expected)


def test_a_wide_jitter_never_sleeps_a_negative_delay(api: Api, sandbox: Sandbox) -> None:
    client = api.client(
        base_url=sandbox.url, retry_policy=spine.RetryPolicy(max_retries=6, jitter=5.0)
    )
    client._runtime.settings.rand = iter([0.0, 1.0, 0.1, 0.9, 0.0, 0.5]).__next__
    handle = api.call(client.runs.create, PROMPT)
    sandbox.inject(status=500, path="/v1/run/*", times=6)
    api.call(client.runs.get, handle.run_id)
    assert len(api.sleeps) == 6 and min(api.sleeps) == 0.0 and max(api.sleeps) > 0
