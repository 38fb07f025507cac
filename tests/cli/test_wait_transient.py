"""``spine wait`` (and ``spine run``'s own wait) end only on a definitive answer or at their
deadline: polls answered 408, 429, 5xx, a proxy's HTML page or a redirect are ridden out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import spine
from spine.testing import Sandbox

from .conftest import KEY, run_spine


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=None, api_keys=[KEY]) as sandbox:
        yield sandbox


def _running(box: Sandbox) -> str:
    with spine.SpineClient(api_key=KEY, base_url=box.url) as client:
        return client.runs.create("Hold on").run_id


@pytest.mark.parametrize(
    "fault",
    [
        # More failures than one poll's retries (3 by default), so that a poll fails.
        {"status": 408, "times": 6},  # the example
        {"status": 429, "times": 6},
        {"status": 503, "times": 6},
        {"status": 502, "body": "<html>Bad gw</html>", "content_type": "text/html", "times": 6},
        # Not retried by the pipeline: each poll fails once.
        {"status": 302, "headers": {"Location": "https://login.example/"}, "times": 3},
        {"drop": "before", "times": 5},
    ],
    ids=["408", "429", "503", "502-html", "302", "reset"],
)
def test_spine_wait_rides_out_transient_polls(box: Sandbox, fault: dict[str, object]) -> None:
    run_id = _running(box)
    # retry_after=0: the child does not sleep between a poll's retries.
    times = fault["times"]
    box.inject(path="/v1/run/*", retry_after=0, **fault)  # type: ignore[arg-type]

    def complete_later(record: object) -> None:
        polls = [r for r in box.requests if r.method == "GET"]
        if len(polls) >= times + 1 and box.run_status(run_id) == "running":  # type: ignore[operator]
            box.complete(run_id)

    box.on_request(complete_later)
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    result = run_spine("wait", run_id, "--poll-interval", "0.05", "--timeout", "60", env=env)
    assert result.code == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize(("status", "code"), [(401, 6), (403, 7), (404, 7)])
def test_spine_wait_ends_on_a_definitive_answer(box: Sandbox, status: int, code: int) -> None:
    run_id = _running(box)
    box.inject(path="/v1/run/*", status=status, times=None)
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    result = run_spine("wait", run_id, "--poll-interval", "0.05", "--timeout", "60", env=env)
    assert result.code == code
    assert len([r for r in box.requests if r.method == "GET"]) == 1
