"""The spec drives the checks: every operation of openapi.yaml is sent by a method of
``SpineClient`` and of ``AsyncSpineClient``, has a route in the sandbox, and, for a read, a
command of the ``spine`` CLI; its answer parses into the model the SDK method returns.

Nothing here lists the operations: each SDK method and CLI command is called against a sandbox
and the requests it sends are matched with the spec's paths. An operation the spec adds without
the rest following (the test with ``POST /v1/run/{run_id}/cancel``) is named with what is
missing.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import inspect
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

import spine
from spine.cli import _main as cli_main
from spine.testing import Sandbox

from ._spec import load_spec

METHODS = ("get", "put", "post", "delete", "patch")
# Not probed: `sandbox` serves until stopped (no API request); `runs` and `batch` work from the
# local run ledger and a batch file (tests/ledger covers them); `contract-check` is the
# checker itself. Every read has a command among the others.
CLI_NOT_PROBED = {"sandbox", "runs", "batch", "contract-check"}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str

    @property
    def is_read(self) -> bool:
        return self.method == "GET"

    def matches(self, method: str, path: str) -> bool:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.path)) + "$"
        return method == self.method and re.match(pattern, path) is not None

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"


def operations(spec: dict[str, Any]) -> list[Operation]:
    return [
        Operation(op["operationId"], method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


@dataclass
class Coverage:
    """What each part of the SDK sends, found by calling it: operation id -> callers."""

    sync: dict[str, list[str]] = field(default_factory=dict)
    async_: dict[str, list[str]] = field(default_factory=dict)
    cli: dict[str, list[str]] = field(default_factory=dict)
    returns: dict[str, set[str]] = field(default_factory=dict)  # op id -> model names
    sandbox: Sandbox | None = None
    ids: dict[str, str] = field(default_factory=dict)


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: ids.get(m[1], str(uuid.uuid4())), path)


def sandbox_has_route(sandbox: Sandbox, op: Operation, ids: dict[str, str]) -> bool:
    """Send the operation to the sandbox: a route exists unless it answers with its
    unknown-route 404 (``Not found: <path>``) or 405."""
    path = _fill(op.path, ids)
    data = {"prompt": "route probe"} if op.method == "POST" else None
    response = httpx.request(
        op.method, sandbox.url + path, headers={"X-API-KEY": sandbox.api_key}, data=data
    )
    if response.status_code == 405:
        return False
    return not (
        response.status_code == 404 and response.json().get("error") == f"Not found: {path}"
    )


def coverage_problems(spec: dict[str, Any], cov: Coverage) -> list[str]:
    problems: list[str] = []
    assert cov.sandbox is not None
    for op in operations(spec):
        if op.operation_id not in cov.sync:
            problems.append(
                f"{op}: no SpineClient method sends it. Fix: add one to a resource in "
                "spine/_resources.py, built in spine/_operations.py from the generated endpoint."
            )
        if op.operation_id not in cov.async_:
            problems.append(
                f"{op}: no AsyncSpineClient method sends it. Fix: add the async twin in "
                "spine/_resources.py."
            )
        if not sandbox_has_route(cov.sandbox, op, cov.ids):
            problems.append(
                f"{op}: the sandbox has no route for it. Fix: route it in "
                "spine/testing/_server/_app.py."
            )
        if op.is_read and op.operation_id not in cov.cli:
            problems.append(
                f"{op}: a read with no `spine` command. Fix: add a command (or an argument of "
                "one) in spine/cli/_main.py and spine/cli/_commands.py."
            )
    return problems


# ----------------------------------------------------------------------------- probing

PROBE_VALUES: dict[str, Any] = {
    "prompt": "contract probe",
    "payload": b"{}",
    "sig_header": "t=1,v1=00",
    "secret": "whsec_probe",
}


def _args(method: Any, ids: dict[str, str]) -> dict[str, Any]:
    values = {**PROBE_VALUES, **ids}
    args: dict[str, Any] = {}
    for name, param in inspect.signature(method).parameters.items():
        if param.default is not inspect.Parameter.empty or param.kind in (
            param.VAR_POSITIONAL, param.VAR_KEYWORD,
        ):  # fmt: skip
            continue
        if name not in values:
            pytest.fail(
                f"the probe cannot call {method.__qualname__}: teach PROBE_VALUES in "
                f"{Path(__file__).name} a value for `{name}`"
            )
        args[name] = values[name]
    return args


def _resources(client: Any) -> Iterator[tuple[str, Any]]:
    for name in dir(client):
        if name.startswith("_"):
            continue
        value = getattr(client, name)
        if type(value).__module__.startswith("spine.") and not callable(value):
            yield name, value


def _sent(sandbox: Sandbox, spec_ops: list[Operation], since: int) -> set[str]:
    sent = set()
    for record in sandbox.requests[since:]:
        for op in spec_ops:
            if op.matches(record.method, record.path):
                sent.add(op.operation_id)
    return sent


def _returns(value: Any) -> str:
    return type(value).__name__


async def _probe_async(cov: Coverage, sb: Sandbox, spec_ops: list[Operation]) -> None:
    async with spine.AsyncSpineClient(api_key=sb.api_key, base_url=sb.url) as client:
        for res_name, resource in _resources(client):
            for name, method in inspect.getmembers(resource, callable):
                if name.startswith("_"):
                    continue
                since = len(sb.requests)
                try:
                    result = method(**_args(method, cov.ids))
                    if inspect.isawaitable(result):
                        await result
                except spine.SpineError:
                    pass
                for op_id in _sent(sb, spec_ops, since):
                    cov.async_.setdefault(op_id, []).append(f"{res_name}.{name}")


@pytest.fixture(scope="module")
def coverage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coverage]:
    spec_ops = operations(load_spec())
    with Sandbox(run_duration=0.3) as sb:
        cov = Coverage(sandbox=sb)
        with spine.SpineClient(api_key=sb.api_key, base_url=sb.url) as client:
            # Real ids for the probes: a finished run with its canvas and a task.
            handle = client.runs.create("ids for the probes", template="memo")
            handle.wait(poll_interval=0.05)
            run = client.runs.get(handle.run_id)
            assert run.canvas_id is not None
            tree = client.canvas.get_tasks(run.canvas_id)
            cov.ids = {
                "run_id": run.run_id,
                "canvas_id": run.canvas_id,
                "task_id": tree.completed[0].task_id,
            }
            for res_name, resource in _resources(client):
                for name, method in inspect.getmembers(resource, callable):
                    if name.startswith("_"):
                        continue
                    since = len(sb.requests)
                    try:
                        result = method(**_args(method, cov.ids))
                    except spine.SpineError:
                        continue
                    for op_id in _sent(sb, spec_ops, since):
                        cov.sync.setdefault(op_id, []).append(f"{res_name}.{name}")
                        cov.returns.setdefault(op_id, set()).add(_returns(result))
        asyncio.run(_probe_async(cov, sb, spec_ops))
        _probe_cli(cov, sb, spec_ops, tmp_path_factory.mktemp("cli"))
        yield cov


def _probe_cli(cov: Coverage, sb: Sandbox, spec_ops: list[Operation], tmp: Path) -> None:
    import contextlib
    import io
    import os

    parser = cli_main.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    values = {**PROBE_VALUES, **cov.ids, "directory": str(tmp)}
    env = {"SPINE_API_KEY": sb.api_key, "SPINE_BASE_URL": sb.url}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for command, command_parser in sub.choices.items():
            if command in CLI_NOT_PROBED:
                continue
            positionals = [
                a.dest for a in command_parser._actions if not a.option_strings and a.dest != "help"
            ]
            for count in range(len(positionals) + 1):  # optional positionals too (tasks ID)
                names = positionals[:count]
                if any(n not in values for n in names):
                    pytest.fail(f"the probe cannot run `spine {command}`: no value for {names}")
                argv = [command, *(str(values[n]) for n in names)]
                if "--quiet" in command_parser._option_string_actions:
                    argv.append("--quiet")
                since = len(sb.requests)
                err = io.StringIO()
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
                    code = cli_main.main(argv)
                assert code != cli_main.EXIT_USAGE or count < len(positionals), (argv, err)
                for op_id in _sent(sb, spec_ops, since):
                    cov.cli.setdefault(op_id, []).append(f"spine {' '.join(argv[:1 + count])}")
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


# ----------------------------------------------------------------------------- tests


def test_every_operation_has_sdk_methods_a_sandbox_route_and_a_command(cov: Coverage) -> None:
    assert coverage_problems(load_spec(), cov) == []
    # The probes found real callers (not an empty pass).
    assert "runs.create" in cov.sync["create_run"] and "runs.get" in cov.sync["get_run"]
    assert "canvas.get_task" in cov.async_["get_canvas_task"]
    assert any(c.startswith("spine tasks") for c in cov.cli["get_canvas_task"])


def test_each_operation_returns_the_model_of_its_spec_answer(cov: Coverage) -> None:
    """The SDK method's return value is the public model of the 200 envelope's data (create
    returns a handle around it)."""
    spec = load_spec()
    for op in operations(spec):
        item = spec["paths"][op.path][op.method.lower()]
        envelope = item["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        data = spec["components"]["schemas"][envelope.rsplit("/", 1)[-1]]["properties"]["data"]
        model = data["$ref"].rsplit("/", 1)[-1]
        returned = cov.returns.get(op.operation_id)
        if returned is None:
            continue  # no SDK method sends it: the coverage test names what is missing
        if model == "CreateRunResponse":
            assert returned == {"RunHandle"}
        else:
            assert model in returned, f"{op}: the SDK returns {returned}, the spec says {model}"


def test_a_new_operation_is_named_with_everything_missing(cov: Coverage) -> None:
    spec = copy.deepcopy(load_spec())
    spec["paths"]["/v1/run/{run_id}/cancel"] = {
        "post": {
            "operationId": "cancel_run",
            "parameters": [{"$ref": "#/components/parameters/RunId"}],
            "responses": {"200": {"$ref": "#/components/responses/NotFound"}},
        }
    }
    assert coverage_problems(spec, cov) == [
        "cancel_run (POST /v1/run/{run_id}/cancel): no SpineClient method sends it. Fix: add "
        "one to a resource in spine/_resources.py, built in spine/_operations.py from the "
        "generated endpoint.",
        "cancel_run (POST /v1/run/{run_id}/cancel): no AsyncSpineClient method sends it. Fix: "
        "add the async twin in spine/_resources.py.",
        "cancel_run (POST /v1/run/{run_id}/cancel): the sandbox has no route for it. Fix: route "
        "it in spine/testing/_server/_app.py.",
    ]


def test_a_new_read_also_needs_a_command(cov: Coverage) -> None:
    spec = copy.deepcopy(load_spec())
    spec["paths"]["/v1/canvas/{canvas_id}/artifacts"] = {
        "get": {"operationId": "get_canvas_artifacts", "responses": {}}
    }
    problems = coverage_problems(spec, cov)
    assert len(problems) == 4
    assert problems[-1] == (
        "get_canvas_artifacts (GET /v1/canvas/{canvas_id}/artifacts): a read with no `spine` "
        "command. Fix: add a command (or an argument of one) in spine/cli/_main.py and "
        "spine/cli/_commands.py."
    )


@pytest.fixture
def cov(coverage: Coverage) -> Coverage:
    return coverage
