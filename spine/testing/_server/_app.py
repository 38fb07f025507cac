"""The sandbox's HTTP application: routing, auth, validation, idempotency, faults and the log.

All shared state lives in :class:`SandboxState`, guarded by one re-entrant lock, because the
server's event loop thread and the test's thread both touch it. No ``await`` happens while the
lock is held.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from spine._enums import BlockType, RunStatus, Template
from spine.testing._server._faults import Fault, FaultList, RequestRecord
from spine.testing._server._forms import ParsedForm, format_size, read_form
from spine.testing._server._http import BodyStream, ClientGone, HttpRequest, HttpResponse
from spine.testing._server._runs import (
    DOCUMENT_EXTENSIONS,
    IMAGE_EXTENSIONS,
    Artifact,
    Run,
    Upload,
    build_run,
    file_kind,
    parse_outcome_marker,
)

__all__ = ["SandboxApp", "SandboxState", "Settings"]

log = logging.getLogger("spine.testing")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_VALID_TEMPLATES = ", ".join(sorted(t.value for t in Template))
_VALID_BLOCKS = ", ".join(sorted(b.value for b in BlockType))
_SUPPORTED_EXT = ", ".join(sorted(IMAGE_EXTENSIONS | DOCUMENT_EXTENSIONS))
_FIELDS = ("agent_instructions", "blocks", "files", "prompt", "template", "webhook_url")
OUTCOMES = (RunStatus.COMPLETED.value, RunStatus.PARTIAL.value, RunStatus.FAILED.value)
DEFAULT_API_KEY = "sk_spine_sandbox"
KEY_PREFIX = "sk_spine_"


@dataclass
class Settings:
    """How the sandbox behaves; see :class:`spine.testing.Sandbox` for each option."""

    api_keys: frozenset[str] | None = None
    run_duration: float | None = 3.0
    tasks: int | None = None
    max_file_size: int = 50 * 1024 * 1024
    canvas_id_after_polls: int = 0
    artifact_ttl: float = 3600.0
    default_outcome: str = "completed"
    estimated_duration_ms: int | None = None
    public_url: str | None = None
    request_log_limit: int | None = 100_000


@dataclass
class _Stored:
    digest: str
    body: bytes
    run_id: str


class SandboxState:
    """Runs, canvases, idempotency records, scripted outcomes, faults and the request log."""

    def __init__(self, settings: Settings, clock: Callable[[], float] | None) -> None:
        self.settings = settings
        self.lock = threading.RLock()
        self.clock: Callable[[], float] = clock or time.time
        self.offset = 0.0
        self.runs: dict[str, Run] = {}
        self.canvases: dict[str, Run] = {}
        self.artifacts: dict[str, tuple[Run, Artifact]] = {}
        self.idempotency: dict[tuple[str, str], _Stored] = {}
        self.outcomes: deque[str] = deque()
        self.faults = FaultList(self.lock)
        self.log: deque[RequestRecord] = deque(maxlen=settings.request_log_limit)
        self.listeners: list[Callable[[RequestRecord], None]] = []
        self.secret = secrets.token_bytes(32)
        self.bound_url = "http://127.0.0.1"

    def now(self) -> float:
        return self.clock() + self.offset

    def key_allowed(self, key: str) -> bool:
        allowed = self.settings.api_keys
        if allowed is None:
            return key.startswith(KEY_PREFIX) and len(key) > len(KEY_PREFIX)
        return key in allowed

    def next_outcome(self, prompt: str) -> str:
        marked = parse_outcome_marker(prompt)
        if marked is not None:
            return marked
        if self.outcomes:
            return self.outcomes.popleft()
        return self.settings.default_outcome

    def signature(self, artifact_id: str, expires: int) -> str:
        message = f"{artifact_id}:{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()[:32]

    def signer(self, base_url: str) -> Callable[[Artifact], str]:
        expires = math.ceil(self.now() + self.settings.artifact_ttl)

        def sign(artifact: Artifact) -> str:
            name = urllib.parse.quote(artifact.name)
            signature = self.signature(artifact.id, expires)
            return f"{base_url}/files/{artifact.id}/{name}?expires={expires}&signature={signature}"

        return sign


def _envelope(data: Any) -> bytes:
    return json.dumps({"success": True, "data": data}, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _json_response(
    status: int, body: bytes, request_id: str, extra: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    headers = [("Content-Type", "application/json"), ("X-Request-ID", request_id), *extra]
    return HttpResponse(status, headers, body)


def _error(
    status: int, message: str, request_id: str, extra: Iterable[tuple[str, str]] = ()
) -> HttpResponse:
    body = json.dumps({"success": False, "error": message}, ensure_ascii=False).encode("utf-8")
    return _json_response(status, body, request_id, extra)


@dataclass
class _Ctx:
    request_id: str
    run_id: str | None = None
    replayed: bool = False


class SandboxApp:
    """The request handler the HTTP server calls for every request."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, request: HttpRequest, body: BodyStream) -> HttpResponse:
        started = time.perf_counter()
        wall = time.time()
        ctx = _Ctx("req_" + secrets.token_hex(12))
        fault = self.state.faults.take(request.method, _path_of(request))
        try:
            if fault is not None and fault.delay:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.drop == "before":
                self._record(request, None, ctx, fault, wall, started)
                return HttpResponse(0, drop=True)
            if fault is not None and fault.status is not None:
                await body.drain()
                response = self._fault_response(fault, request, ctx)
            else:
                response = await self._dispatch(request, body, ctx)
                if fault is not None and fault.drop == "after":
                    await body.drain()
                    self._record(request, None, ctx, fault, wall, started)
                    return HttpResponse(0, drop=True)
        except ClientGone:
            self._record(request, None, ctx, None, wall, started, note="client-disconnected")
            raise
        except Exception:
            log.exception("sandbox: error while handling %s %s", request.method, request.path)
            response = _error(500, "An internal error occurred", ctx.request_id)
        if fault is not None and fault.trickle is not None:
            response.trickle = (fault.trickle, fault.trickle_chunk)
        self._record(request, response.status, ctx, fault, wall, started)
        return response

    # ------------------------------------------------------------------ plumbing

    def _record(
        self,
        request: HttpRequest,
        status: int | None,
        ctx: _Ctx,
        fault: Fault | None,
        wall: float,
        started: float,
        note: str | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        for name, value in request.headers:
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        record = RequestRecord(
            method=request.method,
            path=_path_of(request),
            query=request.query,
            headers=headers,
            status=status,
            request_id=ctx.request_id,
            run_id=ctx.run_id,
            fault=note or (fault.describe() if fault is not None else None),
            replayed=ctx.replayed,
            started_at=wall,
            duration_ms=(time.perf_counter() - started) * 1000,
            connection=request.connection,
        )
        with self.state.lock:
            self.state.log.append(record)
            listeners = list(self.state.listeners)
        for listener in listeners:
            try:
                listener(record)
            except Exception:
                log.exception("sandbox: a request listener failed")

    def _fault_response(self, fault: Fault, request: HttpRequest, ctx: _Ctx) -> HttpResponse:
        assert fault.status is not None
        path = _path_of(request)
        extra = fault.response_headers()
        raw = fault.response_body(request.method, path)
        if raw is not None:
            data, ctype = raw
            headers = [("Content-Type", ctype), ("X-Request-ID", ctx.request_id), *extra]
            return HttpResponse(fault.status, headers, data)
        return _error(fault.status, fault.message(request.method, path), ctx.request_id, extra)

    def _base_url(self, request: HttpRequest) -> str:
        if self.state.settings.public_url:
            return self.state.settings.public_url.rstrip("/")
        host = request.header("host")
        if host and re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host):
            return f"http://{host}"
        return self.state.bound_url

    # ------------------------------------------------------------------ routing

    async def _dispatch(self, request: HttpRequest, body: BodyStream, ctx: _Ctx) -> HttpResponse:
        raw_path = _path_of(request)
        segments = [urllib.parse.unquote(s) for s in raw_path.split("/")[1:]]
        method = request.method
        rid = ctx.request_id
        route: tuple[str, tuple[str, ...]] | None = None
        if segments[:1] == ["v1"]:
            rest = segments[1:]
            if rest == ["run"]:
                route = ("create", ("POST",))
            elif len(rest) == 2 and rest[0] == "run":
                route = ("get_run", ("GET", "HEAD"))
            elif len(rest) == 3 and rest[0] == "canvas" and rest[2] in ("dag", "tasks"):
                route = (rest[2], ("GET", "HEAD"))
            elif len(rest) == 4 and rest[0] == "canvas" and rest[2] == "tasks":
                route = ("task", ("GET", "HEAD"))
        elif len(segments) == 3 and segments[0] == "files":
            route = ("file", ("GET", "HEAD"))
        elif segments == ["_sandbox", "health"]:
            route = ("health", ("GET", "HEAD"))
        if route is None:
            await body.drain()
            return _error(404, f"Not found: {raw_path}", rid)
        name, methods = route
        if method not in methods:
            await body.drain()
            allow = [("Allow", ", ".join(methods))]
            return _error(405, f"Method not allowed: {method} {raw_path}", rid, allow)
        if name == "health":
            return _json_response(200, _envelope({"status": "ok"}), rid)
        if name == "file":
            return self._download(request, segments[1], segments[2], rid)

        key = request.header("x-api-key")
        if not key or not key.strip():
            await body.drain()
            return _error(401, "X-API-KEY header required", rid)
        key = key.strip()
        if not self.state.key_allowed(key):
            await body.drain()
            return _error(401, "Invalid API key", rid)

        if name == "create":
            return await self._create(request, body, key, ctx)
        await body.drain()
        if name == "get_run":
            return self._get_run(request, segments[2], key, ctx)
        with self.state.lock:
            run = self._find(
                self.state.canvases, segments[2], key, ctx,
                (400, "Invalid canvas_id: must be a valid UUID"), (404, "Canvas not found: "),
            )
            if not isinstance(run, Run):
                return run
            now = self.state.now()
            if name == "dag":
                return _json_response(200, _envelope(
                    run.dag_view(now, self.state.signer(self._base_url(request)))), rid)
            if name == "tasks":
                return _json_response(200, _envelope(run.tasks_view(now)), rid)
            task_id = segments[4]
            if not _UUID.match(task_id):
                return _error(400, "Invalid task_id: must be a valid UUID", rid)
            task = run.task_view(task_id.lower(), now)
            if task is None:
                return _error(404, f"Task not found: {task_id}", rid)
            return _json_response(200, _envelope(task), rid)

    # ------------------------------------------------------------------ endpoints

    @staticmethod
    def _find(
        table: dict[str, Run],
        ident: str,
        key: str,
        ctx: _Ctx,
        invalid: tuple[int, str],
        unknown: tuple[int, str],
    ) -> Run | HttpResponse:
        """The run that ``ident`` (a run or canvas id) names in ``table``, for the caller's key
        (the caller holds the state lock); else the ``invalid`` answer (not a UUID) or the
        ``unknown`` one (its text ends with the id). The texts stay at the call sites, where
        ``tests/contract/test_provenance.py`` finds them."""
        if not _UUID.match(ident):
            return _error(*invalid, ctx.request_id)
        run = table.get(ident.lower())
        if run is None or run.api_key != key:
            return _error(unknown[0], unknown[1] + ident, ctx.request_id)
        ctx.run_id = run.run_id
        return run

    def _get_run(self, request: HttpRequest, run_id: str, key: str, ctx: _Ctx) -> HttpResponse:
        rid = ctx.request_id
        with self.state.lock:
            run = self._find(
                self.state.runs, run_id, key, ctx,
                (400, "Invalid run_id: must be a valid UUID"), (404, "Run not found: "),
            )
            if not isinstance(run, Run):
                return run
            show = run.polls >= self.state.settings.canvas_id_after_polls
            run.polls += 1
            view = run.get_view(
                self.state.now(), show, self.state.signer(self._base_url(request))
            )
        return _json_response(200, _envelope(view), rid)

    async def _create(
        self, request: HttpRequest, body: BodyStream, key: str, ctx: _Ctx
    ) -> HttpResponse:
        rid = ctx.request_id
        settings = self.state.settings
        idem = request.header("idempotency-key")
        if idem is not None and not 1 <= len(idem.strip()) <= 255:
            await body.drain()
            return _error(400, "Invalid Idempotency-Key: must be 1 to 255 characters", rid)
        form = await read_form(body, request.header("content-type"), settings.max_file_size)
        problem = _validate(form, settings.max_file_size)
        if problem is not None:
            return _error(problem[0], problem[1], rid)
        prompt = form.first("prompt") or ""
        blocks_raw = form.first("blocks")
        blocks = json.loads(blocks_raw) if blocks_raw is not None else None
        template = form.first("template") or "auto"
        uploads = [
            Upload(
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
                block_type=(
                    "image-block"
                    if file_kind(f.extension, f.content_type) == "image"
                    else "file-block"
                ),
                preview=f.preview(),
            )
            for f in form.files
        ]
        digest = form.digest()
        with self.state.lock:
            if idem is not None:
                stored = self.state.idempotency.get((key, idem))
                if stored is not None:
                    if stored.digest != digest:
                        return _error(
                            409,
                            f"Idempotency-Key {idem!r} was already used with a different "
                            "request; send a new key for a new run",
                            rid,
                        )
                    ctx.run_id = stored.run_id
                    ctx.replayed = True
                    return _json_response(
                        200, stored.body, rid, [("Idempotent-Replayed", "true")]
                    )
            now = self.state.now()
            run = build_run(
                run_id=str(uuid.uuid4()),
                api_key=key,
                prompt=prompt,
                template=template,
                blocks=blocks,
                agent_instructions=form.first("agent_instructions"),
                uploads=uploads,
                created_at=now,
                duration=settings.run_duration,
                outcome=self.state.next_outcome(prompt),
                tasks=settings.tasks,
            )
            self.state.runs[run.run_id] = run
            self.state.canvases[run.canvas_id] = run
            for artifact in run.artifacts.values():
                self.state.artifacts[artifact.id] = (run, artifact)
            estimated = settings.estimated_duration_ms
            if estimated is None:
                estimated = int((settings.run_duration or 900.0) * 1000)
            data = run.create_view(estimated, settings.canvas_id_after_polls == 0)
            payload = _envelope(data)
            if idem is not None:
                self.state.idempotency[(key, idem)] = _Stored(digest, payload, run.run_id)
            ctx.run_id = run.run_id
        return _json_response(200, payload, rid)

    def _download(
        self, request: HttpRequest, artifact_id: str, name: str, rid: str
    ) -> HttpResponse:
        query = urllib.parse.parse_qs(request.query)
        expires_raw = (query.get("expires") or [""])[0]
        signature = (query.get("signature") or [""])[0]
        if not expires_raw.isdigit() or not signature:
            return _error(403, "Missing or malformed download signature", rid)
        expires = int(expires_raw)
        expected = self.state.signature(artifact_id, expires)
        if not hmac.compare_digest(expected, signature):
            return _error(403, "Invalid download signature", rid)
        with self.state.lock:
            if self.state.now() > expires:
                return _error(403, "Download link expired", rid)
            found = self.state.artifacts.get(artifact_id)
            if found is None or found[1].name != name:
                return _error(404, f"Artifact not found: {artifact_id}", rid)
            artifact = found[1]
            data = artifact.data
        disposition = f"attachment; filename*=UTF-8''{urllib.parse.quote(artifact.name)}"
        headers = [
            ("Content-Type", artifact.kind.content_type),
            ("Content-Disposition", disposition),
            ("Cache-Control", "private, max-age=0"),
            ("X-Request-ID", rid),
        ]
        return HttpResponse(200, headers, data)


