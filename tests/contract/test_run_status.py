"""Every run status of the spec has a decision: does it end a wait, and how?

`make generate` writes a new status (say `cancelled`) into RunStatus, but only a person can say
whether it is terminal. Until RUN_STATUS_OUTCOMES in spine/_enums.py says so, a wait on such a
run would poll a finished run until its timeout; this test fails, naming the file and the fix.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from spine import _enums
from spine._models import GetRunResponse
from spine._poller import Done, Failed, Poller, Sleep

from ._spec import load_spec

OUTCOMES = ("running", "done", "failed")
ENUMS_FILE = "spine/_enums.py"


def outcome_problems(spec: dict[str, Any], table: dict[str, str]) -> list[str]:
    values = spec["components"]["schemas"]["RunStatus"]["enum"]
    problems = [
        f"RunStatus {value!r} has no outcome. Fix: add a row to RUN_STATUS_OUTCOMES in "
        f"{ENUMS_FILE}: {value!r}: 'running' (keep polling), 'done' (wait() returns the result) "
        "or 'failed' (wait() raises RunFailedError); the docs give the statuses as a closed set, "
        "so read what they say it means."
        for value in values
        if value not in table
    ]
    problems += [
        f"RUN_STATUS_OUTCOMES in {ENUMS_FILE} has {value!r}, which the spec's RunStatus does not "
        "list. Fix: remove the row (or add the status to the spec)."
        for value in table
        if value not in values
    ]
    problems += [
        f"RUN_STATUS_OUTCOMES in {ENUMS_FILE}: {value!r} -> {outcome!r}, which is not one of "
        f"{', '.join(OUTCOMES)}. Fix: use one of them."
        for value, outcome in table.items()
        if outcome not in OUTCOMES
    ]
    return problems


def test_every_spec_run_status_has_an_outcome() -> None:
    assert outcome_problems(load_spec(), _enums.RUN_STATUS_OUTCOMES) == []


def _new_problems(spec: dict[str, Any], table: dict[str, str]) -> list[str]:
    """The problems a change brings, beyond those of the project as it is (so that a real
    drift fails only the real check above)."""
    before = outcome_problems(load_spec(), _enums.RUN_STATUS_OUTCOMES)
    return [p for p in outcome_problems(spec, table) if p not in before]


def test_a_new_status_without_an_outcome_is_named_with_the_fix() -> None:
    values = load_spec()["components"]["schemas"]["RunStatus"]["enum"]
    new = next(v for v in ("cancelled", "paused", "archived", "expired") if v not in values)
    spec = copy.deepcopy(load_spec())
    spec["components"]["schemas"]["RunStatus"]["enum"].append(new)
    assert _new_problems(spec, _enums.RUN_STATUS_OUTCOMES) == [
        f"RunStatus {new!r} has no outcome. Fix: add a row to RUN_STATUS_OUTCOMES in "
        f"spine/_enums.py: {new!r}: 'running' (keep polling), 'done' (wait() returns the "
        "result) or 'failed' (wait() raises RunFailedError); the docs give the statuses as a "
        "closed set, so read what they say it means."
    ]
    stale = next(v for v in ("paused", "archived", "expired") if v not in values)
    bad = {**_enums.RUN_STATUS_OUTCOMES, stale: "stop"}
    assert _new_problems(load_spec(), bad) == [
        f"RUN_STATUS_OUTCOMES in spine/_enums.py has {stale!r}, which the spec's RunStatus does "
        "not list. Fix: remove the row (or add the status to the spec).",
        f"RUN_STATUS_OUTCOMES in spine/_enums.py: {stale!r} -> 'stop', which is not one of "
        "running, done, failed. Fix: use one of them.",
    ]


@pytest.mark.parametrize("status", list(_enums.RunStatus), ids=str)
def test_waits_and_terminal_sets_follow_the_table(status: _enums.RunStatus) -> None:
    """The poller, ``is_terminal`` and the public sets all read the one table."""
    outcome = _enums.RUN_STATUS_OUTCOMES.get(status.value)
    decision = Poller(timeout=10, clock=lambda: 0.0).observe(
        GetRunResponse(run_id="r", status=status)
    )
    expected = {"done": Done, "failed": Failed}.get(outcome or "", Sleep)
    assert isinstance(decision, expected), (status, decision)
    assert status.outcome == outcome
    assert status.is_terminal is (outcome in ("done", "failed"))
    assert (status in _enums.TERMINAL_STATUSES) is status.is_terminal
    assert (status in _enums.DONE_STATUSES) is (outcome == "done")
    assert (status in _enums.FAILED_STATUSES) is (outcome == "failed")
