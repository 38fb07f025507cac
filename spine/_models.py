"""Pydantic v2 models of the Spine API's response bodies, and the envelope parser.

Every model ignores fields it does not know (``extra="ignore"``), so a server that adds fields
never breaks the SDK. Values of open sets survive API growth too: a run status, block type or
task type the SDK does not know is kept as the raw string instead of failing, and a known value
becomes the enum member (which compares equal to the string).

:func:`parse_envelope` is the hot path of every call: it validates the ``{"success": true,
"data": {...}}`` envelope and its data in one ``model_validate_json`` pass, and turns every
way a body can break the contract into :class:`~spine.UnexpectedResponseError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spine._enums import TERMINAL_STATUSES, RunStatus
from spine._exceptions import SpineAPIError, UnexpectedResponseError, body_excerpt
from spine._model_base import NonNegativeInt, OpenRunStatus, SpineModel, empty_list

if TYPE_CHECKING:
    import os
    from pathlib import Path

    import httpx

    # only for the signatures of the artifact-download methods
    from spine._artifacts import ArtifactProgressCallback, ProgressCallback

    # Defined apart and loaded on first use (``__getattr__`` below): the first call of a process
    # that never reads a canvas or a webhook does not build them.
    from spine._canvas_models import (
        CanvasDAG as CanvasDAG,
        CanvasEdge as CanvasEdge,
        CanvasNode as CanvasNode,
        TaskNode as TaskNode,
        TaskTree as TaskTree,
    )
    from spine._retry import RetryPolicy
    from spine._webhooks import WebhookEvent as WebhookEvent


# ----------------------------------------------------------------------------- runs


class RunProgress(SpineModel):
    """How far a running run has got."""

    tasks_completed: NonNegativeInt
    """Canvas tasks in a terminal state (``completed`` or ``error``)."""
    tasks_total: NonNegativeInt
    """Tasks spawned so far; can grow while the run goes on."""
    elapsed_ms: NonNegativeInt
    """Wall time since the run was created, in milliseconds."""


class RunArtifact(SpineModel):
    """A file a run produced, downloadable from a short-lived pre-signed URL."""

    id: str
    """The UUID of the canvas node that produced the file."""
    type: str
    """A short file-type tag such as ``docx``, ``xlsx``, ``pptx``, ``html``, ``png`` (open set)."""
    name: str
    """The file name, for example ``Q1_Report.docx``."""
    download_url: str
    """A pre-signed URL, fetched without authentication headers; it expires soon."""
    size_bytes: NonNegativeInt | None = None
    """The file size in bytes, when known."""

    def download(
        self,
        dest: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        overwrite: bool = True,
        retry_policy: RetryPolicy | None = None,
    ) -> Path:
        """Download the file and return the path written.

        ``dest`` is a directory (one that exists, or a path ending in ``/``), where the file
        gets the artifact's name made safe (:func:`spine._artifacts.safe_filename`), or the
        file path to write. The bytes stream into a temporary file next to the target, which
        is renamed into place only when complete and, when ``size_bytes`` is known, of that
        size; on any error it is removed. No API key or other credential is sent to the
        storage host, and a redirect from https to http is refused.

        Args:
            progress: ``progress(bytes_done, bytes_total_or_None)``, called at the start and
                after every chunk; an exception from it aborts the download.
            http_client: an ``httpx.Client`` to connect with (its auth and credential headers
                are not used); by default a fresh plain client.
            timeout: seconds or an ``httpx.Timeout``; default 10 s to connect and 60 s between
                bytes (no limit on the total).
            overwrite: replace an existing file (default); False raises ``FileExistsError``.
            retry_policy: how transient failures (a 5xx, 408 or 429 from the storage host, a
                dropped connection, a timeout) are retried, the download starting over;
                default: the policy of the client that fetched the run, else
                ``RetryPolicy()``.

        An artifact that came from a client (``handle.wait()``, ``client.runs.get()``...) whose
        link has expired is downloaded again once with the link of a new read: the SDK fetches
        the run through that client (``GET /v1/run/{run_id}``).

        Raises:
            ArtifactLinkExpiredError: the storage host answered 403/404/410 (even after the
                refresh): the link expired; fetch the run again for its current links.
            ArtifactSizeMismatchError: the bytes received differ from ``size_bytes``.
            ArtifactDownloadError: any other refusal by the storage host.
            SpineConnectionError, SpineTimeoutError: network failures.
        """
        from spine._artifacts import download_artifact

        return download_artifact(
            self,
            dest,
            progress=progress,
            http_client=http_client,
            timeout=timeout,
            overwrite=overwrite,
            retry_policy=retry_policy,
        )

    async def adownload(
        self,
        dest: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float | None = None,
        overwrite: bool = True,
        retry_policy: RetryPolicy | None = None,
    ) -> Path:
        """The async twin of :meth:`download` (``http_client`` is an ``httpx.AsyncClient``)."""
        from spine._artifacts import adownload_artifact

        return await adownload_artifact(
            self,
            dest,
            progress=progress,
            http_client=http_client,
            timeout=timeout,
            overwrite=overwrite,
            retry_policy=retry_policy,
        )


class RunResult(SpineModel):
    """The output of a ``completed`` or ``partial`` run: only the documented ``final_output``
    and ``artifacts``. Whether the run was partial, and why, is on the run, not here:
    ``handle.status`` and ``handle.last.errors`` after ``wait()``, or ``status`` and ``errors``
    of the :class:`GetRunResponse` that ``wait_for_terminal()`` returns."""

    final_output: str
    """The synthesised answer or agent summary, in Markdown (exactly as sent)."""
    artifacts: list[RunArtifact] = Field(default_factory=empty_list)
    """Files the run produced; may be empty."""

    def download_all(
        self,
        directory: str | os.PathLike[str],
        *,
        progress: ArtifactProgressCallback | None = None,
        http_client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        overwrite: bool = True,
        retry_policy: RetryPolicy | None = None,
    ) -> list[Path]:
        """Download every artifact into ``directory`` (created if missing), one after another.

        Returns the paths written, in the order of :attr:`artifacts`. Names are made safe and
        de-duplicated (``Report.docx``, ``Report (2).docx``), so no two artifacts share a file
        and none is written outside ``directory``. Each file is written as
        :meth:`RunArtifact.download` does; ``progress`` is called as
        ``progress(artifact, bytes_done, bytes_total_or_None)``.

        Transient failures are retried under ``retry_policy`` (default: the policy of the
        client that fetched the run, else ``RetryPolicy()``), each file starting over.
        Pre-signed links expire: when this result came from a client (``handle.wait()``,
        ``client.runs.get()``...), an expired link makes the SDK fetch the run again through
        that client, once per call, and go on with the links of that read (this result's
        :attr:`artifacts` are then replaced by them). The first failure that remains raises;
        files already complete stay. The ``spine download`` command does exactly this.
        """
        from spine._artifacts import download_artifacts, source_of

        done = download_artifacts(
            self.artifacts,
            directory,
            progress=progress,
            http_client=http_client,
            timeout=timeout,
            overwrite=overwrite,
            retry_policy=retry_policy,
            source=source_of(self),
        )
        self._take_fresh(done.run)
        return done.paths

    def _take_fresh(self, run: GetRunResponse | None) -> None:
        """After a refresh of the links: this result's artifacts become the fresh ones."""
        if run is not None and run.result is not None:
            fresh = {a.id: a for a in run.result.artifacts}
            self.artifacts = [fresh.get(a.id, a) for a in self.artifacts]

    async def adownload_all(
        self,
        directory: str | os.PathLike[str],
        *,
        progress: ArtifactProgressCallback | None = None,
        http_client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout | float | None = None,
        overwrite: bool = True,
        concurrency: int = 4,
        retry_policy: RetryPolicy | None = None,
    ) -> list[Path]:
        """The async twin of :meth:`download_all`: up to ``concurrency`` downloads at a time.

        On the first failure that remains (after retries and the one refresh) the other
        downloads are cancelled (their temporary files removed) and the error is raised.
        """
        from spine._artifacts import adownload_artifacts, source_of

        done = await adownload_artifacts(
            self.artifacts,
            directory,
            progress=progress,
            http_client=http_client,
            timeout=timeout,
            overwrite=overwrite,
            concurrency=concurrency,
            retry_policy=retry_policy,
            source=source_of(self),
        )
        self._take_fresh(done.run)
        return done.paths


