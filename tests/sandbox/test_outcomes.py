"""One precedence for a run's outcome, in timed and manual mode: the prompt's marker, else the
script, else ``default_outcome``; ``complete(run_id)`` keeps it, ``complete(outcome=...)``
replaces it except for a marked run (``spine.testing``'s ``OUTCOME_RULE``)."""

from __future__ import annotations

import httpx
import pytest

from spine.testing import ManualClock, Sandbox

from .conftest import create

MARKED = "Write it [sandbox:partial]"
PLAIN = "Write it"

# (prompt, scripted outcomes, default_outcome, expected)
DECIDED_AT_CREATION = [
    pytest.param(MARKED, ["failed"], "completed", "partial", id="marker-beats-script"),
    pytest.param(MARKED, [], "failed", "partial", id="marker-beats-default"),
    pytest.param(PLAIN, ["failed"], "partial", "failed", id="script-beats-default"),
    pytest.param(PLAIN, [], "partial", "partial", id="default"),
]


def _sandbox(clock: ManualClock, duration: float | None, script: list[str], default: str
             ) -> Sandbox:
    return Sandbox(clock=clock, run_duration=duration, outcomes=script, default_outcome=default)


def _http(box: Sandbox) -> httpx.Client:
    return httpx.Client(base_url=box.url, headers={"X-API-KEY": box.api_key}, timeout=10)


@pytest.mark.parametrize(("prompt", "script", "default", "expected"), DECIDED_AT_CREATION)
def test_timed_run_ends_with_the_decided_outcome(
    prompt: str, script: list[str], default: str, expected: str
) -> None:
    clock = ManualClock(1000.0)
    with _sandbox(clock, 10.0, script, default) as box, _http(box) as http:
        run_id = create(http, prompt)["run_id"]
        clock.advance(11)
        assert box.run_status(run_id) == expected


@pytest.mark.parametrize(("prompt", "script", "default", "expected"), DECIDED_AT_CREATION)
def test_manual_complete_keeps_the_decided_outcome(
    prompt: str, script: list[str], default: str, expected: str
) -> None:
    """``complete(run_id)`` without an outcome ends the run as the timed mode would have."""
    clock = ManualClock(1000.0)
    with _sandbox(clock, None, script, default) as box, _http(box) as http:
        run_id = create(http, prompt)["run_id"]
        clock.advance(10_000)
        assert box.run_status(run_id) == "running"
        assert box.complete(run_id) == [run_id]
        assert box.run_status(run_id) == expected
        run = http.get(f"/v1/run/{run_id}").json()["data"]
        assert run["status"] == expected
        assert ("result" in run) == (expected != "failed")


def test_complete_with_an_outcome_replaces_the_script_but_not_a_marker() -> None:
    clock = ManualClock(1000.0)
    with _sandbox(clock, None, ["failed", "failed"], "completed") as box, _http(box) as http:
        scripted = create(http, PLAIN)["run_id"]
        marked = create(http, MARKED)["run_id"]
        box.complete(scripted, outcome="completed")
        assert box.run_status(scripted) == "completed"
        with pytest.raises(ValueError, match=r"\[sandbox:partial\].*wins over outcome='failed'"):
            box.complete(marked, outcome="failed")
        assert box.run_status(marked) == "running"
        box.complete(marked, outcome="partial")  # agreeing with the marker is fine
        assert box.run_status(marked) == "partial"


def test_complete_all_with_an_outcome_leaves_marked_runs_their_own() -> None:
    clock = ManualClock(1000.0)
    with _sandbox(clock, None, [], "completed") as box, _http(box) as http:
        plain = create(http, PLAIN)["run_id"]
        marked = create(http, MARKED)["run_id"]
        assert sorted(box.complete(outcome="failed")) == sorted([plain, marked])
        assert box.run_status(plain) == "failed"
        assert box.run_status(marked) == "partial"


def test_the_rule_is_the_one_documented() -> None:
    """The guide states the same rule as the code (both name every source in order)."""
    from pathlib import Path

    from spine.testing._server._sandbox import OUTCOME_RULE

    guide = (Path(__file__).resolve().parents[2] / "spine/testing/README.md").read_text()
    assert "complete(run_id)" in OUTCOME_RULE and "marker always wins" in OUTCOME_RULE
    assert "**One rule for outcomes**" in guide
    assert "the prompt's marker always wins" in guide
