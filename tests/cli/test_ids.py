"""Every id the spec declares as a UUID is checked before anything is sent: exit 2, one line
that says so, no request on the server (``docs/cli.md``, "Exit status")."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from spine.testing import Sandbox

from .conftest import KEY, run_spine

UUID = "550e8400-e29b-41d4-a716-446655440000"
NOT_UUIDS = ["not-a-uuid", UUID + "0", UUID[:-1], f"{{{UUID}}}", UUID.replace("-", ""), "../v1"]


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(run_duration=0.2, api_keys=[KEY]) as sandbox:
        yield sandbox


@pytest.mark.parametrize("bad", NOT_UUIDS)
@pytest.mark.parametrize(
    "command",
    [["status"], ["wait"], ["download", "{id}", "out"], ["dag"], ["tasks"]],
    ids=["status", "wait", "download", "dag", "tasks"],
)
def test_an_id_that_is_not_a_uuid_exits_2_with_nothing_sent(
    box: Sandbox, command: list[str], bad: str, tmp_path: object
) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    args = [command[0], bad, *[a for a in command[1:] if a != "{id}"]]
    result = run_spine(*args, "--json", env=env, cwd=tmp_path)  # type: ignore[arg-type]
    assert result.code == 2, result.stderr
    (line,) = result.error_lines()
    assert "is not a valid id" in line and "nothing was sent" in line.lower()
    assert json.loads(result.stdout)["error"]["exit_code"] == 2
    assert box.requests == []


def test_an_upper_case_uuid_is_a_uuid(box: Sandbox) -> None:
    env = {"SPINE_API_KEY": KEY, "SPINE_BASE_URL": box.url}
    result = run_spine("status", UUID.upper(), env=env)
    assert result.code == 7  # sent, and the sandbox has no such run: 404
    (record,) = box.requests
    assert record.path == f"/v1/run/{UUID}"