class RunMetadata(SpineModel):
    """Accounting for a finished run."""

    template_used: str
    models_used: list[str] = Field(default_factory=empty_list)
    credits_consumed: NonNegativeInt
    """The credits the run cost ($1 = 1,000 credits)."""


class RunError(SpineModel):
    """One error of a ``failed`` or ``partial`` run."""

    error: str
    block_id: str | None = None
    block_type: str | None = None
    recoverable: bool | None = None


class CreateRunResponse(SpineModel):
    """The run that ``POST /v1/run`` created."""

    run_id: str
    status: str
    """Always ``running`` at creation."""
    poll_url: str
    """The relative path to poll, ``/v1/run/{run_id}``."""
    canvas_id: str | None = None
    """The run's canvas, when already known (often only reported by a later poll)."""
    estimated_duration_ms: NonNegativeInt


class GetRunResponse(SpineModel):
    """A run's state: ``progress`` while running; ``result`` and ``metadata`` once
    ``completed`` or ``partial``; ``errors`` when ``failed`` or ``partial``."""

    run_id: str
    status: OpenRunStatus
    """A :class:`RunStatus` member, or the raw string for a status this SDK does not know."""
    canvas_id: str | None = None
    duration_ms: NonNegativeInt | None = None
    progress: RunProgress | None = None
    result: RunResult | None = None
    metadata: RunMetadata | None = None
    errors: list[RunError] | None = None
    prompt: str | None = None
    template: str | None = None
    blocks: list[str] | None = None
    agent_instructions: str | None = None

    @property
    def is_terminal(self) -> bool:
        """True for ``completed``, ``partial`` and ``failed``; an unknown status never is."""
        return isinstance(self.status, RunStatus) and self.status in TERMINAL_STATUSES


