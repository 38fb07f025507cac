"""``spine contract-check``: check a live Spine API against ``openapi.yaml``.

With an API key and an existing run id, it calls only the read operations (the run, its
canvas DAG, its task tree, one task), validates every raw body against the spec shipped in the
package (JSON Schema, :mod:`jsonschema`), and reports, as a table:

* unknown fields (a warning: the SDK ignores them, but the spec is behind);
* missing required fields, type mismatches, values out of bounds and unknown values of a
  closed set (errors: the SDK would refuse the body or misread it);
* new values of an open set (a warning: the SDK keeps them as strings).

Creating a run costs money: it happens only with ``allow_create=True`` (``--allow-create``).
The bodies can be recorded, with ids, URLs and secrets replaced, as test fixtures
(``record_dir``; ``tests/fixtures/recorded/`` in this project, replayed by ``make test``).

Needs the ``contract`` extra: jsonschema and PyYAML
(``pip install 'jsonschema>=4.20' 'PyYAML>=6'``), imported only when a check runs.
``import spine`` never loads this module.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spine._redact import redact
from spine._version import __version__

if TYPE_CHECKING:
    import httpx

__all__ = [
    "READ_OPERATIONS",
    "ContractReport",
    "Exchange",
    "Finding",
    "MissingExtraError",
    "check_body",
    "load_spec",
    "render_table",
    "run_check",
    "scrub",
]

READ_OPERATIONS = ("get_run", "get_canvas_dag", "get_canvas_tasks", "get_canvas_task")
ERROR = "error"
WARNING = "warning"
SPEC_RESOURCE = "openapi.yaml"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


INSTALL_HINT = "pip install 'jsonschema>=4.20' 'PyYAML>=6'"
"""How to install what the check needs, true however the SDK was installed (the package may
not come from an index, so its extra cannot always be named)."""


class MissingExtraError(RuntimeError):
    """The checker needs the ``contract`` extra."""


@dataclass(frozen=True)
class Finding:
    """One difference between an answer and the spec."""

    level: str  # "error" | "warning"
    operation: str
    where: str  # a JSON path such as data.metadata.credits_consumed
    problem: str
    detail: str


@dataclass
class Exchange:
    """One request of the check and what came back."""

    operation: str
    method: str
    path: str  # the spec's path template
    status: int
    body: Any  # the parsed JSON, or None when the body is not JSON
    findings: list[Finding] = field(default_factory=list)


@dataclass
class ContractReport:
    base_url: str
    exchanges: list[Exchange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recorded: list[Path] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for e in self.exchanges for f in e.findings]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors


# ----------------------------------------------------------------------------- the spec


def _need(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(
            f"the contract check needs {module}, which is not installed. Install the"
            f" contract extra's packages into this Python: {INSTALL_HINT}"
        ) from None


def spec_path() -> Path:
    """``openapi.yaml``: the copy inside the installed package, else the source tree's."""
    packaged = Path(__file__).with_name(SPEC_RESOURCE)
    if packaged.is_file():
        return packaged
    source = Path(__file__).resolve().parent.parent / SPEC_RESOURCE
    if source.is_file():
        return source
    raise FileNotFoundError(f"{SPEC_RESOURCE} is not installed with the spine package")


def load_spec(path: Path | None = None) -> dict[str, Any]:
    yaml = _need("yaml")
    with (path or spec_path()).open(encoding="utf-8") as fh:
        spec: dict[str, Any] = yaml.safe_load(fh)
    return spec