def _path_of(request: HttpRequest) -> str:
    path = request.path
    if not path.startswith("/"):
        path = urllib.parse.urlsplit(path).path or "/"
    return path


def _validate(form: ParsedForm, max_file_size: int) -> tuple[int, str] | None:
    """The first problem with a create request, as (status, message), or None."""
    if form.error is not None:
        return form.error
    for part in form.files:
        if part.too_large:
            limit = format_size(max_file_size)
            return 413, f"File too large: {part.filename} exceeds the {limit} limit"
    unknown = sorted(
        {name for name in form.fields if name not in _FIELDS}
        | {name for name in form.stray_file_fields if name not in _FIELDS}
    )
    if unknown:
        return 400, f"Unknown field: {', '.join(unknown)}. Valid fields: {', '.join(_FIELDS)}"
    prompt = form.first("prompt")
    if prompt is None:
        return 400, "prompt is required"
    if not prompt.strip():
        return 400, "prompt must not be empty"
    # The template is checked even when blocks are given (the contract makes it an enum);
    # it only stops mattering for which blocks the run creates.
    template = form.first("template")
    if template and template not in {t.value for t in Template}:
        return 400, f"Invalid template: {template}. Valid templates: {_VALID_TEMPLATES}"
    blocks_raw = form.first("blocks")
    if blocks_raw is not None:
        problem = _check_blocks(blocks_raw)
        if problem is not None:
            return problem
    webhook_url = form.first("webhook_url")
    if webhook_url is not None and not _is_absolute_uri(webhook_url):
        return 400, "Invalid webhook_url: must be an absolute URI"
    if form.stray_file_fields:
        return 400, (
            f"Unexpected file field: {form.stray_file_fields[0]}. "
            "Upload each file as a part named 'files'"
        )
    if "files" in form.fields:
        return 400, "files must be file uploads (parts with a filename)"
    for part in form.files:
        if file_kind(part.extension, part.content_type) is None:
            return 400, f"Unsupported file type: {part.filename}. Supported types: {_SUPPORTED_EXT}"
    return None


def _is_absolute_uri(value: str) -> bool:
    """An RFC 3986 absolute URI (a scheme, then something), with no spaces or controls."""
    if not value or any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        return False
    parts = urllib.parse.urlsplit(value)
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", parts.scheme)) and bool(
        parts.netloc or parts.path
    )


def _check_blocks(raw: str) -> tuple[int, str] | None:
    """The 400 answer to a bad ``blocks`` field, or None (every text paired with its status,
    where tests/contract/test_provenance.py finds them)."""
    shape = (400, "Invalid blocks: must be a JSON-encoded array of block type strings")
    try:
        value = json.loads(raw)
    except ValueError:
        return shape
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return shape
    if not value:
        return 400, "Invalid blocks: must be a non-empty array of block types"
    known = {b.value for b in BlockType}
    unknown = list(dict.fromkeys(item for item in value if item not in known))
    if unknown:
        return 400, (
            f"Invalid block types: {', '.join(unknown)}. Valid block types: {_VALID_BLOCKS}"
        )
    return None