def __getattr__(name: str) -> Any:
    """The models defined apart (see the ``TYPE_CHECKING`` imports), loaded on first use."""
    if name in {"CanvasDAG", "CanvasEdge", "CanvasNode", "TaskNode", "TaskTree"}:
        from spine import _canvas_models as module
    elif name == "WebhookEvent":
        from spine import _webhooks as module  # type: ignore[no-redef]
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # later lookups skip this function
    return value


# ----------------------------------------------------------------------------- envelope

T = TypeVar("T", bound=BaseModel)


class _Envelope(BaseModel, Generic[T]):
    # ``success`` and ``error`` are checked by hand after validation so that every way they can be
    # wrong gives a readable message; ``data`` is validated in the same pass as the envelope.
    model_config = ConfigDict(extra="ignore")

    success: Any = None
    data: T | None = None
    error: Any = None


#: The envelope model of each data model, built on first use. The parametrised model validates
#: directly (no ``TypeAdapter`` around it: that would cost the first call of a process another
#: module and another validator to build, for the same validation).
_ADAPTERS: dict[type[BaseModel], type[_Envelope[Any]]] = {}


def _adapter(model: type[BaseModel]) -> type[_Envelope[Any]]:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _Envelope[model]  # type: ignore[valid-type]
        _ADAPTERS[model] = adapter
    return adapter