def _operation(spec: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(f"openapi.yaml has no operation {operation_id}")


def _resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


# ----------------------------------------------------------------------------- validation


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(body)"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "\u2026"


def _flatten(error: Any) -> Iterator[Any]:
    """The errors that say what is wrong: inside anyOf/oneOf, those of the branch that fits."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[int, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = [
            errs
            for errs in branches.values()
            if not any(e.validator == "type" and not e.relative_path for e in errs)
        ]
        if len(fitting) == 1:
            for sub in fitting[0]:
                yield from _flatten(sub)
            return
    yield error


def _finding(operation: str, error: Any) -> Finding:
    where = _where(error.absolute_path)
    if error.validator == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else "?"
        path = f"{where}.{name}" if error.absolute_path else name
        return Finding(ERROR, operation, path, "missing required field", "the spec requires it")
    if error.validator == "type":
        wanted = error.validator_value
        wanted_s = " or ".join(wanted) if isinstance(wanted, list) else str(wanted)
        got = _json_type(error.instance)
        if error.validator in ("anyOf", "oneOf"):
            wanted_s = "one of the spec's types"
        return Finding(
            ERROR, operation, where, "type mismatch",
            f"expected {wanted_s}, got {got} {_short(error.instance)}",
        )  # fmt: skip
    if error.validator == "enum":
        known = ", ".join(map(str, error.validator_value))
        return Finding(
            ERROR, operation, where, "unknown value of a closed set",
            f"{_short(error.instance)} is not one of {known}",
        )  # fmt: skip
    if error.validator in ("anyOf", "oneOf"):
        return Finding(
            ERROR, operation, where, "type mismatch",
            f"{_json_type(error.instance)} {_short(error.instance)} fits none of the spec's types",
        )  # fmt: skip
    return Finding(ERROR, operation, where, f"invalid value ({error.validator})", error.message)


def _walk(
    spec: dict[str, Any], schema: Any, value: Any, path: list[Any], out: Callable[..., None]
) -> None:
    """Unknown fields, and values outside an open set's known ones (jsonschema accepts both)."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return
    for key in ("allOf",):
        for sub in schema.get(key, []):
            _walk(spec, sub, value, path, out)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches is not None:
        resolved = [_resolve(spec, b) for b in branches]
        enums = [b for b in resolved if isinstance(b, dict) and "enum" in b]
        strings = [b for b in resolved if b == {"type": "string"}]
        if enums and strings and isinstance(value, str):  # an open set
            known = enums[0]["enum"]
            if value not in known:
                closed = bool(schema.get("x-spine-closed-in-docs"))
                listed = ", ".join(known) if len(known) <= 6 else f"the {len(known)} known values"
                detail = f"{_short(value)} is not one of {listed}"
                if closed:
                    out(ERROR, path, "unknown value of a closed set",
                        detail + " (the docs list them all; the SDK never treats it as final)")
                else:
                    out(WARNING, path, "new value of an open set",
                        detail + " (the SDK keeps it as a string)")
            return
        for branch in resolved:
            if isinstance(branch, dict) and _matches_kind(branch, value):
                _walk(spec, branch, value, path, out)
                return
        return
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        for key, item in value.items():
            if key not in props:
                out(WARNING, [*path, key], "unknown field", "not in the spec; the SDK ignores it")
            else:
                _walk(spec, props[key], item, [*path, key], out)
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _walk(spec, schema["items"], item, [*path, i], out)


def _matches_kind(schema: dict[str, Any], value: Any) -> bool:
    types = schema.get("type")
    if types is None:
        return "properties" in schema and isinstance(value, dict)
    listed = types if isinstance(types, list) else [types]
    kind = _json_type(value)
    return kind in listed or (kind == "integer" and "number" in listed)


def response_schema(spec: dict[str, Any], operation: str, status: int) -> dict[str, Any] | None:
    _, _, op = _operation(spec, operation)
    response = op.get("responses", {}).get(str(status))
    if response is None:
        return None
    content = _resolve(spec, response).get("content", {}).get("application/json", {})
    schema = content.get("schema")
    return schema if isinstance(schema, dict) else None


def check_body(spec: dict[str, Any], operation: str, status: int, body: Any) -> list[Finding]:
    """Every difference between one answer (parsed JSON) and the spec."""
    jsonschema = _need("jsonschema")
    schema = response_schema(spec, operation, status)
    if schema is None:
        return [Finding(ERROR, operation, "(status)", "undocumented status", f"HTTP {status}")]
    root = {"components": spec["components"], "allOf": [schema]}
    validator = jsonschema.Draft202012Validator(root)
    findings = [
        _finding(operation, leaf)
        for error in validator.iter_errors(body)
        for leaf in _flatten(error)
    ]

    def out(level: str, path: list[Any], problem: str, detail: str) -> None:
        findings.append(Finding(level, operation, _where(path), problem, detail))

    _walk(spec, schema, body, [], out)
    findings.sort(key=lambda f: (f.level != ERROR, f.where))
    return findings


# ----------------------------------------------------------------------------- recording


class _Scrubber:
    """Replaces ids, URLs and secrets consistently across one recording."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.ids: dict[str, str] = {}
        self.secrets = tuple(s for s in secrets if s)

    def _id(self, found: str) -> str:
        key = found.lower()
        if key not in self.ids:
            self.ids[key] = f"00000000-0000-4000-8000-{len(self.ids) + 1:012d}"
        return self.ids[key]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, "[redacted]")
        if re.match(r"^[a-z][a-z0-9+.-]*://", value, re.IGNORECASE):
            return "https://example.invalid/recorded"
        value = _UUID.sub(lambda m: self._id(m.group(0)), value)
        return redact(value)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def scrub(body: Any, secrets: tuple[str, ...] = ()) -> Any:
    """``body`` with every UUID replaced by a numbered placeholder (the same id, the same
    placeholder), every URL by ``https://example.invalid/recorded`` and secrets masked."""
    return _Scrubber(secrets)(body)


def record(
    exchanges: list[Exchange], directory: Path, source: str, secrets: tuple[str, ...]
) -> list[Path]:
    """Write one fixture per operation (``<operation>.json``) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    scrubber = _Scrubber(secrets)
    written = []
    stamp = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    for exchange in exchanges:
        if exchange.body is None:
            continue
        fixture = {
            "operation": exchange.operation,
            "method": exchange.method,
            "path": exchange.path,
            "status": exchange.status,
            "source": source,
            "recorded_at": stamp,
            "sdk_version": __version__,
            "body": scrubber(exchange.body),
        }
        target = directory / f"{exchange.operation}.json"
        target.write_text(
            json.dumps(fixture, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        written.append(target)
    return written


# ----------------------------------------------------------------------------- the check


def _first_task(tree: Any) -> str | None:
    if not isinstance(tree, dict):
        return None
    for group in ("not_completed", "completed"):
        for task in tree.get(group) or []:
            if isinstance(task, dict) and isinstance(task.get("task_id"), str):
                return str(task["task_id"])
    return None


def _data(body: Any) -> Any:
    return body.get("data") if isinstance(body, dict) else None


def run_check(
    *,
    api_key: str,
    base_url: str | None,
    run_id: str | None,
    allow_create: bool = False,
    record_dir: Path | None = None,
    source: str | None = None,
    http_client: httpx.Client | None = None,
    spec: dict[str, Any] | None = None,
    create_prompt: str = "Contract check: reply with the word OK.",
) -> ContractReport:
    """Call the read operations for ``run_id`` (after creating a run when ``allow_create`` and
    no run id is given) and compare every answer with the spec."""
    import httpx

    from spine import _operations as ops
    from spine._client import SpineClient

    spec = spec if spec is not None else load_spec()
    with SpineClient(api_key=api_key, base_url=base_url) as settings_check:
        api_base = settings_check.base_url  # normalised, checked (https unless loopback)
    host = api_base[: -len("/v1")] if api_base.endswith("/v1") else api_base
    report = ContractReport(base_url=host)
    headers = {
        "X-API-KEY": api_key,
        "User-Agent": f"spine-sdk-python/{__version__} contract-check",
        "Accept": "application/json",
    }
    own = http_client is None
    http = http_client or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
    try:

        def call(operation: str, kwargs: dict[str, Any]) -> Exchange:
            method, template, _ = _operation(spec, operation)
            request_headers = {**headers, **kwargs.pop("headers", {})}
            response = http.request(
                kwargs.pop("method").upper(), host + kwargs.pop("url"),
                headers=request_headers, **kwargs,
            )  # fmt: skip
            try:
                body = response.json()
            except ValueError:
                body = None
            exchange = Exchange(operation, method, template, response.status_code, body)
            if body is None:
                exchange.findings.append(Finding(
                    ERROR, operation, "(body)", "not JSON",
                    f"HTTP {response.status_code}, {response.headers.get('content-type')}",
                ))  # fmt: skip
            else:
                exchange.findings = check_body(spec, operation, response.status_code, body)
            report.exchanges.append(exchange)
            return exchange

        if run_id is None and allow_create:
            # The SDK's own request builder (multipart, an Idempotency-Key, no files).
            create = ops.create_run(
                create_prompt, template="memo", blocks=None, agent_instructions=None,
                webhook_url=None, files=None, idempotency_key=None,
            )  # fmt: skip
            created = call("create_run", dict(create.kwargs))
            data = _data(created.body)
            if isinstance(data, dict) and isinstance(data.get("run_id"), str):
                run_id = data["run_id"]
        if run_id is None:
            report.notes.append("no run to check (the create failed)")
            return report

        run = call("get_run", dict(ops.get_run(run_id).kwargs))
        canvas_id = (_data(run.body) or {}).get("canvas_id") if run.status == 200 else None
        if not isinstance(canvas_id, str):
            report.notes.append("the run reports no canvas_id yet: DAG and tasks not checked")
            return report
        call("get_canvas_dag", dict(ops.get_dag(canvas_id).kwargs))
        tasks = call("get_canvas_tasks", dict(ops.get_tasks(canvas_id).kwargs))
        task_id = _first_task(_data(tasks.body)) if tasks.status == 200 else None
        if task_id is None:
            report.notes.append("the task tree is empty: the single-task read not checked")
        else:
            call("get_canvas_task", dict(ops.get_task(canvas_id, task_id).kwargs))
    finally:
        if own:
            http.close()
    if record_dir is not None:
        report.recorded = record(report.exchanges, record_dir, source or host, (api_key,))
    return report


# ----------------------------------------------------------------------------- output


def render_table(report: ContractReport) -> str:
    """The findings as a plain-text table, then one line per answer and a verdict."""
    lines = [f"Contract check of {report.base_url} against openapi.yaml"]
    for exchange in report.exchanges:
        count = len(exchange.findings)
        lines.append(
            f"  {exchange.method} {exchange.path}  HTTP {exchange.status}  "
            + (f"{count} finding{'s' if count != 1 else ''}" if count else "matches the spec")
        )
    findings = report.findings
    if findings:
        rows = [("LEVEL", "OPERATION", "WHERE", "PROBLEM", "DETAIL")]
        rows += [
            (f.level.upper(), f.operation, f.where, f.problem, f.detail) for f in findings
        ]
        widths = [min(max(len(r[i]) for r in rows), cap) for i, cap in enumerate((7, 16, 40, 30))]
        lines.append("")
        for row in rows:
            cells = [row[i].ljust(widths[i]) for i in range(4)]
            lines.append("  " + "  ".join(cells) + "  " + row[4])
    for note in report.notes:
        lines.append(f"  note: {note}")
    errors, warnings = len(report.errors), len(findings) - len(report.errors)
    verdict = "OK" if report.ok else "FAILED"
    lines.append("")
    lines.append(
        f"contract-check: {verdict}: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''} in {len(report.exchanges)} answers"
    )
    for path in report.recorded:
        lines.append(f"  recorded {path}")
    return redact("\n".join(lines)) + "\n"