def parse_envelope(
    model: type[T],
    body: bytes,
    *,
    status_code: int = 200,
    request_id: str | None = None,
) -> T:
    """Validate ``{"success": true, "data": {...}}`` and return ``data`` as a ``model``.

    One ``model_validate_json`` pass (the envelope model is built once per model). Raises
    :class:`UnexpectedResponseError` (with ``raw_body``) when the body is not JSON, not an object,
    ``success`` is not true, ``data`` is missing or does not validate; a 2xx body with
    ``success: false`` and an ``error`` string raises :class:`SpineAPIError` with that message.
    No ``json`` or ``pydantic`` exception ever escapes.
    """
    try:
        envelope = _adapter(model).model_validate_json(body)
    except ValidationError as exc:
        raise _validation_problem(model, body, exc, status_code, request_id) from exc
    except Exception as exc:  # defensive: e.g. a body of the wrong type
        raise _unexpected(
            f"could not read the response body ({type(exc).__name__})",
            model,
            body,
            status_code,
            request_id,
        ) from exc

    if envelope.success is not True:
        if envelope.success is False and isinstance(envelope.error, str):
            raise SpineAPIError(
                envelope.error,
                status_code=status_code,
                error_message=envelope.error,
                request_id=request_id,
                raw_body=_as_bytes(body),
            )
        raise _unexpected(
            f"'success' is {_json_repr(envelope.success)}, not true",
            model,
            body,
            status_code,
            request_id,
        )
    data = envelope.data
    if data is None:
        raise _unexpected("the envelope has no 'data' object", model, body, status_code, request_id)
    return data  # type: ignore[no-any-return]


def _as_bytes(body: Any) -> bytes | None:
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8", errors="replace")
    return None


def _json_repr(value: Any) -> str:
    if value is None:
        return "missing"
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "\u2026"


def _unexpected(
    problem: str,
    model: type[BaseModel],
    body: Any,
    status_code: int,
    request_id: str | None,
) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"Unexpected response for {model.__name__}: {problem}",
        status_code=status_code,
        request_id=request_id,
        raw_body=_as_bytes(body),
    )


_NON_OBJECT_TYPES = {"model_type", "model_attributes_type", "dict_type"}


def _format_loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts)


def _validation_problem(
    model: type[BaseModel],
    body: Any,
    exc: ValidationError,
    status_code: int,
    request_id: str | None,
) -> SpineAPIError:
    """A short, readable error for a body that failed validation (never the body itself)."""
    try:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
    except Exception:  # pragma: no cover - defensive
        errors = []
    if not errors:  # pragma: no cover - pydantic always reports at least one
        return _unexpected("the body does not validate", model, body, status_code, request_id)

    first = errors[0]
    kind = first.get("type", "")
    loc = tuple(first.get("loc", ()))
    raw = _as_bytes(body) or b""

    if kind == "json_invalid":
        if not raw.strip():
            problem = "the body is empty, not JSON"
        else:
            problem = f"the body is not JSON (starts with {body_excerpt(raw)!r})"
        return _unexpected(problem, model, body, status_code, request_id)
    if not loc and kind in _NON_OBJECT_TYPES:
        return _unexpected(
            "the body is JSON but not an object", model, body, status_code, request_id
        )

    # The envelope itself is checked before its data: a body whose 'success' is not true is
    # reported as such (with the server's message when there is one), not as a data problem.
    success, api_error = _envelope_fields(raw)
    if success is False and api_error is not None:
        return SpineAPIError(
            api_error,
            status_code=status_code,
            error_message=api_error,
            request_id=request_id,
            raw_body=raw,
        )
    if success is not True:
        problem = f"'success' is {_json_repr(success)}, not true"
        return _unexpected(problem, model, body, status_code, request_id)

    where = _format_loc(loc) or "body"
    problem = f"{where}: {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        more = len(errors) - 1
        problem += f" (and {more} more problem{'s' if more > 1 else ''})"
    return _unexpected(problem, model, body, status_code, request_id)


def _envelope_fields(raw: bytes) -> tuple[Any, str | None]:
    """``success`` and the ``error`` string of an envelope, read on the error path only."""
    import json

    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(parsed, dict):
        return None, None
    error = parsed.get("error")
    return parsed.get("success"), error if isinstance(error, str) else None
